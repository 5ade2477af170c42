"""The Fit page's forms: the look-alike filters (a query string; an invalid value is ignored, as
on the account list) and the rule profile (checked by fit.services.fit_profile_update)."""

from __future__ import annotations

from django import forms
from django.http import QueryDict

from fit import scoring, selectors
from fit.services import BAND_CHOICES, PROFILE_FIELDS, PROFILE_LABELS


class LookalikeFilterForm(forms.Form):
    min_score = forms.IntegerField(required=False, min_value=0, max_value=100, label="Fit at least",
                                   widget=forms.NumberInput(attrs={"placeholder": "0–100"}))
    industry = forms.ChoiceField(required=False)
    employee_band = forms.ChoiceField(
        required=False, label="Employees",
        choices=[("", "Any size")] + [(b, b) for b in scoring.EMPLOYEE_BANDS] + [(scoring.UNKNOWN, "Unknown")],
    )
    country = forms.ChoiceField(required=False)
    q = forms.CharField(required=False, label="Search", max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or domain"}))

    def __init__(self, data: QueryDict) -> None:
        super().__init__(data)
        choices = selectors.filter_choices()
        self.fields["industry"].choices = [("", "Any industry")] + [(v, v) for v in choices["industries"]] + [
            (scoring.UNKNOWN, "Unknown")]
        self.fields["country"].choices = [("", "Any country")] + [(v, v) for v in choices["countries"]] + [
            (scoring.UNKNOWN, "Unknown")]
        self.is_valid()  # fills cleaned_data with the valid fields; invalid ones are dropped

    def _value(self, name: str, default=None):
        return self.cleaned_data.get(name, default) if name not in self.errors else default

    def filters(self) -> selectors.LookalikeFilters:
        return selectors.LookalikeFilters(
            min_score=self._value("min_score"),
            industry=self._value("industry", "") or "",
            employee_band=self._value("employee_band", "") or "",
            country=self._value("country", "") or "",
            q=(self._value("q", "") or "").strip(),
        )


class FitProfileForm(forms.Form):
    """One textarea per attribute, a "value: points" line per chosen value."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in PROFILE_FIELDS:
            hint = (f"One of: {', '.join(BAND_CHOICES[field])}" if field in BAND_CHOICES
                    else "e.g. Software: 30")
            self.fields[field] = forms.CharField(
                required=False, label=PROFILE_LABELS[field], help_text=hint,
                widget=forms.Textarea(attrs={"rows": 5, "cols": 28}),
            )
