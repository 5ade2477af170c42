"""The metrics API's field descriptions, from the registry of figures (metrics.figures).

A drf-spectacular postprocessing hook: the schema describes each snapshot field with the
registry's label, unit and definition, filled from the current settings when the schema is
generated, so /api/docs/ says what the tooltips say. One settings read per schema.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError

from metrics import figures
from metrics.figures import Level
from metrics.models import MetricSettings

# Schema component (the serializer's name without "Serializer") → the level its model stores.
COMPONENT_LEVELS: dict[str, Level] = {
    "AccountSnapshot": Level.ACCOUNT,
    "SegmentSnapshot": Level.SEGMENT,
    "ProgramSnapshot": Level.PROGRAM,
    "ChannelSnapshot": Level.CHANNEL,
    "OutcomeGroup": Level.OUTCOME,
    "AttributionCredit": Level.ATTRIBUTION,
}


def _settings() -> MetricSettings:
    """The settings as they are, read without creating the row. `manage.py check` generates the
    schema too, possibly before any migration: then the defaults describe the figures."""
    try:
        return MetricSettings.objects.filter(pk=1).first() or MetricSettings()
    except DatabaseError:
        return MetricSettings()


def describe_figures(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    described = figures.describe_all(_settings())
    schemas = result.get("components", {}).get("schemas", {})
    for component, level in COMPONENT_LEVELS.items():
        for name, prop in schemas.get(component, {}).get("properties", {}).items():
            d = described.get(name)
            if d is not None and level in d.figure.levels:
                prop["description"] = f"{d.label} ({d.unit}). {d.text}"
    return result
