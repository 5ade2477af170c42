import codecs
from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from imports import presets
from imports.mapping import UserMapping

PRESET_CHOICES = [("auto", "Detect from the columns")] + [
    ("native", "Native (docs/import.md)"), ("salesforce", "Salesforce"), ("hubspot", "HubSpot"), ("marketo", "Marketo")
]


_LABELS = {"targets": "Target list (mark accounts as targets)", "stage_history": "Opportunity stage history"}
KIND_CHOICES = [(k, _LABELS.get(k, k.title())) for k in presets.KINDS]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    preset = forms.ChoiceField(choices=PRESET_CHOICES, initial="auto")
    timezone = forms.CharField(initial="UTC", max_length=64,
                               help_text="Zone of dates that carry no offset, e.g. Europe/Berlin.")
    dry_run = forms.BooleanField(required=False, label="Dry run (validate and count, write nothing)")
    file = forms.FileField(help_text="CSV, UTF-8 (with or without BOM) or Windows-1252.")

    encoding = forms.CharField(required=False, max_length=40, label="Encoding (optional)",
                               help_text="Leave blank to detect it; or e.g. cp1252, latin-1, utf-16.")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the largest accepted is {filesizeformat(limit)} "
                "(IMPORT_MAX_UPLOAD_BYTES). Split it, or import it with manage.py import_csv.")
        return upload

    def clean_encoding(self) -> str:
        value = self.cleaned_data["encoding"].strip()
        if value:
            try:
                codecs.lookup(value)
            except LookupError as exc:
                raise forms.ValidationError(
                    f"Unknown encoding {value!r}: use e.g. utf-8, utf-16, cp1252, latin-1, iso-8859-15.") from exc
        return value

    def clean_timezone(self) -> str:
        from imports.parsing import FileRejected, timezone_named

        value = self.cleaned_data["timezone"].strip() or "UTC"
        try:
            timezone_named(value)
        except FileRejected as exc:
            raise forms.ValidationError(str(exc)) from exc
        return value


def mapping_fields(kind: str, preset: str) -> list[str]:
    """The fields the mapping step offers: ours, then what the preset reads (activity types…)."""
    extra = [] if preset in ("auto", "native") else [f for f in presets.ALIASES[preset][kind] if f not in presets.NATIVE[kind]]
    return [*presets.NATIVE[kind], *extra]


def mapping_from_post(data: Mapping[str, str], fields: list[str]) -> UserMapping:
    """The mapping step's form: `map__F` (a column, blank for none), `set__F`, `multiply__F`.

    Every field is mapped explicitly, so a blank choice drops whatever the preset guessed."""
    raw: dict[str, dict[str, Any]] = {"map": {}, "set": {}, "multiply": {}}
    for name in fields:
        column = data.get(f"map__{name}", "").strip()
        raw["map"][name] = [column] if column else []
        if data.get(f"set__{name}", "").strip():
            raw["set"][name] = data[f"set__{name}"].strip()
        if data.get(f"multiply__{name}", "").strip():
            raw["multiply"][name] = data[f"multiply__{name}"].strip()
    return UserMapping.from_json(raw, origin="The mapping")
