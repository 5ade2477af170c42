"""Reading CSV text into typed values: encodings, delimiters, dates, amounts, booleans.

The rules (docs/import.md states them for users):
- Encoding: UTF-8 with or without BOM. When the first MiB is not valid UTF-8 the file is read
  as Windows-1252 (a superset of Latin-1's printable characters) and the summary says so; a file
  that starts as UTF-8 and breaks later is rejected with the line of the bad byte. UTF-16 is rejected.
- Dates: ISO 8601 (`2024-03-05`, `2024-03-05T14:30:00Z`, `+02:00` offsets, a space instead of
  `T`, a trailing ` UTC`); slashes are US (`03/05/2024` = 5 March); dots are EU (`05.03.2024` =
  5 March). A value without an offset is in the import's time zone (UTC unless --timezone).
- Amounts: currency symbols / codes and spaces are dropped; when both `,` and `.` occur the
  last one is the decimal separator (`$1,234.50`, `1.234,50 €`); a lone `,` followed by exactly
  three digits groups thousands (`1,234` = 1234), otherwise it is the decimal separator (`12,5`);
  several dots group thousands (`1.234.567`), one dot is the decimal separator.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

SNIFF_BYTES = 1 << 20


class FileRejected(Exception):
    """The file as a whole cannot be read (empty, wrong encoding, no usable header)."""


@dataclass(frozen=True)
class Encoding:
    codec: str
    label: str  # what the summary says


def detect_encoding(path: Path) -> Encoding:
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise FileRejected("The file is empty.")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected("The file is UTF-16; save it as UTF-8 (CSV UTF-8 in Excel) and upload it again.")
    if head.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", "UTF-8 with BOM")
    try:
        # An incremental decoder tolerates a multi-byte character cut at the end of the sample.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
        return Encoding("utf-8-sig", "UTF-8")
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"The file is neither UTF-8 nor Windows-1252/Latin-1 (byte 0x{head[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8."
        ) from exc
    return Encoding("cp1252", "Windows-1252 / Latin-1 (detected: not valid UTF-8)")


class CsvSource:
    """One pass over a CSV file: the header, then (line number, cells) per data row, streamed.

    Lines are decoded one at a time so a bad byte is reported with its exact line, and progress
    is the share of bytes read.
    """

    def __init__(self, path: Path, encoding: Encoding) -> None:
        self.path = path
        self.encoding = encoding
        self.size = path.stat().st_size
        self._raw = path.open("rb", buffering=1 << 16)
        self.consumed = 0
        self.physical_line = 0
        lines = self._decoded_lines()
        try:
            first = next(lines)
        except StopIteration as exc:
            raise FileRejected("The file is empty.") from exc
        self.delimiter = _delimiter(first)
        self._reader = csv.reader(_chain_first(first, lines), delimiter=self.delimiter)
        try:
            self.header = [h.strip() for h in next(self._reader)]
        except StopIteration as exc:
            raise FileRejected("The file is empty.") from exc
        if not any(self.header):
            raise FileRejected("The first line (the header) is empty.")

    def _decoded_lines(self) -> Iterator[str]:
        codec = self.encoding.codec
        first = True
        for raw in self._raw:
            self.consumed += len(raw)
            self.physical_line += 1
            try:
                yield raw.decode(codec if first else codec.replace("-sig", ""))
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    f"The file is not valid UTF-8 at line {self.physical_line} (byte 0x{raw[exc.start]:02x}); "
                    "save it as UTF-8."
                ) from exc
            first = False

    @property
    def fraction_read(self) -> float:
        return min(1.0, self.consumed / self.size) if self.size else 1.0

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Data rows with the file line they start on (the header is line 1); blank lines skipped."""
        try:
            start = self.physical_line + 1
            for cells in self._reader:
                if cells and any(cells):
                    yield start, cells
                start = self.physical_line + 1
        except csv.Error as exc:
            raise FileRejected(f"Line {self.physical_line}: the CSV is malformed ({exc}).") from exc

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# --- values ------------------------------------------------------------------------------------

