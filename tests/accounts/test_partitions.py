"""Touchpoints partitioned by month on PostgreSQL (accounts/partitions.py, migration 0007,
docs/operations.md) and the staged rows written in (account, occurred_at) order.

The import rules (ordered inserts; a re-import updates a touch even when its date moved to another
month) run on every database. The partitions themselves exist on PostgreSQL only: those tests are
skipped on SQLite and run in the services tier (.ci/run), on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from accounts import partitions
from accounts.models import Account, Touchpoint
from imports.services import import_csv

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    not __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="touchpoint partitions are PostgreSQL's (SQLite keeps one plain table): the services tier's PostgreSQL",
)
HEADER = "external_id,source,kind,occurred_at,account_external_id\n"
UTC = dt.UTC


@pytest.fixture
def accounts(db) -> dict[str, Account]:
    return {ext: Account.objects.create(name=f"Account {ext}", external_id=ext, domain=f"{ext.lower()}.example")
            for ext in ("A1", "B1")}


@pytest.fixture
def import_touches(tmp_path: Path):
    def run(rows: list[tuple[str, str, str]]):
        path = tmp_path / "touches.csv"
        path.write_text(HEADER + "".join(f"{ext},web,web_visit,{at},{account}\n" for ext, at, account in rows))
        result = import_csv(kind="touchpoints", path=path, preset="native")
        assert result.ok, result.errors
        return result

    return run


def _where(external_id: str) -> str:
    """The partition holding the touch."""
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text FROM accounts_touchpoint WHERE external_id = %s", [external_id])
        return cur.fetchone()[0]


def test_new_touches_are_written_in_account_then_time_order(accounts, import_touches):
    # The file is in neither account nor time order; the ids given say in which order rows went in.
    b_first = accounts["A1"].pk > accounts["B1"].pk
    import_touches([
        ("t1", "2024-03-02T10:00:00Z", "B1"),
        ("t2", "2024-01-09T10:00:00Z", "A1"),
        ("t3", "2024-02-01T10:00:00Z", "B1"),
        ("t4", "2024-03-01T10:00:00Z", "A1"),
        ("t5", "2024-01-05T10:00:00Z", "B1"),
    ])
    in_id_order = list(Touchpoint.objects.order_by("id").values_list("external_id", flat=True))
    a_rows, b_rows = ["t2", "t4"], ["t5", "t3", "t1"]
    assert in_id_order == (b_rows + a_rows if b_first else a_rows + b_rows)


def test_a_reimported_touch_whose_date_moved_to_another_month_is_updated_not_duplicated(accounts, import_touches):
    first = import_touches([("t1", "2024-01-15T10:00:00Z", "A1"), ("t2", "2024-01-20T10:00:00Z", "A1")])
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    stored = Touchpoint.objects.get(external_id="t1")
    # t1 moves from January to March; t2 is the same as before.
    again = import_touches([("t1", "2024-03-03T09:00:00Z", "A1"), ("t2", "2024-01-20T10:00:00Z", "A1")])
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert Touchpoint.objects.count() == 2
    moved = Touchpoint.objects.get(external_id="t1")
    assert (moved.pk, moved.occurred_at) == (stored.pk, dt.datetime(2024, 3, 3, 9, tzinfo=UTC))


@pytest.mark.skipif(__import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="on PostgreSQL the command works: the tests below")
def test_the_partition_command_says_sqlite_has_no_partitions(db):
    with pytest.raises(CommandError, match="PostgreSQL only; this database is sqlite"):
        call_command("touchpoint_partitions", "list")


@postgres_only
def test_the_migration_makes_a_monthly_partitioned_table_with_the_key_table_beside_it(db):
    with connection.cursor() as cur:
        cur.execute("SELECT c.relkind, p.partstrat, a.attname FROM pg_class c JOIN pg_partitioned_table p "
                    "ON p.partrelid = c.oid JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0] "
                    "WHERE c.relname = 'accounts_touchpoint'")
        assert cur.fetchone() == ("p", "r", "occurred_at")
        cur.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'accounts_touchpoint_pkey'")
        assert cur.fetchone() == ("PRIMARY KEY (id, occurred_at)",)
        cur.execute("SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conname = 'touchpoint_source_external_id_unique'")
        assert cur.fetchone() == ("accounts_touchpoint_key", "PRIMARY KEY (source, external_id)")
    assert [p.name for p in partitions.partitions()][-1] == "accounts_touchpoint_default"


@postgres_only
def test_an_import_of_a_month_without_a_partition_creates_it(accounts, import_touches):
    assert "accounts_touchpoint_p2019_05" not in {p.name for p in partitions.partitions()}
    import_touches([("t1", "2019-05-31T23:30:00Z", "A1"), ("t2", "2019-06-01T00:10:00Z", "A1")])
    assert (_where("t1"), _where("t2")) == ("accounts_touchpoint_p2019_05", "accounts_touchpoint_p2019_06")
    may = next(p for p in partitions.partitions() if p.name == "accounts_touchpoint_p2019_05")
    assert (may.start, may.end) == (dt.datetime(2019, 5, 1, tzinfo=UTC), dt.datetime(2019, 6, 1, tzinfo=UTC))
    # The partition got the table's indexes.
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'accounts_touchpoint_p2019_05'")
        assert any("(account_id, occurred_at)" in d for (d,) in cur.fetchall())


@postgres_only
def test_a_reimport_moving_a_touch_across_months_moves_it_between_partitions_and_keeps_its_key(
    accounts, import_touches
):
    import_touches([("t1", "2024-01-15T10:00:00Z", "A1")])
    assert _where("t1") == "accounts_touchpoint_p2024_01"
    touch_id = Touchpoint.objects.get(external_id="t1").pk
    import_touches([("t1", "2024-03-03T09:00:00Z", "B1")])
    assert _where("t1") == "accounts_touchpoint_p2024_03"
    with connection.cursor() as cur:
        cur.execute("SELECT touchpoint_id, occurred_at FROM accounts_touchpoint_key WHERE external_id = 't1'")
        assert cur.fetchall() == [(touch_id, dt.datetime(2024, 3, 3, 9, tzinfo=UTC))]
    # Any other write path still cannot store the key twice, whatever the month.
    with pytest.raises(IntegrityError), transaction.atomic():
        Touchpoint.objects.create(account=accounts["A1"], kind="web_visit", source="web", external_id="t1",
                                  occurred_at=dt.datetime(2025, 7, 1, tzinfo=UTC))


@postgres_only
def test_create_moves_touches_waiting_in_default_into_their_month(accounts):
    touch = Touchpoint.objects.create(account=accounts["A1"], kind="web_visit", source="crm", external_id="x1",
                                      occurred_at=dt.datetime(2029, 2, 10, tzinfo=UTC))
    assert _where("x1") == "accounts_touchpoint_default"
    call_command("touchpoint_partitions", "create", "--ahead", "1")
    assert _where("x1") == "accounts_touchpoint_p2029_02"
    assert Touchpoint.objects.get(external_id="x1").pk == touch.pk
    # The move kept its key: the same (source, external_id) is still refused.
    with pytest.raises(IntegrityError), transaction.atomic():
        Touchpoint.objects.create(account=accounts["B1"], kind="web_visit", source="crm", external_id="x1",
                                  occurred_at=dt.datetime(2029, 3, 1, tzinfo=UTC))
    names = {p.name for p in partitions.partitions()}
    this_month = partitions.month_start(dt.datetime.now(UTC))
    following = partitions.next_month(this_month)
    assert {partitions.partition_name(this_month), partitions.partition_name(following)} <= names


@postgres_only
def test_detach_takes_the_old_months_out_and_a_later_import_stores_them_anew(accounts, import_touches, capsys):
    import_touches([("old", "2023-11-05T10:00:00Z", "A1"), ("new", "2023-12-05T10:00:00Z", "A1")])
    call_command("touchpoint_partitions", "detach", "--before", "2023-12")
    assert "accounts_touchpoint_p2023_11" in capsys.readouterr().out
    assert list(Touchpoint.objects.values_list("external_id", flat=True)) == ["new"]
    with connection.cursor() as cur:
        cur.execute("SELECT external_id FROM accounts_touchpoint_p2023_11")  # kept, out of the table
        assert cur.fetchall() == [("old",)]
    again = import_touches([("old", "2023-11-05T10:00:00Z", "A1")])
    assert again.created == 1


@postgres_only
def test_the_migration_carries_existing_rows_ids_and_sequence_over_and_reverses(accounts):
    migration = importlib.import_module("accounts.migrations.0007_touchpoint_partitions")
    editor = SimpleNamespace(connection=connection)
    migration.unpartition(None, editor)
    assert not partitions.is_partitioned()
    made = [Touchpoint.objects.create(account=accounts["A1"], kind="web_visit", source="crm", external_id=f"e{m}",
                                      occurred_at=dt.datetime(2024, m, 3, tzinfo=UTC)) for m in (1, 2)]
    migration.partition(None, editor)
    assert partitions.is_partitioned()
    assert (_where("e1"), _where("e2")) == ("accounts_touchpoint_p2024_01", "accounts_touchpoint_p2024_02")
    assert sorted(Touchpoint.objects.values_list("pk", flat=True)) == sorted(t.pk for t in made)
    # The sequence goes on from where it was, and the carried keys still refuse a duplicate.
    later = Touchpoint.objects.create(account=accounts["B1"], kind="web_visit", source="crm", external_id="e3",
                                      occurred_at=dt.datetime(2024, 2, 9, tzinfo=UTC))
    assert later.pk > max(t.pk for t in made)
    with pytest.raises(IntegrityError), transaction.atomic():
        Touchpoint.objects.create(account=accounts["B1"], kind="web_visit", source="crm", external_id="e1",
                                  occurred_at=dt.datetime(2024, 5, 9, tzinfo=UTC))
    with connection.cursor() as cur:
        cur.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'accounts_touchpoint'::regclass "
                    "AND contype = 'f' ORDER BY conname")
        foreign_keys = [r[0] for r in cur.fetchall()]
    assert len(foreign_keys) >= 3  # account, contact, program (and any added since)
    # And back: a plain table with its unique key, the rows still there.
    migration.unpartition(None, editor)
    assert not partitions.is_partitioned()
    assert Touchpoint.objects.count() == 3
    with pytest.raises(IntegrityError), transaction.atomic():
        Touchpoint.objects.create(account=accounts["B1"], kind="web_visit", source="crm", external_id="e1",
                                  occurred_at=dt.datetime(2024, 5, 9, tzinfo=UTC))


def test_the_nightly_task_makes_the_coming_months_partitions_where_there_are_partitions(db):
    from abm_dashboard.celery import app
    from accounts.tasks import create_touchpoint_partitions

    app.loader.import_default_modules()
    assert app.conf.beat_schedule["touchpoint-partitions"]["task"] == create_touchpoint_partitions.name
    created = create_touchpoint_partitions()
    if connection.vendor != "postgresql":
        assert created == []  # one plain table: nothing to make
        return
    month = partitions.month_start(dt.datetime.now(UTC))
    coming = [month]
    for _ in range(3):
        coming.append(partitions.next_month(coming[-1]))
    assert {partitions.partition_name(m) for m in coming} <= {p.name for p in partitions.partitions()}
    assert create_touchpoint_partitions() == []  # made once: the next night finds them
