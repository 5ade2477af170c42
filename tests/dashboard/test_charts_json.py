"""The figures are plain dicts built without plotly.graph_objects (no validation on a request):
each one a page embeds must still be a valid plotly figure, and exactly the JSON graph_objects
would have written for the same traces and layout (so the charts draw as before)."""

from __future__ import annotations

import json
import re

import plotly.graph_objects as go
import pytest
from django.core.serializers.json import DjangoJSONEncoder

from dashboard import charts
from tests.dashboard.conftest import D

FIGURE_SCRIPT = re.compile(r'<script id="(fig-[^"]+)" type="application/json">(.*?)</script>', re.S)


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def embedded_figures(response) -> dict[str, dict]:
    html = response.content.decode()
    return {fid: json.loads(body) for fid, body in FIGURE_SCRIPT.findall(html)}


def as_json(value) -> object:
    """The value as the page's json_script writes it (Decimal as Django's encoder writes it)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def validated(fig: dict) -> dict:
    """graph_objects' reading of the figure: raises ValueError on any property plotly does not know."""
    return as_json(go.Figure(data=fig["data"], layout=fig["layout"]).to_plotly_json())


def test_every_page_figure_is_the_json_graph_objects_would_write(as_alice, world):
    pages = [
        f"/accounts/{world.acme.pk}/",
        f"/segments/{world.enterprise.pk}/?compare={world.smb.pk}",
        "/segments/target/",
        "/programs/",
        f"/programs/{world.webinar.pk}/",
        "/influence/",
    ]
    seen: set[str] = set()
    for url in pages:
        response = as_alice.get(url)
        assert response.status_code == 200, url
        for fid, fig in embedded_figures(response).items():
            seen.add(fid)
            assert set(fig) == {"data", "layout", "config"}, fid
            assert fig["data"], f"{fid} on {url} has no traces"
            assert validated(fig) == {"data": fig["data"], "layout": fig["layout"]}, f"{fid} on {url}"
    # One figure of every builder: sparklines, minutes, kinds, heatmap; funnel, trend, histograms and
    # their comparisons; the program scatter, bars and trend; the outcome and attribution bars.
    expected = {
        "fig-minutes", "fig-kinds", "fig-heatmap", "fig-funnel", "fig-compare", "fig-compare-hist",
        "fig-program-trend", "fig-attr-channel", "fig-attr-program", "fig-q-win_rate",
    }
    assert expected <= seen, expected - seen
    assert any(f.startswith("fig-spark") for f in seen), seen


def test_builders_return_plain_dicts_with_the_none_template_object(world):
    from metrics.models import AccountSnapshot

    history = list(AccountSnapshot.objects.filter(account=world.acme).order_by("as_of"))
    fig = charts.minutes_over_time(history)
    # Plain containers all the way down: nothing plotly-specific reaches json_script.
    assert type(fig) is dict and all(type(t) is dict for t in fig["data"])
    assert [t["type"] for t in fig["data"]] == ["scatter", "scatter", "scatter"]
    # Acme's W90 minutes on D−2, D−1 and D (conftest): 150, 200, 240.
    assert fig["data"][2]["y"] == [150, 200, 240]
    assert fig["data"][2]["x"][-1] == D.isoformat()
    # plotly.js knows no template names: the "none" template goes out as the object plotly writes.
    assert fig["layout"]["template"] == go.Figure(layout={"template": "none"}).to_plotly_json()["layout"]["template"]
    assert fig["config"] == {"displayModeBar": False}
    assert charts.sparkline(history, "engagement")["config"] == {"displayModeBar": False, "staticPlot": True}


def test_an_unknown_property_is_what_the_validation_would_catch():
    # The check above has teeth: graph_objects rejects a misspelt property in a hand-written dict.
    fig = charts.minutes_histogram([("0", 1), ("under 10", 2)])
    fig["data"][0]["colour"] = "red"
    with pytest.raises(ValueError, match="colour"):
        validated(fig)
