"""People (METRICS.md "People (contact level)"): a contact's minutes, touches and last activity,
computed in the accounts' per-chunk pass."""

from __future__ import annotations

import pytest

from metrics.models import AccountSnapshot, ContactSnapshot
from metrics.services import compute_account_chunk, compute_day
from tests.metrics.builders import D, account, at, contact, touch

pytestmark = pytest.mark.django_db


def test_contact_minutes_cxo_counts_double_and_anonymous_counts_for_no_person() -> None:
    acc = account()
    ann = contact(acc, title="Chief Financial Officer", role="decision_maker")  # cxo from the title: × 2
    ben = contact(acc, seniority="manager")  # × 1
    quiet = contact(acc)  # no touch at all: no row
    touch(acc, "meeting", at(2), who=ann)  # 30 × 2 = 60, in W7, W30, W90
    touch(acc, "email_click", at(10), who=ann)  # 2 × 2 = 4, in W30, W90
    touch(acc, "web_visit", at(40), who=ann, minutes="2.5")  # 2.5 × 2 = 5, in P30, W90
    touch(acc, "ad_impression", at(3), who=ann)  # 0 minutes, but a touch in W90
    touch(acc, "form_fill", at(100), who=ann)  # before W90: no minutes, no touch counted
    touch(acc, "form_fill", at(1), who=ben)  # 10 × 1
    touch(acc, "webinar_attended", at(-1), who=ben)  # after D: never counts for D
    touch(acc, "event_attended", at(5))  # anonymous: 120 for the account, nobody's
    compute_day(as_of=D)

    a = ContactSnapshot.objects.get(contact=ann, as_of=D)
    assert a.account_id == acc.pk
    assert a.minutes_7d == 60.0  # meeting 60
    assert a.minutes_30d == 64.0  # 60 + 4
    assert a.minutes_prev_30d == 5.0  # the 2.5-minute visit × 2
    assert a.minutes_90d == 69.0  # 60 + 4 + 5
    assert a.touches_90d == 4  # meeting, click, visit, ad impression (the form fill is 100 days old)
    assert a.last_touch_at == at(2)  # the meeting: the ad impression (D−3) is earlier

    b = ContactSnapshot.objects.get(contact=ben, as_of=D)
    assert (b.minutes_7d, b.minutes_30d, b.minutes_90d, b.touches_90d) == (10.0, 10.0, 10.0, 1)
    assert b.last_touch_at == at(1)  # the webinar after D does not count

    assert not ContactSnapshot.objects.filter(contact=quiet).exists()
    # The account: 69 (Ann) + 10 (Ben) + 120 (anonymous) = 199; the people sum to 79.
    assert AccountSnapshot.objects.get(account=acc, as_of=D).minutes_90d == 199.0


def test_a_contact_whose_touches_are_all_older_than_w90_has_no_row() -> None:
    acc = account()
    cat = contact(acc)
    touch(acc, "meeting", at(90), who=cat)  # D−90: just outside W90 (D−89 … D)
    dot = contact(acc)
    touch(acc, "ad_impression", at(89), who=dot)  # D−89: inside, though worth 0 minutes
    compute_day(as_of=D)
    assert not ContactSnapshot.objects.filter(contact=cat).exists()
    d = ContactSnapshot.objects.get(contact=dot, as_of=D)
    assert (d.minutes_90d, d.touches_90d, d.last_touch_at) == (0.0, 1, at(89))


def test_a_touch_recorded_at_another_account_counts_for_that_account_only() -> None:
    home, other = account(), account()
    fay = contact(home)
    touch(home, "form_fill", at(1), who=fay)  # 10
    touch(other, "meeting", at(1), who=fay)  # 30 for `other`, not for Fay (her account is `home`)
    compute_day(as_of=D)
    assert ContactSnapshot.objects.get(contact=fay).minutes_30d == 10.0
    assert AccountSnapshot.objects.get(account=other).minutes_30d == 30.0


def test_recomputing_replaces_rows_and_drops_a_person_with_no_touch_left() -> None:
    acc = account()
    dan, eve = contact(acc), contact(acc)
    touch(acc, "meeting", at(1), who=dan)
    gone = touch(acc, "form_fill", at(1), who=eve)
    compute_account_chunk(as_of=D, account_ids=[acc.pk])
    assert ContactSnapshot.objects.filter(as_of=D).count() == 2
    gone.delete()
    touch(acc, "meeting", at(0), who=dan)
    compute_account_chunk(as_of=D, account_ids=[acc.pk])
    assert list(ContactSnapshot.objects.filter(as_of=D).values_list("contact_id", "minutes_7d")) == [(dan.pk, 60.0)]


def test_chunks_write_only_their_own_accounts_people() -> None:
    first, second = account(), account()
    fay, gus = contact(first), contact(second)
    touch(first, "meeting", at(1), who=fay)
    touch(second, "meeting", at(1), who=gus)
    compute_account_chunk(as_of=D, account_ids=[first.pk])
    assert list(ContactSnapshot.objects.values_list("contact_id", flat=True)) == [fay.pk]
    compute_account_chunk(as_of=D, account_ids=[second.pk])
    assert ContactSnapshot.objects.count() == 2
