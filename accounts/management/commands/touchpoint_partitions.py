"""`manage.py touchpoint_partitions`: list, create ahead and detach the monthly touchpoint
partitions on PostgreSQL (accounts/partitions.py; docs/operations.md, "Touchpoint partitions")."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from accounts import partitions


def _month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError as err:
        raise CommandError(f"--before must be a month, YYYY-MM, not {value!r}") from err


class Command(BaseCommand):
    help = (
        "PostgreSQL's monthly touchpoint partitions. list: each partition, its months and rows. create: this "
        "month's and the next --ahead months' partitions, and the months of any touches waiting in the DEFAULT "
        "partition (moved into them). detach --before YYYY-MM: take the months before that one out of the table "
        "(the tables stay, to archive or drop)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="The partitions, oldest first, with their (estimated) rows.")
        create = sub.add_parser("create", help="Create the coming months' partitions; split DEFAULT's rows out.")
        create.add_argument("--ahead", type=int, default=3, help="Months after this one to create (default 3).")
        detach = sub.add_parser("detach", help="Detach the months before --before from the table.")
        detach.add_argument("--before", type=_month, required=True, help="First month to keep, YYYY-MM.")

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(f"Touchpoints are partitioned on PostgreSQL only; this database is {connection.vendor}, "
                               "where they are one plain table.")
        if not partitions.is_partitioned():
            raise CommandError("accounts_touchpoint is not partitioned: run `manage.py migrate accounts` first.")
        action = options["action"]
        if action == "list":
            for p in partitions.partitions():
                span = "DEFAULT (months without a partition)" if p.start is None else f"{p.start:%Y-%m}"
                self.stdout.write(f"{p.name}\t{span}\t~{p.rows} rows")
            waiting = partitions.months_in_default()
            if waiting:
                self.stdout.write(f"DEFAULT holds touches of {', '.join(f'{m:%Y-%m}' for m in waiting)}: "
                                  "run `touchpoint_partitions create` to move them into their months.")
            return
        if action == "create":
            if options["ahead"] < 0:
                raise CommandError("--ahead must be 0 or more.")
            with transaction.atomic():
                partitions.lock()
                created = partitions.create_ahead(today=timezone.now().date(), months=options["ahead"])
            self.stdout.write(f"Created {len(created)} partition(s): {', '.join(created)}" if created
                              else "Every partition already exists.")
            return
        with transaction.atomic():
            partitions.lock()
            detached = partitions.detach_before(options["before"])
            waiting = [m for m in partitions.months_in_default() if m < options["before"]]
        if detached:
            self.stdout.write(f"Detached {len(detached)} partition(s): {', '.join(detached)}. The tables remain: "
                              "archive them (pg_dump -t NAME) and drop them when you no longer need them.")
        else:
            self.stdout.write(f"No partition ends before {options['before']:%Y-%m}.")
        if waiting:
            self.stdout.write(f"DEFAULT still holds touches of {', '.join(f'{m:%Y-%m}' for m in waiting)}: run "
                              "`touchpoint_partitions create` first to give them partitions, then detach again.")