_TRUE = {"true", "t", "yes", "y", "1", "x", "checked"}
_FALSE = {"false", "f", "no", "n", "0", ""}


def parse_bool(value: str) -> bool | None:
    """'' → None (not given); true/yes/1/x → True; false/no/0 → False; else ValueError."""
    key = value.strip().lower()
    if not key:
        return None
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{value!r} is not true or false")


_PLAIN = re.compile(r"^-?\d+(?:\.\d+)?$")
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
_AMOUNT_NOISE = re.compile(r"[A-Za-z$€£¥₹\s\u00a0\u202f']")


def parse_amount(value: str) -> tuple[Decimal | None, str | None]:
    """'$1,234.50' → (Decimal('1234.50'), 'USD'); '1.234,50 €' → (Decimal('1234.50'), 'EUR')."""
    text = value.strip()
    if not text:
        return None, None
    if _PLAIN.match(text):
        return Decimal(text), None
    currency = None
    for symbol, code in _SYMBOLS.items():
        if symbol in text:
            currency = code
    code = re.search(r"\b([A-Z]{3})\b", text)
    if code:
        currency = code.group(1)
    negative = text.startswith("(") and text.endswith(")")
    number = _AMOUNT_NOISE.sub("", text.strip("()"))
    if "," in number and "." in number:
        decimal_sep = "," if number.rfind(",") > number.rfind(".") else "."
        number = number.replace("." if decimal_sep == "," else ",", "").replace(",", ".")
    elif "," in number:
        groups = number.split(",")
        if len(groups) > 1 and all(len(g) == 3 and g.isdigit() for g in groups[1:]):
            number = "".join(groups)
        elif len(groups) == 2:
            number = number.replace(",", ".")
        else:
            raise ValueError(f"{value!r} is not an amount")
    elif number.count(".") > 1:
        number = number.replace(".", "")
    try:
        amount = Decimal(number)
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not an amount") from exc
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    return (-amount if negative else amount), currency


def parse_int(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    try:
        amount, _ = parse_amount(text)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a whole number") from exc
    if amount is None or amount != amount.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(amount)


_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$")
_EU = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_datetime(value: str, tz: dt.tzinfo) -> dt.datetime | None:
    """Any supported form → an aware datetime (naive values are in `tz`); '' → None."""
    text = value.strip()
    if not text:
        return None
    try:
        # The fast path for ISO 8601, which is what nearly every export writes.
        parsed = dt.datetime.fromisoformat(text.removesuffix(" UTC").removesuffix(" GMT"))
    except ValueError:
        parsed = _parse_local_formats(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _parse_local_formats(text: str) -> dt.datetime:
    for pattern, order in ((_US, "us"), (_EU, "eu")):
        m = pattern.match(text)
        if not m:
            continue
        first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        month, day = (first, second) if order == "us" else (second, first)
        hour = int(m.group(4) or 0)
        minute = int(m.group(5) or 0)
        second_ = int(m.group(6) or 0)
        if order == "us" and m.group(7):
            meridiem = m.group(7).lower()
            if not 1 <= hour <= 12:
                break
            hour = hour % 12 + (12 if meridiem == "pm" else 0)
        try:
            return dt.datetime(year, month, day, hour, minute, second_)
        except ValueError:
            break
    raise ValueError(f"{text!r} is not a date (use ISO 2024-03-05, US 03/05/2024 or EU 05.03.2024)")


def parse_date(value: str, tz: dt.tzinfo) -> dt.date | None:
    text = value.strip()
    if not text:
        return None
    if len(text) == 10 and text[4] == "-":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    moment = parse_datetime(text, tz)
    return moment.date() if moment else None


def timezone_named(name: str | None) -> dt.tzinfo:
    if not name or name.upper() == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise FileRejected(f"Unknown time zone {name!r} (use an IANA name such as Europe/Berlin).") from exc
