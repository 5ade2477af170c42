"""The Fit page: who sees it, the rule profile when deals are few, marking look-alikes, and the
fit score in the account export, the API and the account page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, Segment
from fit.models import FitMethod, FitProfile, FitRun, FitScore
from fit.services import fit_train
from metrics.exports import export_rows
from metrics.models import AccountSnapshot, MetricsRun
from tests.fit.builders import D, account, deals, software_always_wins

pytestmark = pytest.mark.django_db


@pytest.fixture
def few_deals() -> None:
    """29 won and 40 lost: one won deal short of the 30 the model needs."""
    deals(account(industry="Software"), won=29)
    deals(account(industry="Retail"), lost=40)


def _save_profile(client, **texts: str):
    data = {"industries": "", "employee_bands": "", "revenue_bands": "", "countries": "", **texts}
    return client.post("/fit/profile/", data)


def test_who_sees_the_page(client, alice, bob, charlie, ada):
    software_always_wins()
    fit_train(as_of=D)
    for user, status in ((alice, 200), (charlie, 200), (ada, 200), (bob, 403)):
        client.force_login(user)
        assert client.get("/fit/").status_code == status
    client.force_login(charlie)
    page = client.get("/fit/").content.decode()
    assert 'href="/fit/"' in page and "AUC" in page
    assert "/fit/lookalikes/mark/" not in page and "Retrain now" not in page  # executives only read
    assert client.get("/fit/lookalikes/mark/").status_code == 403
    assert client.post("/fit/train/").status_code == 403
    client.force_login(bob)
    assert 'href="/fit/"' not in client.get("/definitions/").content.decode()
    client.force_login(alice)
    page = client.get("/fit/").content.decode()
    assert "/fit/lookalikes/mark/" in page and "Retrain now" in page


def test_below_30_won_deals_the_rule_profile_scores_and_the_page_says_so(
    client, alice, few_deals, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = _save_profile(client, industries="Software: 60\nRetail: 10", employee_bands="1000-4999: 40")
    assert response.status_code == 302
    run = FitRun.objects.latest()  # the save rescored the accounts (the task runs in-process here)
    assert (run.method, run.won, run.lost, run.baseline) == (FitMethod.RULES, 29, 40, 0)
    big_software = account(industry="software", employees=2000)  # the profile matches case-insensitively
    run = fit_train(as_of=D)
    fit = FitScore.objects.get(account=big_software)
    # Software 60 + 1000-4999 employees 40 = 100; revenue and country are not in the profile.
    assert fit.score == 100
    assert [(c["attribute"], c["points"]) for c in fit.contributions[:2]] == [("industry", 60), ("employee_band", 40)]
    assert FitScore.objects.get(account__industry="Retail").score == 10
    page = client.get("/fit/").content.decode()
    assert "Scored by the rule profile" in page
    assert "29 won and 40 lost closed new-business deals; a model needs at least 30 of each" in page


def test_a_bad_profile_line_is_named_and_changes_nothing(client, alice, bob, few_deals):
    client.force_login(alice)
    _save_profile(client, industries="Software: 50")
    response = _save_profile(client, industries="Software: 50\nRetail: lots", employee_bands="10-20: 5")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Industries, line 2: &#x27;lots&#x27; is not a whole number of points" in page
    assert "Employee bands, line 1: &#x27;10-20&#x27; is not one of the bands" in page
    response = _save_profile(client, industries="Software: 70", countries="Germany: 40")
    assert "adds up to 110 points" in response.content.decode()
    assert FitProfile.load().industries == {"Software": 50} and FitProfile.load().countries == {}
    client.force_login(bob)
    assert _save_profile(client, industries="Software: 1").status_code == 403


def test_marking_look_alikes_changes_exactly_the_confirmed_accounts(client, alice):
    software_always_wins()
    fit_train(as_of=D)
    target = account(industry="Software", is_target=True, name="Already a target")
    candidates = set(Account.objects.filter(industry="Software", is_target=False).values_list("pk", flat=True))
    others = set(Account.objects.exclude(industry="Software").values_list("pk", flat=True))
    client.force_login(alice)
    confirm = client.get("/fit/lookalikes/mark/?industry=Software&min_score=50")
    page = confirm.content.decode()
    # The 40 Software accounts of the deals (the target is not a look-alike, and is unscored).
    assert "Mark 40 accounts as targets?" in page
    run = FitRun.objects.latest()
    apply_url = f"/fit/lookalikes/mark/apply/?industry=Software&amp;min_score=50&amp;run={run.pk}&amp;count=40"
    assert apply_url in page
    response = client.post(apply_url.replace("&amp;", "&"), {"tier": "2", "segment": "Fit look-alikes"})
    assert response.status_code == 302
    marked = set(Account.objects.filter(is_target=True).values_list("pk", flat=True))
    assert marked == candidates | {target.pk}
    assert set(Account.objects.filter(tier=2).values_list("pk", flat=True)) == candidates
    assert set(Segment.objects.get(name="Fit look-alikes").accounts.values_list("pk", flat=True)) == candidates
    assert not Account.objects.filter(pk__in=others, is_target=True).exists()


def test_a_stale_confirmation_marks_nothing(client, alice):
    software_always_wins()
    run = fit_train(as_of=D)
    client.force_login(alice)
    # Counted 40, but one of them became a target meanwhile: 39 now.
    Account.objects.filter(pk=Account.objects.filter(industry="Software").first().pk).update(is_target=True)
    response = client.post(f"/fit/lookalikes/mark/apply/?industry=Software&run={run.pk}&count=40", {"tier": ""})
    assert response.status_code == 409
    assert "Mark 39 accounts as targets?" in response.content.decode()
    assert Account.objects.filter(is_target=True).count() == 1
    # And from a run the nightly training has replaced since.
    newer = fit_train(as_of=D)
    response = client.post(f"/fit/lookalikes/mark/apply/?industry=Software&run={run.pk}&count=39", {"tier": ""})
    assert response.status_code == 409 and newer.pk != run.pk
    assert Account.objects.filter(is_target=True).count() == 1


def test_the_export_the_api_and_the_account_page_carry_the_fit_score(client, alice, charlie):
    software_always_wins()
    acc = Account.objects.filter(industry="Software").first()
    unscored_day = dt.date(2024, 7, 1)
    AccountSnapshot.objects.create(account=acc, as_of=unscored_day)
    MetricsRun.objects.create(as_of=unscored_day, status="done", chunks_total=1, chunks_done=1)
    columns, rows = export_rows(level="account", as_of=unscored_day)
    assert "fit_score" in columns and rows[0]["fit_score"] is None  # before the first fit run
    fit_train(as_of=D)
    score = FitScore.objects.get(account=acc).score
    columns, rows = export_rows(level="account", as_of=unscored_day)
    assert rows[0]["fit_score"] == score
    client.force_login(charlie)
    result = client.get(f"/api/v1/metrics/account-snapshots/?account={acc.pk}").json()["results"]
    assert result[0]["fit_score"] == score
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(f"/accounts/{acc.pk}/").content.decode()
    # The score and its run in one query: the account page's query budget is tight.
    assert len([q for q in ctx.captured_queries if '"fit_' in q["sql"]]) == 1
    assert "ICP fit" in page and f"<strong>{score}</strong> of 100" in page and "Industry Software: +" in page
