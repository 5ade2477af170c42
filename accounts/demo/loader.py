"""Load generated demo data: the write side of `manage.py seed_demo`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from accounts import partitions
from accounts.models import Account, Contact, Opportunity, Program, Segment, Touchpoint
from accounts.roles import SALES

from . import vocab
from .generator import SEGMENTS, AccountBundle, DemoPlan, build_plan, generate_account
from .history import write_stage_history
from .writers import BulkWriter, CopyWriter, touchpoint_indexes_deferred

# Accounts generated and written per step: memory stays flat (a chunk is ~100k touchpoints).
CHUNK_SIZE = 1_000


class DemoDataExists(Exception):
    """The database already holds accounts, programs or segments; loading would mix or collide."""


@dataclass
class SeedResult:
    accounts: int
    target_accounts: int
    contacts: int
    segments: int
    segment_memberships: int
    programs: int
    touchpoints: int
    opportunities: int
    seconds: float


def demo_data_present() -> bool:
    return Account.objects.exists() or Program.objects.exists() or Segment.objects.exists()


def seed_demo(
    *,
    accounts: int,
    seed: int,
    days: int,
    end_date: date,
    reset: bool = False,
    progress: bool = False,
    log: Callable[[str], None] = lambda message: None,
    extra_reps: int = 0,
) -> SeedResult:
    """Generate and store the demo data set; the same arguments always store the same rows.

    Refuses (DemoDataExists) when accounts, programs or segments exist, unless `reset`, which first
    deletes every account, contact, segment, program, touchpoint and opportunity (and, through
    their cascades, the metric snapshots computed from them). `extra_reps` adds that many generated
    reps (rep.001, rep.002, …) to the owners, so a big data set gives each rep a realistic book
    (the benchmark's ≈ 200 target accounts per rep); 0 keeps the demo's four reps.
    """
    started = time.monotonic()
    with transaction.atomic():
        if demo_data_present():
            if not reset:
                raise DemoDataExists(
                    f"The database already has {Account.objects.count()} accounts, {Program.objects.count()} programs "
                    f"and {Segment.objects.count()} segments. seed_demo loads into an empty database; run it with "
                    "--reset to delete all of them (with their contacts, touchpoints and opportunities) first."
                )
            log("Deleting existing accounts, contacts, programs, segments, touchpoints and opportunities…")
            _delete_all()
        reps = _sales_reps(extra_reps)
        plan = build_plan(seed=seed, days=days, end_date=end_date, reps=tuple(u for u, _ in reps), accounts=accounts,
                          now=timezone.now())
        segments = Segment.objects.bulk_create(
            [Segment(name=s.name, description=s.description, saved_filter=s.saved_filter) for s in SEGMENTS]
        )
        segment_ids = {spec.key: segment.pk for spec, segment in zip(SEGMENTS, segments)}
        programs = Program.objects.bulk_create(
            [
                Program(
                    name=p.name, channel=p.channel, start_date=plan.day_date(p.start_day),
                    end_date=None if p.end_day is None else plan.day_date(p.end_day), cost=p.cost,
                    segment_id=segment_ids[p.segment_key] if p.segment_key else None,
                    success_kinds=list(p.success_kinds), external_id=p.external_id,
                )
                for p in plan.programs
            ]
        )
        postgres = connection.vendor == "postgresql"
        # The months' touchpoint partitions first, so COPY fills them rather than DEFAULT (accounts.partitions).
        partitions.ensure_months(partitions.months_between(plan.start_date, plan.end_date))
        writer = (CopyWriter if postgres else BulkWriter)(
            now=timezone.now(),
            owner_ids=[pk for _, pk in reps],
            program_ids=[p.pk for p in programs],
            segment_ids=segment_ids,
        )
        if postgres:
            # Check foreign keys as each COPY ends rather than queue millions of deferred checks
            # until the commit.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        result = SeedResult(0, 0, 0, len(segments), 0, len(programs), 0, 0, 0.0)
        with touchpoint_indexes_deferred() if postgres else nullcontext():
            with (
                tqdm(total=accounts, unit="acct", file=sys.stderr, disable=not progress, desc="seed_demo") as bar,
                ThreadPoolExecutor(max_workers=1) as generator,
            ):
                for bundles in _chunks(generator, plan, accounts):
                    contacts, touches, opportunities = writer.write(bundles, result.touchpoints + 1)
                    result.accounts += len(bundles)
                    result.target_accounts += sum(b.is_target for b in bundles)
                    result.segment_memberships += sum(len(b.segment_keys) for b in bundles)
                    result.contacts += contacts
                    result.touchpoints += touches
                    result.opportunities += opportunities
                    bar.update(len(bundles))
                    bar.set_postfix(touchpoints=f"{result.touchpoints:,}", refresh=False)
            if postgres:
                log("Building the touchpoint indexes and foreign keys…")
        write_stage_history(seed=seed, until_epoch=plan.until_epoch)  # for the trends page's stage funnel
        if postgres:
            # Fresh planner statistics, so the first metrics run after a big load picks the indexes.
            with connection.cursor() as cursor:
                for model in (Account, Contact, Touchpoint, Opportunity):
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    result.seconds = time.monotonic() - started
    return result


def _chunks(generator: ThreadPoolExecutor, plan: DemoPlan, accounts: int) -> Iterator[list[AccountBundle]]:
    """The accounts a chunk at a time, the next chunk generated while the caller writes this one.

    The database does most of its work while the writer waits on it, with the GIL released, so
    one background thread nearly hides the generation time. A single worker draws the chunks in
    order, so domain de-duplication (and with it the data) does not depend on timing.
    """
    taken_domains: set[str] = set()

    def generate(first: int) -> list[AccountBundle]:
        return [generate_account(plan, i, taken_domains) for i in range(first, min(accounts, first + CHUNK_SIZE))]

    starts = range(0, accounts, CHUNK_SIZE)
    pending: Future[list[AccountBundle]] = generator.submit(generate, starts[0])
    for first in starts[1:]:
        bundles = pending.result()
        pending = generator.submit(generate, first)
        yield bundles
    yield pending.result()


def _sales_reps(extra: int = 0) -> list[tuple[str, int]]:
    """The owners: every user in the "sales" group plus the generated reps, by username."""
    sales = Group.objects.get(name=SALES)
    generated = [(f"rep.{n:03d}", "Rep", f"{n:03d}") for n in range(1, extra + 1)]
    for username, first, last in (*vocab.DEMO_REPS, *generated):
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.example"}
        )
        if created:
            user.set_unusable_password()  # they own accounts; nobody logs in as them
            user.save(update_fields=["password"])
        user.groups.add(sales)
    return list(User.objects.filter(groups=sales).order_by("username").values_list("username", "pk"))


def _delete_all() -> None:
    """Delete the accounts app's rows, biggest tables first with one statement each.

    The ORM's delete would load every contact to null its touchpoints; with the touchpoints and
    memberships already gone, plain DELETEs are exact. Accounts, programs and segments go through
    the ORM so the metric snapshots that reference them cascade as the models say.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # TRUNCATE frees ten million rows at once; nothing references touchpoints.
            cursor.execute(f'TRUNCATE "{Touchpoint._meta.db_table}"')
    else:
        Touchpoint.objects.all().delete()
    Opportunity.objects.all().delete()
    with connection.cursor() as cursor:
        for model in (Segment.accounts.through, Contact):
            cursor.execute(f'DELETE FROM "{model._meta.db_table}"')
    Account.objects.all().delete()
    Program.objects.all().delete()
    Segment.objects.all().delete()
