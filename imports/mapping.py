"""A user's column mapping: which file columns feed which of our fields, constants, multipliers.

A preset (imports.presets) is a built-in mapping; a user mapping overrides it field by field:
- `map`: field → one column or several in order of preference (the first non-blank cell wins);
  one file column may feed several fields (an opportunity id as both external_id and name);
  an empty list says the file has no column for the field (it drops the preset's guess).
- `set`: field → a constant, used where the field has no column or its cell is blank
  (`source=crm`, `currency=USD`).
- `multiply`: field → a factor for numeric fields (revenue given in millions: 1000000).

The same three keys make the JSON of `--mapping FILE.json` and of a saved import profile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from imports import presets
from imports.parsing import FileRejected

# Fields whose values are numbers, so a multiplier makes sense for them.
NUMERIC_FIELDS = frozenset({"employees", "annual_revenue", "amount", "cost", "minutes", "duration_seconds"})


@dataclass
class UserMapping:
    map: dict[str, list[str]] = field(default_factory=dict)
    set: dict[str, str] = field(default_factory=dict)
    multiply: dict[str, Decimal] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.map or self.set or self.multiply)

    def to_json(self) -> dict[str, Any]:
        return {"map": {k: list(v) for k, v in self.map.items()}, "set": dict(self.set),
                "multiply": {k: str(v) for k, v in self.multiply.items()}}

    @classmethod
    def from_json(cls, data: Any, *, origin: str = "the mapping") -> UserMapping:
        """{"map": {field: column or [columns]}, "set": {field: value}, "multiply": {field: factor}}."""
        if not isinstance(data, dict):
            raise FileRejected(f"{origin} must be a JSON object with the keys map, set and multiply.")
        unknown = set(data) - {"map", "set", "multiply"}
        if unknown:
            raise FileRejected(f"{origin} has unknown keys {', '.join(sorted(unknown))}: use map, set and multiply.")
        mapping = cls()
        for name, columns in (data.get("map") or {}).items():
            columns = [columns] if isinstance(columns, str) else columns
            if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
                raise FileRejected(f"{origin}: map.{name} must be a column name or a list of column names.")
            mapping.map[name] = list(columns)
        for name, value in (data.get("set") or {}).items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise FileRejected(f"{origin}: set.{name} must be a text or a number.")
            mapping.set[name] = str(value)
        for name, factor in (data.get("multiply") or {}).items():
            mapping.multiply[name] = _factor(name, factor, origin)
        return mapping

    @classmethod
    def from_options(cls, *, maps: list[str], sets: list[str], multiplies: list[str]) -> UserMapping:
        """The command line's repeated `--map FIELD=COLUMN`, `--set FIELD=VALUE`, `--multiply FIELD=FACTOR`."""
        mapping = cls()
        for option, values in (("--map", maps), ("--set", sets), ("--multiply", multiplies)):
            for text in values:
                name, sep, value = text.partition("=")
                name = name.strip()
                if not sep or not name or (option == "--multiply" and not value.strip()):
                    raise FileRejected(f"{option} {text!r}: write FIELD=VALUE, e.g. {_EXAMPLES[option]}.")
                if option == "--map":
                    # `--map domain=` (no column): the file has none, whatever the preset guessed.
                    mapping.map.setdefault(name, [])
                    if value.strip():
                        mapping.map[name].append(value.strip())
                elif option == "--set":
                    mapping.set[name] = value
                else:
                    mapping.multiply[name] = _factor(name, value.strip(), option)
        return mapping

    def merged(self, other: UserMapping) -> UserMapping:
        """This mapping with `other`'s entries taking precedence (options over a mapping file or profile)."""
        return UserMapping(map={**self.map, **other.map}, set={**self.set, **other.set},
                           multiply={**self.multiply, **other.multiply})


_EXAMPLES = {"--map": "--map name=account", "--set": "--set currency=USD", "--multiply": "--multiply annual_revenue=1000000"}


def _factor(name: str, value: Any, origin: str) -> Decimal:
    try:
        factor = Decimal(str(value))
    except InvalidOperation as exc:
        raise FileRejected(f"{origin}: the multiplier for {name} ({value!r}) is not a number.") from exc
    if not factor.is_finite() or factor <= 0:
        raise FileRejected(f"{origin}: the multiplier for {name} must be a positive number, not {value!r}.")
    return factor


def load_mapping_file(path: Path) -> UserMapping:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise FileRejected(f"Cannot read the mapping file {path}: {exc.strerror}.") from exc
    except json.JSONDecodeError as exc:
        raise FileRejected(f"The mapping file {path} is not valid JSON (line {exc.lineno}: {exc.msg}).") from exc
    return UserMapping.from_json(data, origin=f"The mapping file {Path(path).name}")


