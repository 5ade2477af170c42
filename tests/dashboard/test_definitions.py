"""The pages' tooltips, /definitions/ and the account list's CSV read the registry of figures
(metrics.figures): a threshold an admin changes shows at once, and the two account exports agree."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from dashboard.templatetags.dash import figure
from metrics.figures import FIGURES
from metrics.models import AccountSnapshot, MetricSettings
from tests.dashboard.conftest import D, text


def test_a_changed_threshold_changes_the_tooltips_and_the_definitions_page(client, alice, world):
    client.force_login(alice)
    account_url = f"/accounts/{world.acme.pk}/"
    assert 'title="role_coverage ≥ 0.6 and at least 3 reachable contacts."' in client.get(account_url).content.decode()

    settings = MetricSettings.load()
    settings.covered_min_role_coverage = 0.75
    settings.covered_min_reachable_contacts = 4
    settings.engaged_min_minutes = 25
    settings.long_window_days = 60
    settings.full_clean()
    settings.save()

    account = client.get(account_url)
    assert 'title="role_coverage ≥ 0.75 and at least 4 reachable contacts."' in account.content.decode()
    assert 'title="Engagement minutes in the last 60 days (W90)."' in account.content.decode()
    assert "240 minutes, 60 days" in text(account)  # the tile names the window as it is set
    definitions = client.get("/definitions/")
    html = definitions.content.decode()
    assert '<dt id="engaged">Engaged <code>engaged</code></dt><dd>minutes_90d ≥ 25. ' in html
    assert '<dt id="minutes_90d">Minutes, 60 days <code>minutes_90d</code></dt>' in html
    assert "W90 = the 60 days ending with D" in text(definitions)


def test_the_definitions_page_names_each_figures_unit_and_export_column(client, alice):
    client.force_login(alice)
    page = client.get("/definitions/").content.decode()
    assert "(share; export column <code>role_coverage</code>)" in page
    assert "(percentile; export column <code>engagement_percentile</code>)" in page
    # A figure only a page derives has no export column.
    assert "minutes_30d − minutes_prev_30d. <span class=\"muted small\">(minutes)</span>" in page


def test_templates_name_only_figures_of_the_registry():
    uses = re.compile(
        r"""\{%\s*(?:info|label|definition)\s+["']([a-z0-9_]+)["']"""  # {% info "minutes_90d" %}
        r"""|defn=["']([a-z0-9_]+)["']"""  # {% include "_sort_th.html" with defn="minutes_90d" %}
        r"""|\|figure:["']([a-z0-9_]+)["']"""  # {{ s.minutes_90d|figure:"minutes_90d" }}
    )
    named = {
        next(g for g in m.groups() if g)
        for path in Path(django_settings.BASE_DIR, "templates").rglob("*.html")
        for m in uses.finditer(path.read_text())
    }
    assert "minutes_90d" in named
    assert named - set(FIGURES) == set()


def test_both_account_exports_have_the_same_columns_and_values(client, alice, world):
    AccountSnapshot.objects.filter(account=world.acme, as_of=D).update(nps=50, nps_responses=2, nps_promoters=1)
    client.force_login(alice)
    page = b"".join(client.get("/accounts/export.csv").streaming_content).decode()
    out = io.StringIO()
    call_command("export_metrics", "--level", "account", stdout=out)
    command = out.getvalue()

    page_lines, command_lines = page.splitlines(), command.splitlines()
    assert page_lines[0] == command_lines[0]
    # The same four rows, cell for cell; each export in its own order (the page's is the list's sort).
    assert len(page_lines) == 5 and sorted(page_lines[1:]) == sorted(command_lines[1:])
    acme = next(row for row in csv.DictReader(io.StringIO(page)) if row["account"] == "Acme")
    assert (acme["as_of"], acme["is_target"], acme["owner"]) == ("2025-03-31", "true", "bob")
    assert (acme["minutes_prev_21d"], acme["nps"], acme["nps_responses"]) == ("30.0", "50.0", "2")
    assert (acme["spike"], acme["role_coverage"], acme["engagement_percentile"]) == ("true", "0.8", "100.0")
    assert acme["journey_stage"] == "mqa"


@pytest.mark.parametrize(
    ("value", "name", "shown"),
    [
        (0.8, "role_coverage", "80 %"),  # a share as a percentage
        (66.67, "engagement_percentile", "67"),
        (1.333, "mean_programs_reached", "1.3"),
        (True, "covered", "yes"),
        ("mqa", "journey_stage", "MQA"),
        (None, "focus", "–"),  # undefined
    ],
)
def test_a_figure_is_shown_in_its_registry_format(value, name, shown):
    assert figure(value, name) == shown


def test_the_definitions_page_explains_fit_and_trends_too(client, alice, bob):
    from fit.definitions import DEFINITIONS as FIT
    from sales.trends import DEFINITIONS as TRENDS

    client.force_login(alice)  # marketing: sees the Fit page
    page = client.get("/definitions/").content.decode()
    from django.utils.html import escape

    for name, (label, _text) in [*FIT.items(), *TRENDS.items()]:
        assert f'<dt id="{name}">{escape(label)}</dt>' in page
    assert 'href="/fit/"' in page and 'href="/trends/"' in page
    client.force_login(bob)  # a sales rep: the definitions, but no link to a page they cannot open
    page = client.get("/definitions/").content.decode()
    assert f'<dt id="fit_score">{FIT["fit_score"][0]}</dt>' in page
    assert 'href="/fit/"' not in page
