"""My accounts (sales reps) and the influence summary (executives)."""

from __future__ import annotations

from metrics.models import InfluenceSummary
from tests.dashboard.conftest import figure, text


def test_my_accounts_ranked_by_change_this_week(client, bob, world):
    client.force_login(bob)
    t = text(client.get("/me/"))
    # Acme: 45 − 30/3 = +35 this week, 120 − 60 = +60 over 30 days.
    # Globex: 2 − 18/3 = −4 this week, 20 − 40 = −20 over 30 days. Initech has no owner, =Umbrella is Alice's.
    assert "Acme MQA 45 +35 120 +60" in t
    assert "Globex Engaged 2 −4 20 −20" in t
    assert t.index("Acme MQA") < t.index("Globex Engaged")
    assert "Initech" not in t and "Umbrella" not in t


def test_my_accounts_sorted_by_30_day_change(client, bob, world):
    from accounts.models import Account
    from tests.dashboard.conftest import snap

    # Hooli: quiet this week (0 − 90/3 = −30) but up 200 over 30 days.
    hooli = Account.objects.create(name="Hooli", is_target=True, owner=bob)
    snap(hooli, minutes_prev_21d=90, minutes_30d=300, minutes_prev_30d=100)
    client.force_login(bob)
    week = text(client.get("/me/"))
    assert week.index("Acme") < week.index("Globex") < week.index("Hooli")
    month = text(client.get("/me/?sort=month"))
    assert month.index("Hooli") < month.index("Acme") < month.index("Globex")


def test_what_changed_since_yesterday(client, bob, world):
    client.force_login(bob)
    t = text(client.get("/me/"))
    # Acme was engaged yesterday, MQA and spiking today; Globex did not change.
    assert "Acme : stage engaged → mqa Acme : new engagement spike Acme : became an MQA" in t
    assert "Globex :" not in t


def test_newly_engaged_contacts_and_what_they_did(client, bob, world):
    client.force_login(bob)
    t = text(client.get("/me/"))
    # Dana's first scored touch is the webinar on D−1 (her ad impression is worth 0 minutes). Carl's
    # web visit on D−3 is not his first: he opened an email on D−20.
    assert "Dana Diaz , CEO at Acme first on Sun 30 Mar, 1 touch" in t
    assert "Carl Chen , Head of IT at Acme first" not in t
    # The last 7 days' scored touches, newest first.
    assert (
        "Sun 30 Mar 12:00 Acme Dana Diaz Webinar attended Spring webinar "
        "Fri 28 Mar 12:00 Acme Carl Chen Web visit –"
    ) in t
    assert "Ad impression" not in t


def test_non_owner_sees_an_explanation_and_can_pick_a_rep(client, alice, bob, world):
    client.force_login(alice)
    r = client.get("/me/")
    assert "You own no target accounts" in text(r)
    assert f'<option value="{bob.pk}"' in r.content.decode()
    picked = text(client.get(f"/me/?rep={bob.pk}"))
    assert "Accounts of Bob" in picked and "Acme MQA 45 +35" in picked


def test_a_rep_cannot_look_at_another_reps_accounts(client, bob, alice, world):
    client.force_login(bob)
    t = text(client.get(f"/me/?rep={alice.pk}"))
    assert "My accounts" in t and "Acme MQA" in t
    assert "Show the accounts of" not in t


def test_influence_headline_and_tables(client, charlie, world):
    client.force_login(charlie)
    r = client.get("/influence/")
    t = text(r)
    assert "Accounts in the top quartile of engagement closed 25 % faster and won 40 points more often" in t
    assert "Outcomes of the 40 opportunities closed (won or lost) in the 365 days to 2025-03-31" in t
    assert ("Influenced pipeline (of this created pipeline): 50,000 of 80,000 (62 %), from 1 of 1 opportunities"
            in t)
    assert "Target accounts 25 10 40 % 48 35,000" in t
    assert "Non-target accounts 15 5 33 % 61 22,000" in t
    assert "Engaged accounts no closed opportunities" in t
    win = figure(r, "fig-q-win_rate")["data"][0]
    assert win["x"] == ["Quartile 1", "Quartile 2", "Quartile 3", "Quartile 4"]
    assert win["y"] == [0.2, 0.3, 0.4, 0.6]
    assert win["customdata"] == [10, 10, 10, 10]
    assert figure(r, "fig-q-median_cycle_days")["data"][0]["y"] == [60.0, 55.0, 50.0, 45.0]
    assert figure(r, "fig-q-avg_contract_value")["data"][0]["y"] == [20000.0, 25000.0, 30000.0, 40000.0]
    # Bar labels are the tables' own text.
    assert win["text"] == ["20 %", "30 %", "40 %", "60 %"]


def test_a_day_computed_before_the_evidence_has_no_headline(client, charlie, world):
    InfluenceSummary.objects.filter().update(headline="", headline_reason="")
    client.force_login(charlie)
    t = text(client.get("/influence/"))
    assert "No headline for 2025-03-31: the day was computed before the evidence was; compute it again." in t


def test_attribution_by_model(client, charlie, world):
    client.force_login(charlie)
    linear = figure(client.get("/influence/"), "fig-attr-channel")["data"]
    assert linear[0]["name"] == "Attributed pipeline (created)" and linear[0]["y"] == ["Webinar", "Display"]
    assert linear[1]["name"] == "Attributed revenue (won)"
    assert linear[0]["x"] == [60000.0, 20000.0]
    assert linear[1]["x"] == [20000.0, 0.0]  # revenue
    first = figure(client.get("/influence/?model=first_touch"), "fig-attr-channel")["data"]
    assert first[0]["y"] == ["Display"] and first[0]["x"] == [80000.0]
    assert "No attributed pipeline on 2025-03-31 under the Time decay model" in text(
        client.get("/influence/?model=time_decay")
    )


def test_model_selector_swaps_only_the_attribution(client, charlie, world):
    client.force_login(charlie)
    r = client.get("/influence/?model=first_touch", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="attribution")
    html = r.content.decode()
    assert html.startswith('<section id="attribution"') and "<html" not in html
    assert 'value="first_touch" checked' in html
    assert figure(r, "fig-attr-program")["data"][0]["y"] == ["Display retargeting"]
