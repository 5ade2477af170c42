"""Query-string forms: they validate what a URL asks for; an invalid value is ignored, not an error."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.http import QueryDict

from accounts.models import Segment, Tier
from dashboard.selectors import ACCOUNT_SORTS, DEFAULT_ACCOUNT_SORT, AccountFilters, account_owners
from metrics.models import JourneyStage

YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


def parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _bool(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value)


class AccountFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=100)
    segment = forms.ChoiceField(required=False)
    tier = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                  choices=[("", "Any tier")] + list(Tier.choices))
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    target = forms.ChoiceField(required=False, choices=YES_NO)
    stage = forms.ChoiceField(required=False, label="Journey stage",
                              choices=[("", "Any stage")] + list(JourneyStage.choices))
    engaged = forms.ChoiceField(required=False, choices=YES_NO)
    mqa = forms.ChoiceField(required=False, choices=YES_NO, label="MQA")
    spike = forms.ChoiceField(required=False, choices=YES_NO)
    sort = forms.ChoiceField(
        required=False, choices=[(k, k) for key in ACCOUNT_SORTS for k in (key, "-" + key)]
    )

    def __init__(self, data: QueryDict) -> None:
        super().__init__(data)
        self.fields["segment"].choices = [("", "All accounts"), ("target", "All target accounts")] + [
            (str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")
        ]
        self.fields["owner"].choices = [("", "Any owner")] + [
            (u.pk, u.get_full_name() or u.username) for u in account_owners()
        ]
        self.is_valid()  # fills cleaned_data with the valid fields; invalid ones are dropped

    def _value(self, name: str, default=None):
        return self.cleaned_data.get(name, default) if name not in self.errors else default

    def filters(self) -> AccountFilters:
        segment = self._value("segment", "")
        return AccountFilters(
            segment=int(segment) if segment and segment.isdigit() else None,
            target_list=segment == "target",
            tier=self._value("tier"),
            owner=self._value("owner"),
            target=_bool(self._value("target", "")),
            stage=self._value("stage", ""),
            engaged=_bool(self._value("engaged", "")),
            mqa=_bool(self._value("mqa", "")),
            spike=_bool(self._value("spike", "")),
            q=(self._value("q", "") or "").strip(),
        )

    def sort_order(self) -> str:
        return self._value("sort", "") or DEFAULT_ACCOUNT_SORT

    def described(self) -> list[tuple[str, str]]:
        """The filters in effect, in words (("Tier", "Tier 1"), …), for a page acting on the filtered accounts."""
        shown = []
        for name, field in self.fields.items():
            value = self._value(name)
            if name == "sort" or value in (None, ""):
                continue
            labels = {str(key): label for key, label in getattr(field, "choices", ())}
            shown.append((str(self[name].label), str(labels.get(str(value), value))))
        return shown


class TargetMarkForm(forms.Form):
    """Options of "mark the filtered accounts as targets"; accounts.services.account_targets_mark checks them."""

    tier = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                  choices=[("", "Leave tiers unchanged")] + list(Tier.choices))
    segment = forms.CharField(required=False, label="Also add them to the segment",
                              widget=forms.TextInput(attrs={"list": "segment-names", "maxlength": 120,
                                                            "placeholder": "Optional: new or existing name"}))
    recompute = forms.BooleanField(required=False, label="Then compute today's metrics")
