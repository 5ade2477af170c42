"""The registry of figures (metrics.figures): complete, filled from the settings, and the one
source of the export encodings and the API's field descriptions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import models

from metrics import figures
from metrics.exports import ACCOUNT_TABLE, csv_lines, export_rows
from metrics.figures import FIGURES, Level, Unit
from metrics.models import (
    AccountSnapshot,
    AttributionCredit,
    ChannelSnapshot,
    MetricSettings,
    MetricsRun,
    OutcomeGroup,
    ProgramSnapshot,
    SegmentSnapshot,
)
from tests.metrics.builders import D, account

# The fields that say which row it is; every other field of a snapshot model is a figure.
MODELS: list[tuple[type[models.Model], Level, set[str]]] = [
    (AccountSnapshot, Level.ACCOUNT, {"id", "account", "as_of"}),
    (SegmentSnapshot, Level.SEGMENT, {"id", "segment", "as_of"}),
    (ProgramSnapshot, Level.PROGRAM, {"id", "program", "as_of"}),
    (ChannelSnapshot, Level.CHANNEL, {"id", "channel", "as_of"}),
    (OutcomeGroup, Level.OUTCOME, {"id", "as_of", "dimension", "group"}),
    (AttributionCredit, Level.ATTRIBUTION, {"id", "as_of", "program", "model", "basis"}),
]


@pytest.mark.parametrize(("model", "level", "keys"), MODELS, ids=[model.__name__ for model, _, _ in MODELS])
def test_every_snapshot_figure_has_exactly_one_registry_entry(model, level, keys):
    fields = {f.name for f in model._meta.concrete_fields} - keys
    described = {f.name for f in figures.at_level(level)}
    assert fields - described == set(), f"describe these {model.__name__} fields in metrics/figures.py"
    assert described - fields == set(), f"metrics/figures.py puts these on {model.__name__}, which has no such field"


def test_every_label_and_definition_fills_from_the_default_settings():
    described = figures.describe_all(MetricSettings())
    assert set(described) == set(FIGURES)
    for d in described.values():
        assert d.text and d.label
        assert "{" not in d.text + d.label, d.name
    assert described["covered"].text == "role_coverage ≥ 0.6 and at least 3 reachable contacts."
    assert described["engaged"].text == "minutes_90d ≥ 10."
    assert described["minutes_90d"].label == "Minutes, 90 days"


def test_definitions_follow_the_settings():
    settings = MetricSettings(
        engaged_min_minutes=25, mqa_min_minutes=150, mqa_min_contacts=3, mqa_min_contact_minutes=12.5,
        spike_ratio=1.5, spike_min_minutes=40, spike_window_days=14, spike_baseline_days=28, long_window_days=60,
        required_roles=["decision_maker", "champion"], minutes_by_kind={"webinar_attended": 45},
        seniority_multipliers={"cxo": 3.0},
    )
    d = figures.describe_all(settings)
    assert d["engaged"].text == "minutes_90d ≥ 25."
    assert d["mqa"].text == ("Marketing-qualified account: minutes_90d ≥ 150 and at least 3 known contacts with "
                             "≥ 12.5 minutes each in W90.")
    assert d["spike"].text == ("minutes_7d ≥ 1.5 × B21's average per 14 days (minutes_prev_21d × 14 / 28) and "
                               "minutes_7d ≥ 40.")
    assert d["minutes_90d"].label == "Minutes, 60 days"
    assert d["minutes_90d"].text == "Engagement minutes in the last 60 days (W90)."
    assert d["role_coverage"].text == "roles_covered / 2 required roles (0–1)."
    # A kind the settings leave out is worth 0 minutes.
    assert "email open 0, webinar 45, event 0 minutes" in d["engagement_minutes"].text
    assert "C-level × 3" in d["engagement_minutes"].text


@pytest.mark.parametrize(
    ("name", "value", "encoded"),
    [
        ("covered", True, True),
        ("spike", 0, False),
        ("role_coverage", 0.8, 0.8),  # shares stay 0–1
        ("engagement_percentile", 66.67, 66.67),  # percentiles 0–100
        ("journey_stage", "MQA", "mqa"),  # stages lower case
        ("contacts", 3, 3),
        ("pipeline_created_90d", Decimal("80000.00"), Decimal("80000.00")),  # exact cents
        ("focus", None, None),  # undefined stays undefined
        ("nps", 50, 50.0),
    ],
)
def test_export_encodings(name, value, encoded):
    result = FIGURES[name].encode(value)
    assert result == encoded and type(result) is type(encoded)


def test_every_exported_figure_has_an_encoding_for_its_unit():
    for f in FIGURES.values():
        assert isinstance(f.unit, Unit)
        if f.column:
            assert f.column == f.name  # exports name every figure as METRICS.md does
            assert f.encode(None) is None


@pytest.mark.django_db
def test_account_export_encodings_in_csv_and_json():
    acc = account("Acme", external_id="A-1")
    AccountSnapshot.objects.create(account=acc, as_of=D, covered=True, aware=False, role_coverage=0.8,
                                   engagement_percentile=66.67, journey_stage="mqa", minutes_90d=120,
                                   pipeline_created_90d=Decimal("1500.50"), nps=None)
    MetricsRun.objects.create(as_of=D, status="done", chunks_total=1, chunks_done=1)
    columns, rows = export_rows(level="account", as_of=D)
    row = rows[0]
    assert (row["covered"], row["aware"]) == (True, False)
    assert (row["role_coverage"], row["engagement_percentile"]) == (0.8, 66.67)
    assert row["journey_stage"] == "mqa"
    assert row["nps"] is None
    assert columns == [k.column for k in ACCOUNT_TABLE.keys] + [f.name for f in figures.export_figures(Level.ACCOUNT)]
    header, line = list(csv_lines(columns, rows))
    cells = dict(zip(header.strip().split(","), line.strip().split(",")))
    assert (cells["covered"], cells["aware"], cells["role_coverage"]) == ("true", "false", "0.8")
    assert (cells["engagement_percentile"], cells["journey_stage"], cells["nps"]) == ("66.67", "mqa", "")
    assert cells["pipeline_created_90d"] == "1500.50"


@pytest.mark.django_db
def test_the_api_schema_describes_fields_from_the_registry(client, alice):
    settings = MetricSettings.load()
    settings.engaged_min_minutes = 25
    settings.save()
    client.force_login(alice)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    props = schema["components"]["schemas"]["AccountSnapshot"]["properties"]
    assert props["engaged"]["description"] == "Engaged (boolean). minutes_90d ≥ 25."
    assert props["role_coverage"]["description"].startswith("Role coverage (share). roles_covered / 5 required")
    reach = schema["components"]["schemas"]["ProgramSnapshot"]["properties"]["focus"]["description"]
    assert reach == "Focus (share). Successes at target accounts / all successes; empty (undefined) with no successes."
