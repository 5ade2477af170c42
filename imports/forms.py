from django import forms

from imports import presets

PRESET_CHOICES = [("auto", "Detect from the columns")] + [
    ("native", "Native (docs/import.md)"), ("salesforce", "Salesforce"), ("hubspot", "HubSpot"), ("marketo", "Marketo")
]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k.title()) for k in presets.KINDS])
    preset = forms.ChoiceField(choices=PRESET_CHOICES, initial="auto")
    timezone = forms.CharField(initial="UTC", max_length=64,
                               help_text="Zone of dates that carry no offset, e.g. Europe/Berlin.")
    dry_run = forms.BooleanField(required=False, label="Dry run (validate and count, write nothing)")
    file = forms.FileField(help_text="CSV, UTF-8 (with or without BOM) or Windows-1252.")

    def clean_timezone(self) -> str:
        from imports.parsing import FileRejected, timezone_named

        value = self.cleaned_data["timezone"].strip() or "UTC"
        try:
            timezone_named(value)
        except FileRejected as exc:
            raise forms.ValidationError(str(exc)) from exc
        return value
