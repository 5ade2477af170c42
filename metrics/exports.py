"""The day's snapshots as flat rows for CSV / JSON export, named exactly as METRICS.md.

The figure columns of every level, their order and their encoding come from the registry
(metrics.figures): booleans true/false, shares 0–1, percentiles 0–100, journey stages lower case;
an undefined figure (e.g. focus with no successes) is empty in CSV and null in JSON. The account
list's CSV (dashboard) and `export_metrics --level account` both write ACCOUNT_TABLE, so they have
the same columns in the same order with the same encodings.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from django.db.models import Model, QuerySet

from metrics.figures import Figure, Level, export_figures
from metrics.models import (
    AccountSnapshot,
    AttributionCredit,
    ChannelSnapshot,
    ContactSnapshot,
    OutcomeGroup,
    ProgramSnapshot,
    SegmentSnapshot,
)

LEVELS = ("account", "segment", "program", "channel", "influence", "contact")


@dataclass(frozen=True)
class Key:
    """A column that says which row this is (day, account, names), not a figure."""

    column: str
    source: str  # a values() lookup on the level's model
    if_null: str | None = None


@dataclass(frozen=True)
class Table:
    """One export level: its key columns, then the registry's figures of its level."""

    model: type[Model]
    level: Level
    keys: tuple[Key, ...]
    ordering: tuple[str, ...]

    @property
    def figures(self) -> list[Figure]:
        return export_figures(self.level)

    @property
    def columns(self) -> list[str]:
        return [k.column for k in self.keys] + [f.column for f in self.figures]

    def rows(self, snapshots: QuerySet) -> Iterator[dict[str, Any]]:
        """The rows of `snapshots` (already filtered and ordered), encoded; streamed in chunks."""
        keys, figures = self.keys, self.figures
        values = snapshots.values_list(*[k.source for k in keys], *[f.name for f in figures])
        for row in values.iterator(chunk_size=2000):
            out = {k.column: k.if_null if v is None else v for k, v in zip(keys, row)}
            out.update((f.column, f.encode(v)) for f, v in zip(figures, row[len(keys):]))
            yield out

    def of_day(self, as_of: date) -> QuerySet:
        return self.model.objects.filter(as_of=as_of).order_by(*self.ordering)


AS_OF = Key("as_of", "as_of")
PROGRAM_KEYS = (
    Key("program_external_id", "program__external_id"),
    Key("program", "program__name"),
    Key("channel", "program__channel"),
)

ACCOUNT_TABLE = Table(
    AccountSnapshot,
    Level.ACCOUNT,
    (
        AS_OF,
        Key("account_id", "account_id"),
        Key("account_external_id", "account__external_id"),
        Key("account", "account__name"),
        Key("domain", "account__domain"),
        Key("tier", "account__tier"),
        Key("owner", "account__owner__username"),
        Key("is_target", "account__is_target"),
        # The account's ICP fit score (0–100) from the latest fit run, not a figure of the day (fit/).
        Key("fit_score", "account__fit__score"),
    ),
    ("account__external_id", "account_id"),
)
SEGMENT_TABLE = Table(
    # segment None is the whole target list.
    SegmentSnapshot, Level.SEGMENT, (AS_OF, Key("segment", "segment__name", "All target accounts")), ("segment__name",)
)
PROGRAM_TABLE = Table(ProgramSnapshot, Level.PROGRAM, (AS_OF, *PROGRAM_KEYS), ("program__name", "program_id"))
CHANNEL_TABLE = Table(ChannelSnapshot, Level.CHANNEL, (AS_OF, Key("channel", "channel")), ("channel",))
# The influence level is one table of two kinds of rows: `record` says which columns apply.
OUTCOME_TABLE = Table(
    OutcomeGroup, Level.OUTCOME, (AS_OF, Key("dimension", "dimension"), Key("group", "group")), ("dimension", "group")
)
CREDIT_TABLE = Table(
    AttributionCredit,
    Level.ATTRIBUTION,
    (AS_OF, *PROGRAM_KEYS, Key("model", "model"), Key("basis", "basis")),
    ("basis", "model", "program__name", "program_id"),
)


class PeopleTable(Table):
    """The contact level: people's figures (METRICS.md "People") are not in the registry of
    account figures, so every column is a key read as it is stored. No names, emails or phones:
    a row names its contact by external id, for any role to export."""

    @property
    def figures(self) -> list[Figure]:
        return []


CONTACT_TABLE = PeopleTable(
    ContactSnapshot,
    Level.ACCOUNT,
    (
        AS_OF,
        Key("contact_external_id", "contact__external_id"),
        Key("account_external_id", "account__external_id"),
        Key("minutes_7d", "minutes_7d"),
        Key("minutes_30d", "minutes_30d"),
        Key("minutes_90d", "minutes_90d"),
        Key("minutes_prev_30d", "minutes_prev_30d"),
        Key("touches_90d", "touches_90d"),
        Key("last_touch_at", "last_touch_at"),
    ),
    ("account__external_id", "account_id", "contact__external_id", "contact_id"),
)
TABLES: dict[str, Table] = {
    "account": ACCOUNT_TABLE, "segment": SEGMENT_TABLE, "program": PROGRAM_TABLE, "channel": CHANNEL_TABLE,
    "contact": CONTACT_TABLE,
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# An international phone number (+44 20 7946 0958, +1 (555) 010-1234): digits and separators
# only, so nothing a spreadsheet could run; the call list's phones import as they are.
_PHONE = re.compile(r"\+[0-9][0-9 ().-]{5,}")


def export_rows(*, level: str, as_of: date) -> tuple[list[str], list[dict[str, Any]]]:
    """(column names, rows) of one level for one day."""
    if level in TABLES:
        table = TABLES[level]
        return table.columns, list(table.rows(table.of_day(as_of)))
    if level == "influence":
        columns = ["record", *OUTCOME_TABLE.columns]
        columns += [c for c in CREDIT_TABLE.columns if c not in columns]
        rows = [{"record": "outcome", **r} for r in OUTCOME_TABLE.rows(OUTCOME_TABLE.of_day(as_of))]
        rows += [{"record": "attribution", **r} for r in CREDIT_TABLE.rows(CREDIT_TABLE.of_day(as_of))]
        return columns, rows
    raise ValueError(f"level must be one of {', '.join(LEVELS)}")


def csv_value(value: Any) -> str:
    """One CSV field: booleans true/false, empty for None, and no formula injection.

    A text starting with = + - @ (or tab / carriage return) would run as a formula in a
    spreadsheet, so it gets a leading apostrophe. Numbers are never text here, so a negative
    number keeps its sign.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        # Text a spreadsheet would run as a formula (CSV injection) is quoted as text.
        return "'" + value if value.startswith(_FORMULA_START) and not _PHONE.fullmatch(value) else value
    return str(value)


class _Line:
    """A file-like that hands back what the csv writer writes: one CSV line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: list[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The header and one line per row, for writing or streaming (the account list's download)."""
    writer = csv.writer(_Line(), lineterminator="\n")
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([csv_value(row.get(column)) for column in columns])


def write_csv(out: IO[str], columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    for line in csv_lines(columns, rows):
        out.write(line)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(out: IO[str], columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    out.write(json.dumps([{c: row.get(c) for c in columns} for row in rows], default=_json_default, indent=1) + "\n")
