"""The figure definitions a page shows, read once per request.

The definitions themselves are metrics.figures (the registry); they are filled from the current
MetricSettings, so a page reads the settings once and shares them between its view and every
{% info %} tooltip of its template, instead of a query per tooltip.
"""

from __future__ import annotations

from django.http import HttpRequest

from metrics import figures
from metrics.models import MetricSettings


def metric_settings(request: HttpRequest | None) -> MetricSettings:
    """The settings, read at most once per request (every read without a request)."""
    if request is None:
        return MetricSettings.load()
    cached = getattr(request, "_metric_settings", None)
    if cached is None:
        cached = request._metric_settings = MetricSettings.load()
    return cached


def described(request: HttpRequest | None) -> dict[str, figures.Described]:
    """Every figure's label and definition as of the current settings, filled once per request."""
    if request is None:
        return figures.describe_all(metric_settings(None))
    cached = getattr(request, "_described_figures", None)
    if cached is None:
        cached = request._described_figures = figures.describe_all(metric_settings(request))
    return cached
