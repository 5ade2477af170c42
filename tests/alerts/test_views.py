"""The Alerts page, the rule form, the Follow button's endpoint, the unsubscribe link and the
weekly summary page, through Django's test client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from alerts import services
from alerts.models import AlertPreferences, AlertRule, Delivery, Follow
from alerts.tokens import unsubscribe_token

from .conftest import D

pytestmark = pytest.mark.django_db

ALERTS_TEMPLATES = Path(__file__).resolve().parents[2] / "alerts" / "templates"


def text(response) -> str:
    from html import unescape

    html = re.sub(r"<(script|style).*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@pytest.fixture
def sent(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_send_for_day(as_of=D)


def test_the_alerts_page_shows_my_rules_follows_and_history(client, alice, sent):
    client.force_login(alice)
    page = text(client.get("/alerts/"))
    assert "Engagement spikes Engagement spike My accounts and what I follow digest Edit" in page
    assert "Following Globex" in page
    assert "2025-03-31 Daily digest ABM alerts for 31 Mar 2025: 1 spike alice@example.com 1 Sent 1 " in page


def test_a_rep_sees_only_their_own_history_and_marketing_sees_everyones(client, alice, bob, sent):
    bobs = Delivery.objects.get(user=bob)
    alices = Delivery.objects.get(user=alice)
    client.force_login(bob)
    assert "alice@example.com" not in text(client.get("/alerts/?who=all"))
    assert client.get(f"/alerts/deliveries/{alices.pk}/").status_code == 404
    detail = text(client.get(f"/alerts/deliveries/{bobs.pk}/"))
    assert "Engagement spikes 1 Iron East : 1,747 minutes in the last 7 days" in detail

    client.force_login(alice)
    everyone = text(client.get("/alerts/?who=all"))
    assert "bob@example.com" in everyone and "charlie@example.com" in everyone
    assert client.get(f"/alerts/deliveries/{bobs.pk}/").status_code == 200


def test_the_history_pages_in_place_with_htmx(client, alice, sent):
    client.force_login(alice)
    response = client.get("/alerts/?who=all&page=1", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="history")
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card alerts-page" id="history"')
    assert "<html" not in html


def test_a_rep_edits_their_own_rules_only(client, alice, bob, world):
    alices = AlertRule.objects.filter(owner=alice).first()
    bobs = AlertRule.objects.filter(owner=bob, event="spike").get()
    client.force_login(bob)
    assert client.get(f"/alerts/rules/{alices.pk}/").status_code == 403
    assert client.post(f"/alerts/rules/{alices.pk}/delete/").status_code == 403
    form = client.get(f"/alerts/rules/{bobs.pk}/").content.decode()
    assert 'name="owner"' not in form  # a rep cannot make a rule for someone else
    response = client.post(f"/alerts/rules/{bobs.pk}/", {
        "name": "", "event": "spike", "scope": "segment", "segment": world.enterprise.pk, "quiet_days": 30,
        "email": "on", "webhook_url": "", "webhook_format": "slack", "enabled": "on", "owner": alice.pk,
    })
    assert response.status_code == 302
    bobs.refresh_from_db()
    assert (bobs.owner, bobs.scope, bobs.segment, bobs.title) == (bob, "segment", world.enterprise,
                                                                  "Engagement spikes in Enterprise")


def test_marketing_makes_a_rule_for_a_rep(client, alice, bob, world):
    client.force_login(alice)
    response = client.post("/alerts/rules/new/", {
        "owner": bob.pk, "name": "Hot targets", "event": "spike", "scope": "targets", "quiet_days": 30,
        "email": "on", "webhook_url": "https://hooks.slack.com/services/T/B/x", "webhook_format": "slack",
        "enabled": "on",
    })
    assert response.status_code == 302
    rule = AlertRule.objects.get(name="Hot targets")
    assert (rule.owner, rule.created_by, rule.scope) == (bob, alice, "targets")


@pytest.mark.parametrize(("change", "error"), [
    ({"scope": "segment"}, "Pick the segment this rule watches."),
    ({"webhook_url": "ftp://example.com/x"}, "Only http:// and https:// webhook URLs are allowed."),
    ({"email": ""}, "Deliver it somewhere"),
])
def test_the_rule_form_says_what_is_wrong(client, bob, world, change, error):
    client.force_login(bob)
    data = {"event": "spike", "scope": "mine", "quiet_days": 30, "email": "on", "webhook_format": "slack",
            "enabled": "on", "webhook_url": ""}
    data.update(change)
    response = client.post("/alerts/rules/new/", {k: v for k, v in data.items() if v != ""})
    assert response.status_code == 200
    assert error in text(response)


def test_the_follow_button_answers_htmx_with_its_new_state(client, bob, world):
    client.force_login(bob)
    url = reverse("alerts:follow")
    html = client.post(url, {"account": world.globex.pk, "follow": "1", "next": "/accounts/"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "✓ Following" in html and 'name="follow" value="0"' in html
    assert Follow.objects.filter(user=bob, account=world.globex).exists()
    html = client.post(url, {"account": world.globex.pk, "follow": "0"}, HTTP_HX_REQUEST="true").content.decode()
    assert ">Follow</button>" in html
    assert not Follow.objects.filter(user=bob, account=world.globex).exists()
    # Without htmx: back where it came from, never to another site.
    back = client.post(url, {"segment": world.enterprise.pk, "follow": "1", "next": "/segments/"})
    assert back["Location"] == "/segments/"
    assert client.post(url, {"segment": world.enterprise.pk, "follow": "1",
                             "next": "https://evil.example/"})["Location"] == "/alerts/"


def test_the_account_and_segment_pages_carry_the_follow_button(client, alice, world):
    client.force_login(alice)
    account = client.get(f"/accounts/{world.globex.pk}/").content.decode()
    assert 'aria-label="Following Globex: unfollow"' in account  # Alice follows Globex
    segment = client.get(f"/segments/{world.enterprise.pk}/").content.decode()
    assert 'aria-label="Follow Enterprise"' in segment
    target_list = client.get("/segments/target/").content.decode()
    assert "Set an alert on all target accounts" in target_list


def test_preferences(client, charlie, world):
    client.force_login(charlie)
    assert 'name="weekly_summary" checked' in client.get("/alerts/").content.decode()  # an executive: on by default
    client.post("/alerts/preferences/", {"daily_digest": "on"})
    prefs = AlertPreferences.objects.get(user=charlie)
    assert (prefs.daily_digest, prefs.weekly_summary) == (True, False)


def test_unsubscribe_works_without_login_and_asks_first(client, bob):
    token = unsubscribe_token(user_id=bob.pk, kind="digest")
    page = client.get(f"/alerts/unsubscribe/{token}/")
    assert page.status_code == 200 and "Stop sending the daily alert digest to bob@example.com?" in text(page)
    assert not AlertPreferences.objects.filter(user=bob).exists()  # a GET (a link scanner) changes nothing
    done = client.post(f"/alerts/unsubscribe/{token}/")
    assert "bob@example.com will no longer receive the daily alert digest" in text(done)
    assert AlertPreferences.objects.get(user=bob).daily_digest is False


def test_the_weekly_link_stops_the_weekly_summary_only(client, charlie):
    client.post(f"/alerts/unsubscribe/{unsubscribe_token(user_id=charlie.pk, kind='weekly')}/")
    prefs = AlertPreferences.objects.get(user=charlie)
    assert (prefs.daily_digest, prefs.weekly_summary) == (True, False)


@pytest.mark.parametrize("token", ["nonsense", "eyJ1IjoxLCJrIjoiZGlnZXN0In0:forged:sig"])
def test_a_forged_unsubscribe_link_is_refused(client, bob, token):
    assert client.post(f"/alerts/unsubscribe/{token}/").status_code == 400
    assert not AlertPreferences.objects.exists()


def test_send_now_is_for_marketing_and_admins(client, alice, bob, world, django_capture_on_commit_callbacks):
    client.force_login(bob)
    assert client.post("/alerts/send/").status_code == 403
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/alerts/send/", follow=True)
    assert "2025-03-31: 3 digest(s) to send." in text(response)
    assert len(mail.outbox) == 3


def test_the_weekly_summary_page_prints(client, charlie, world):
    client.force_login(charlie)
    response = client.get("/alerts/weekly/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<link rel="stylesheet" href="/static/alerts/print.css" media="print">' in html
    page = text(response)
    assert "Week ending Monday 31 March 2025" in page
    assert "Journey funnels" in page and "Top movers" in page


def test_no_alerts_template_has_an_inline_script():
    """As tests/test_abuse.py checks templates/: the Content-Security-Policy allows script files only."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
    templates = list(ALERTS_TEMPLATES.rglob("*.html"))
    assert len(templates) > 10
    for path in templates:
        html = path.read_text()
        assert not inline.findall(html) and not handler.findall(html), path


def test_a_new_rule_starts_as_a_spike_rule_for_oneself(client, alice, world):
    client.force_login(alice)
    form = client.get("/alerts/rules/new/?scope=segment&segment=%d" % world.enterprise.pk).context["form"]
    assert (form["owner"].value(), form["event"].value(), form["scope"].value(), str(form["segment"].value())) == (
        alice.pk, "spike", "segment", str(world.enterprise.pk)
    )