def check_fields(user: UserMapping, kind: str) -> None:
    """Every field a user names must be one of the kind's fields; multipliers only for numbers."""
    known = presets.mappable_fields(kind)
    for section in ("map", "set", "multiply"):
        for name in getattr(user, section):
            if name not in known:
                raise FileRejected(
                    f"{section} {name}: {kind} have no field {name!r}. Fields: {', '.join(sorted(known))}."
                )
    for name in user.multiply:
        if name not in NUMERIC_FIELDS:
            numeric = sorted(NUMERIC_FIELDS & known)
            raise FileRejected(f"multiply {name}: only numbers can be multiplied ({', '.join(numeric)}).")


def column_index(header: list[str], column: str) -> int | None:
    """A column by its exact name, else case- and spacing-insensitively."""
    if column in header:
        return header.index(column)
    key = presets.header_key(column)
    matches = [i for i, h in enumerate(header) if presets.header_key(h) == key]
    return matches[0] if matches else None


def apply(base: presets.ColumnMapping, user: UserMapping, kind: str) -> presets.ColumnMapping:
    """`base` (a preset's mapping of this header) with the user's mapping laid over it."""
    columns = {name: list(idx) for name, idx in base.columns.items()}
    for name, wanted in user.map.items():
        found = []
        for column in wanted:
            idx = column_index(base.header, column)
            if idx is None:
                raise FileRejected(
                    f"map {name}={column}: the file has no column {column!r}. Columns: {', '.join(base.header)}."
                )
            found.append(idx)
        if found:
            columns[name] = found
        else:
            columns.pop(name, None)
    # A column the user gave to one field no longer feeds another field through the preset's guess,
    # unless the user mapped it there too (one column may feed several fields on purpose).
    claimed = {i for name in user.map for i in columns.get(name, [])}
    for name in list(columns):
        if name not in user.map:
            columns[name] = [i for i in columns[name] if i not in claimed]
            if not columns[name]:
                del columns[name]
    mapping = presets.ColumnMapping(preset=base.preset, columns=columns, header=base.header,
                                    constants=dict(user.set), multipliers=dict(user.multiply))
    mapping.missing = presets.missing_fields(mapping, kind)
    return mapping


def choose(header: list[str], kind: str, preset: str, user: UserMapping | None) -> presets.ColumnMapping:
    """Like presets.choose_mapping, with the user's mapping laid over each candidate preset first."""
    if not user:
        return presets.choose_mapping(header, kind, preset)
    check_fields(user, kind)
    names = presets.PRESETS if preset == "auto" else (preset,)
    return presets.best_of([apply(presets.map_columns(header, kind, p), user, kind) for p in names])


# Column names that real exports use for our fields, beyond the presets' aliases: the mapping
# step pre-fills from these, then from close spellings (difflib), so a new layout needs few clicks.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "record id", "opportunity_id", "deal_id", "account_id", "contact_id", "uuid", "key"),
    "name": ("name", "account", "company", "company name", "organisation", "organization", "deal", "title",
             "opportunity"),
    "account_name": ("account", "account name", "company", "company name", "organisation", "organization",
                     "customer"),
    "account_domain": ("account domain", "company domain", "website", "domain"),
    "account_external_id": ("account id", "accountid", "company id", "account_external_id"),
    "industry": ("industry", "sector", "vertical"),
    "annual_revenue": ("revenue", "annual revenue", "turnover", "arr"),
    "employees": ("employees", "headcount", "employee count", "size", "staff"),
    "country": ("country", "office_location", "location", "hq country", "region"),
    "domain": ("domain", "website", "url", "web"),
    "owner_email": ("owner", "owner email", "account owner", "sales_agent", "rep"),
    "stage": ("stage", "deal_stage", "status", "pipeline stage"),
    "amount": ("amount", "value", "close_value", "deal value", "price", "acv"),
    "created_at": ("created", "created_at", "create date", "engage_date", "open date", "start date"),
    "close_date": ("close_date", "close date", "closed", "closed_at", "expected close"),
    "email": ("email", "e-mail", "email address", "mail"),
    "first_name": ("first name", "firstname", "given name"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "title": ("title", "job title", "position"),
    "role": ("role", "buying role", "contact role"),
    "occurred_at": ("date", "timestamp", "occurred", "activity date", "time"),
    "kind": ("type", "activity type", "event type", "kind"),
    "contact_email": ("email", "contact email", "person email"),
}


def suggest(header: list[str], kind: str, base: presets.ColumnMapping) -> dict[str, list[str]]:
    """A column per field for the mapping step: the preset's, else a synonym's, else a close name."""
    import difflib

    chosen = {name: [base.header[i] for i in idx] for name, idx in base.columns.items()}
    taken = {c for columns in chosen.values() for c in columns}
    keys = {presets.header_key(h)[0]: h for h in header}
    for name in presets.NATIVE[kind]:
        if name in chosen:
            continue
        candidates = [presets.header_key(s)[0] for s in (name, *SYNONYMS.get(name, ()))]
        found = next((keys[c] for c in candidates if c in keys and keys[c] not in taken), None)
        if found is None:
            close = difflib.get_close_matches(presets.header_key(name)[0], [k for k, h in keys.items()
                                                                             if h not in taken], n=1, cutoff=0.85)
            found = keys[close[0]] if close else None
        if found is not None:
            chosen[name] = [found]
            taken.add(found)
    return chosen
