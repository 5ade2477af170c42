"""A chunk is an account-id range computed by one INSERT … SELECT (metrics.services)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from metrics import services
from metrics.families.awareness import awareness_rows
from metrics.models import AccountSnapshot, MetricSettings
from tests.metrics.builders import D, account, at, contact, program, touch

pytestmark = pytest.mark.django_db


def _snap(acc) -> AccountSnapshot:
    return AccountSnapshot.objects.get(account=acc, as_of=D)


def test_chunks_are_id_ranges_cut_every_n_accounts_in_id_order() -> None:
    accounts = [account() for _ in range(8)]
    Account.objects.filter(pk=accounts[2].pk).delete()  # a gap: ranges count accounts, not ids
    ids = [a.pk for a in accounts if a.pk != accounts[2].pk]
    assert [(r.lo, r.hi, r.accounts) for r in services.account_ranges(chunk_size=3)] == [
        (ids[0], ids[2], 3), (ids[3], ids[5], 3), (ids[6], ids[6], 1)
    ]
    run = services.run_start(as_of=D, chunk_size=3)
    assert list(run.chunks.order_by("index").values_list("lo", "hi", "accounts")) == [
        (ids[0], ids[2], 3), (ids[3], ids[5], 3), (ids[6], ids[6], 1)
    ]
    assert run.chunks_total == 3


def test_a_chunk_stores_the_accounts_of_its_range_and_no_other() -> None:
    first, second, third = account(), account(), account()
    for acc in (first, second, third):
        touch(acc, "form_fill", at(1))
    stored = services.compute_account_chunk(as_of=D, account_ids=range(second.pk, third.pk + 1))
    assert stored == 2
    assert set(AccountSnapshot.objects.values_list("account_id", flat=True)) == {second.pk, third.pk}


def test_a_chunk_is_one_insert_select() -> None:
    accounts = [account() for _ in range(5)]
    for acc in accounts:
        touch(acc, "web_visit", at(1), who=contact(acc))
    MetricSettings.load()
    with CaptureQueriesContext(connection) as captured:
        services.compute_account_chunk(as_of=D, account_ids=range(accounts[0].pk, accounts[-1].pk + 1))
    writes = [q["sql"] for q in captured.captured_queries if "metrics_accountsnapshot" in q["sql"]]
    assert len(writes) == 1 and writes[0].startswith('INSERT INTO "metrics_accountsnapshot"')
    assert "ON CONFLICT" in writes[0]
    # Nothing about a single account is read into Python.
    assert not [q for q in captured.captured_queries if "accounts_touchpoint" in q["sql"] and q not in writes
                and not q["sql"].startswith("INSERT")]


@pytest.mark.parametrize("chunk_size", [1, 2000])
def test_a_touch_naming_a_contact_of_another_account_takes_that_contacts_role_and_seniority(chunk_size) -> None:
    # The source named the account and the contact separately: the contact works elsewhere now.
    home, other = account(), account()
    boss = contact(other, seniority="cxo", role="economic_buyer")
    touch(home, "meeting", at(3), who=boss)  # 30 × 2.0 (CXO) = 60, for `home`
    touch(home, "web_visit", at(4), minutes="6.72")  # anonymous
    services.compute_day(as_of=D, chunk_size=chunk_size)  # 1: `boss` is outside `home`'s range
    s = _snap(home)
    assert (s.minutes_90d, s.engaged_contacts_90d, s.mqa) == (66.72, 1, False)
    assert s.minutes_by_role == {"economic_buyer": 60.0, "anonymous": 6.72}
    assert s.minutes_by_kind == {"meeting": 60.0, "web_visit": 6.72}
    assert all(type(value) is float for value in [*s.minutes_by_role.values(), *s.minutes_by_kind.values()])
    assert (_snap(other).minutes_90d, _snap(other).minutes_by_role) == (0.0, {})


def test_minutes_are_exact_whatever_the_order_of_addition() -> None:
    acc = account()
    eve = contact(acc)
    for days, minutes in ((25, "6.72"), (20, "11.54"), (10, "1.74")):
        touch(acc, "web_visit", at(days), who=eve, minutes=minutes)
    services.compute_day(as_of=D)
    s = _snap(acc)
    # As floats, 6.72 + 11.54 + 1.74 is 19.999999999999996.
    assert (s.minutes_90d, s.minutes_30d, s.minutes_by_kind, s.minutes_by_role) == (
        20.0, 20.0, {"web_visit": 20.0}, {"no_role": 20.0}
    )


def test_a_program_success_counts_once_per_program_and_channel() -> None:
    spring, autumn = program("Spring", "email"), program("Autumn", "email")
    acc = account()
    for days in (1, 2):
        touch(acc, "email_click", at(days), program=spring)
    touch(acc, "email_click", at(3), program=autumn)
    touch(acc, "email_click", at(95), program=program("Old", "webinar", success_kinds=["email_click"]))  # before W90
    services.compute_day(as_of=D)
    assert (_snap(acc).programs_reached, _snap(acc).channels_reached) == (2, 1)


def test_a_family_can_be_read_alone() -> None:
    acc = account()
    touch(acc, "web_visit", at(1))
    touch(acc, "web_visit", at(200))  # outside W90
    row = awareness_rows(as_of=D, account_ids=[acc.pk], cfg=MetricSettings.load())[acc.pk]
    assert row == {"web_visits": 1, "known_visitors": 0, "email_opens": 0, "event_attendances": 0,
                   "calls_connected": 0, "aware_contacts": 0, "aware": True}


def test_recomputing_a_chunk_replaces_its_rows() -> None:
    acc = account()
    touch(acc, "form_fill", at(1))
    services.compute_account_chunk(as_of=D, account_ids=[acc.pk])
    touch(acc, "form_fill", at(2))
    services.compute_account_chunk(as_of=D, account_ids=[acc.pk])
    assert list(AccountSnapshot.objects.values_list("as_of", "minutes_90d")) == [(D, 20.0)]
    services.compute_account_chunk(as_of=D - timedelta(days=1), account_ids=[acc.pk])
    assert AccountSnapshot.objects.count() == 2
