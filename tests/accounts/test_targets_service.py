"""Marking and unmarking target accounts in bulk (accounts.services.account_targets_mark / _unmark)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import Account, Segment
from accounts.services import InvalidRecord, account_targets_mark, account_targets_unmark


def account(name: str, **fields) -> Account:
    return Account.objects.create(name=name, domain=f"{name.lower()}.example", **fields)


@pytest.fixture
def three(db) -> list[Account]:
    """Acme is already a tier-1 target; Globex (tier 2) and Initech (no tier) are not targets."""
    return [
        account("Acme", is_target=True, tier=1),
        account("Globex", tier=2),
        account("Initech"),
    ]


def state() -> dict[str, tuple[bool, int | None]]:
    return {a.name: (a.is_target, a.tier) for a in Account.objects.all()}


def members(name: str) -> list[str]:
    return sorted(Segment.objects.get(name=name).accounts.values_list("name", flat=True))


def test_mark_returns_how_many_were_not_targets_and_keeps_tiers(three):
    assert account_targets_mark(accounts=Account.objects.all()) == 2
    assert state() == {"Acme": (True, 1), "Globex": (True, 2), "Initech": (True, None)}
    assert not Segment.objects.exists()


def test_marking_again_marks_none_newly(three):
    account_targets_mark(accounts=Account.objects.all())
    assert account_targets_mark(accounts=Account.objects.all()) == 0


def test_mark_sets_the_tier_when_given(three):
    assert account_targets_mark(accounts=Account.objects.exclude(name="Initech"), tier=3) == 1
    assert state() == {"Acme": (True, 3), "Globex": (True, 3), "Initech": (False, None)}


def test_mark_applies_to_the_accounts_its_filter_selected_before_the_change(three):
    """The queryset filters on the very fields the mark changes: every write still reaches the
    accounts it selected when called (not the ones it selects afterwards)."""
    newly = account_targets_mark(accounts=Account.objects.filter(is_target=False, tier=2), tier=1, segment="New")
    assert newly == 1
    assert state() == {"Acme": (True, 1), "Globex": (True, 1), "Initech": (False, None)}
    assert members("New") == ["Globex"]


def test_mark_creates_the_segment_and_adds_each_account_once(three):
    account_targets_mark(accounts=Account.objects.filter(name__in=["Acme", "Globex"]), segment="FY26 targets")
    account_targets_mark(accounts=Account.objects.all(), segment="  FY26 targets ")
    assert Segment.objects.count() == 1
    assert members("FY26 targets") == ["Acme", "Globex", "Initech"]
    assert Segment.accounts.through.objects.count() == 3


def test_mark_adds_to_an_existing_segment_and_keeps_its_members(three):
    enterprise = Segment.objects.create(name="Enterprise", description="kept")
    other = account("Umbrella")
    enterprise.accounts.add(other, three[0])
    account_targets_mark(accounts=Account.objects.filter(name__in=["Acme", "Globex"]), segment="Enterprise")
    assert members("Enterprise") == ["Acme", "Globex", "Umbrella"]
    assert Segment.objects.get(name="Enterprise").description == "kept"


def test_segment_memberships_are_written_in_batches(three, monkeypatch):
    monkeypatch.setattr(services, "TARGET_BATCH", 2)
    for i in range(4):
        account(f"Extra{i}")
    account_targets_mark(accounts=Account.objects.all(), segment="Batched")
    assert len(members("Batched")) == 7


def test_mark_bumps_updated_at(three):
    before = Account.objects.get(name="Globex").updated_at
    account_targets_mark(accounts=Account.objects.filter(name="Globex"))
    assert Account.objects.get(name="Globex").updated_at > before


@pytest.mark.parametrize("tier", [0, 4, -1, True, "1", 1.5])
def test_an_invalid_tier_is_refused_and_nothing_changes(three, tier):
    before = state()
    with pytest.raises(InvalidRecord) as exc:
        account_targets_mark(accounts=Account.objects.all(), tier=tier, segment="Never")
    assert [p.field for p in exc.value.problems] == ["tier"]
    assert state() == before
    assert not Segment.objects.exists()


def test_a_too_long_segment_name_is_refused_and_nothing_changes(three):
    before = state()
    with pytest.raises(InvalidRecord) as exc:
        account_targets_mark(accounts=Account.objects.all(), segment="x" * 121)
    assert [p.field for p in exc.value.problems] == ["segment"]
    assert state() == before


def test_a_blank_segment_name_adds_to_no_segment(three):
    account_targets_mark(accounts=Account.objects.all(), segment="   ")
    assert not Segment.objects.exists()


def test_an_empty_selection_changes_nothing(three):
    before = state()
    assert account_targets_mark(accounts=Account.objects.none(), tier=1, segment="Empty") == 0
    assert account_targets_unmark(accounts=Account.objects.none()) == 0
    assert state() == before


def test_unmark_returns_how_many_were_targets_and_keeps_tiers_and_segments(three):
    account_targets_mark(accounts=Account.objects.filter(name="Globex"), segment="Mistake")
    assert account_targets_unmark(accounts=Account.objects.exclude(name="Initech")) == 2
    assert state() == {"Acme": (False, 1), "Globex": (False, 2), "Initech": (False, None)}
    assert members("Mistake") == ["Globex"]


def _many(n: int) -> None:
    Account.objects.bulk_create(
        [Account(name=f"A{i}", domain=f"a{i}.example", is_target=i % 2 == 0) for i in range(n)]
    )


# One count, the segment's get-or-create (a select, and an insert in a savepoint), the id read, one
# membership insert, the update and the transaction's savepoint: the same for 3 accounts or 30.
MARK_QUERIES = 10


@pytest.mark.parametrize("n", [3, 30])
def test_mark_issues_a_bounded_number_of_queries(db, django_assert_max_num_queries, n):
    _many(n)
    with django_assert_max_num_queries(MARK_QUERIES):
        newly = account_targets_mark(accounts=Account.objects.filter(name__startswith="A"), tier=2, segment="Bulk")
    assert newly == n // 2
    assert Account.objects.filter(is_target=True, tier=2).count() == n
    assert len(members("Bulk")) == n


@pytest.mark.parametrize("n", [3, 30])
def test_unmark_is_one_update(db, django_assert_num_queries, n):
    _many(n)
    with django_assert_num_queries(1):
        assert account_targets_unmark(accounts=Account.objects.all()) == (n + 1) // 2
    assert not Account.objects.filter(is_target=True).exists()


def test_the_update_reads_ids_through_a_subquery(three):
    """No Python list of ids: the UPDATE selects them itself (it must work for 100,000 accounts)."""
    with CaptureQueriesContext(connection) as ctx:
        account_targets_mark(accounts=Account.objects.filter(tier__isnull=False))
    update = next(q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE"))
    assert "IN (SELECT" in update
