"""Reading CSV text into typed values: encodings, delimiters, dates, amounts, booleans.

The rules (docs/import.md states them for users):
- Encoding, decided in this order:
  1. An encoding the user picks (a Python codec name) is used as given.
  2. A byte-order mark is honoured: UTF-8, UTF-16 LE/BE and UTF-32 LE/BE files are read.
  3. UTF-16 / UTF-32 without a BOM is told by its NUL bytes (in UTF-16 LE every odd byte of ASCII
     text is 0), else by charset-normalizer.
  4. A file whose first MiB is valid UTF-8 is UTF-8.
  5. A file that holds UTF-8 text (a valid multi-byte sequence) and an invalid byte is UTF-8 with a
     stray byte: refused, naming the byte, its offset and line. It is never read as Windows-1252,
     which would garble every accent in it ("MÃ¼ller AG").
  6. A file with no UTF-8 text at all is read as Windows-1252 when charset-normalizer rates the
     Windows-1252 reading as clean as its best one ("Windows-1252 (detected: …)"), and refused,
     asking for the encoding, otherwise. charset-normalizer's single best guess is not used as such:
     on short Western CSVs it names cp1250 or cp775 and reads "Müller" as "M³ller" and "Crème" as
     "Crčme". Windows-1252 is what Excel on Western Windows writes ("CSV (comma delimited)"), and it
     covers Latin-1's printable characters. UTF-8 text found later in such a file refuses it (mixed
     encodings). Known gap: a Mac Roman file can read as clean Windows-1252 with wrong letters
     ("MŸller"); the label and the preview show it, and picking the encoding reads it right.
  Every byte that does not decode in the encoding refuses the file with its offset and line, also
  beyond the first MiB and also in a picked encoding.
- CSV: `,`, `;` or tab, whichever the header uses most; strict quoting. A quote never closed, a
  field over FIELD_LIMIT (how a quote never closed shows in a big file), text after a closing
  quote, a line over LINE_LIMIT and a row with more non-empty cells than the header refuse the
  file with the line. Fewer cells are fine (exporters drop trailing empty columns). NUL characters
  reach the caller in the cells; the import makes each a row error (NUL_REASON).
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
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import charset_normalizer

SNIFF_BYTES = 1 << 20
# Python's default limit (128 KiB) is the size of one full Salesforce long text area. A field past
# 1 MiB is a quote never closed swallowing the file; the limit also caps what such a file holds in
# memory. csv.field_size_limit is process-wide: this raises it for every reader in the process.
FIELD_LIMIT = 1 << 20
csv.field_size_limit(FIELD_LIMIT)
# Lines are read whole before the CSV parser sees them: this caps one line's memory when a file
# has no line breaks the decoder knows (a wrong encoding, a binary file).
LINE_LIMIT = 8 << 20

COMMON_ENCODINGS = ("utf-8", "utf-16", "cp1252", "latin-1", "iso-8859-15", "mac-roman", "shift_jis")
NUL_REASON = "contains a NUL byte (\\x00)"


class FileRejected(Exception):
    """The file as a whole cannot be read (empty, wrong encoding, malformed CSV, no usable header)."""


@dataclass(frozen=True)
class Encoding:
    codec: str
    label: str  # what the summary says
    # "detected": a BOM, the NUL pattern of UTF-16/32 or valid UTF-8. "guessed": a legacy encoding
    # inferred from the bytes, so reading also refuses UTF-8 text further on. "chosen": the user's.
    how: Literal["detected", "guessed", "chosen"] = "detected"


_NAMES = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE",
    "utf-32": "UTF-32", "utf-32-le": "UTF-32 LE", "utf-32-be": "UTF-32 BE", "cp1252": "Windows-1252",
}
_BOMS = (
    # UTF-32 LE first: its BOM starts with UTF-16 LE's.
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 LE with BOM"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 BE with BOM"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE with BOM"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE with BOM"),
)
# A well-formed UTF-8 multi-byte sequence: UTF-8 text. In a legacy file such pairs (say "Ã©") are
# almost always UTF-8 that was mixed in.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def detect_encoding(path: Path, chosen: str | None = None) -> Encoding:
    """The file's encoding: `chosen` (a Python codec name the user picked) or detected from the first
    MiB by the rules in the module docstring. Bytes of that MiB that do not decode refuse the file."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head:
        raise FileRejected("The file is empty.")
    whole = len(head) < SNIFF_BYTES
    encoding = _chosen(chosen) if chosen else _detected(path, head, whole)
    skip, codec = _plain_codec(encoding.codec, head)
    try:
        # An incremental decoder tolerates a character cut at the end of the sample.
        text = codecs.getincrementaldecoder(codec)().decode(head[skip:], final=whole)
    except UnicodeDecodeError:
        raise _undecodable(path, encoding) from None
    if not text.strip("\ufeff \r\n\t"):
        raise FileRejected("The file is empty.")
    return encoding


def _chosen(name: str) -> Encoding:
    try:
        codec = codecs.lookup(name.strip()).name
        b"x".decode(codec, "ignore")  # refuses codecs that are not text encodings (base64, rot13, zip)
    except LookupError:
        raise FileRejected(
            f"Unknown encoding {name!r}: use a Python codec name such as {', '.join(COMMON_ENCODINGS)}."
        ) from None
    # A UTF-8 BOM is not data, whoever names the encoding.
    return Encoding("utf-8-sig" if codec == "utf-8" else codec, f"{name.strip()} (chosen)", how="chosen")


def _detected(path: Path, head: bytes, whole: bool) -> Encoding:
    for bom, codec, label in _BOMS:
        if head.startswith(bom):
            return Encoding(codec, label)
    wide = _wide_codec(head)
    if wide:
        return Encoding(wide, f"{_NAMES[wide]} (detected, no BOM)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
        return Encoding("utf-8-sig", "UTF-8")
    except UnicodeDecodeError:
        pass
    if _UTF8_SEQUENCE.search(head):
        raise _undecodable(path, Encoding("utf-8-sig", "UTF-8"))
    return _legacy(path, head)


def _wide_codec(head: bytes) -> str | None:
    """UTF-16 or UTF-32 without a BOM, told by NUL bytes in the first KiB: the header, digits and
    delimiters are ASCII, whose UTF-16 LE form is the byte then 0 (`a\\0,\\0`)."""
    sample = head[:1024]
    for width, family in ((4, "utf-32"), (2, "utf-16")):
        units = len(sample) // width
        if units < 8:
            continue
        zeros = [sample[i:units * width:width].count(0) for i in range(width)]
        for endian, zero_at, never_zero in (("le", width - 1, 0), ("be", 0, width - 1)):
            # ASCII and Latin-1 text: the high byte of every unit is 0 and the low byte is not.
            mostly = zeros[zero_at] >= units * 0.9 if width == 4 else zeros[zero_at] >= units / 3
            if mostly and zeros[never_zero] <= units / 20:
                codec = f"{family}-{endian}"
                try:
                    codecs.getincrementaldecoder(codec)().decode(sample[:units * width])
                except UnicodeDecodeError:
                    continue
                return codec
    return None


def _legacy(path: Path, head: bytes) -> Encoding:
    """No UTF-8 text in the first MiB: Windows-1252 if charset-normalizer finds it as clean a
    reading as any (see the module docstring for why not simply its best guess), else refused."""
    if head.startswith(b"PK\x03\x04") or head.count(0) > len(head) // 100:
        raise FileRejected(
            "The file is not text: it looks like a zip archive or another binary file (a workbook such as .xlsx?). "
            "Save it as CSV UTF-8."
        )
    matches = charset_normalizer.from_bytes(head)
    best = matches.best()
    if best is not None and best.encoding.startswith(("utf_16", "utf_32")):
        codec = codecs.lookup(best.encoding).name
        return Encoding(codec, f"{_NAMES.get(codec, codec)} (detected, no BOM)")
    if best is not None and any("cp1252" in m.could_be_from_charset and m.chaos <= best.chaos for m in matches):
        return Encoding("cp1252", "Windows-1252 (detected: the file is not UTF-8)", how="guessed")
    offset, line, _ = _locate(path, "utf-8", 0)
    hint = f" (it looks most like {codecs.lookup(best.encoding).name})" if best is not None else ""
    raise FileRejected(
        f"The file is not UTF-8 (byte 0x{_bytes_at(path, offset, 1).hex()} at offset {offset}, line {line}) and its "
        f"encoding is not clear{hint}. Pick its encoding (such as {', '.join(COMMON_ENCODINGS[2:])}), "
        "or save it as UTF-8."
    )


def _plain_codec(codec: str, head: bytes) -> tuple[int, str]:
    """(length of the BOM, codec that does not look for one): reading skips the BOM itself so the
    offsets of bad bytes are exact, and UTF-16/32 without a BOM gets its byte order from its NULs."""
    name = codecs.lookup(codec).name
    if name in ("utf-8", "utf-8-sig"):
        return (len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0), "utf-8"
    if name in ("utf-16", "utf-32"):
        boms = ((codecs.BOM_UTF16_LE, "le"), (codecs.BOM_UTF16_BE, "be")) if name == "utf-16" else (
            (codecs.BOM_UTF32_LE, "le"), (codecs.BOM_UTF32_BE, "be"))
        for bom, endian in boms:
            if head.startswith(bom):
                return len(bom), f"{name}-{endian}"
        wide = _wide_codec(head)
        return 0, wide if wide and wide.startswith(name) else f"{name}-le"
    return 0, name


class _LineCount:
    """Physical lines as csv.reader over a newline="" text file counts them: \\n, \\r\\n or \\r end one."""

    def __init__(self) -> None:
        self.breaks = 0
        self._cr = False

    def feed(self, text: str) -> None:
        if text:
            self.breaks += text.count("\n") + text.count("\r") - text.count("\r\n") - (self._cr and text[0] == "\n")
            self._cr = text[-1] == "\r"

    @property
    def line(self) -> int:
        return self.breaks + 1


def _locate(path: Path, codec: str, skip: int, stop: int | None = None) -> tuple[int, int, bool]:
    """(offset, line, undecodable): the first byte from `skip` on that does not decode in `codec`, or
    `stop` if that comes first. Streamed: only runs once a file is known to be bad."""
    decoder = codecs.getincrementaldecoder(codec)()
    lines = _LineCount()
    pos = skip
    with path.open("rb") as fh:
        fh.seek(skip)
        while True:
            chunk = fh.read(SNIFF_BYTES)
            if stop is not None:
                chunk = chunk[:max(0, stop - pos)]
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.object is what the decoder held over from earlier reads, then this chunk.
                lines.feed(exc.object[:exc.start].decode(codec, "replace"))
                return pos + len(chunk) - len(exc.object) + exc.start, lines.line, True
            lines.feed(text)
            pos += len(chunk)
            if not chunk:
                return pos, lines.line, False


def _bytes_at(path: Path, offset: int, count: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read(count)


def _undecodable(path: Path, encoding: Encoding, *, mixed_at: int | None = None) -> FileRejected:
    """The rejection for a byte that does not decode (or, in a guessed legacy file, UTF-8 text at `mixed_at`)."""
    skip, codec = _plain_codec(encoding.codec, _bytes_at(path, 0, 1024))
    offset, line, undecodable = _locate(path, codec, skip, stop=mixed_at)
    if encoding.how == "chosen":
        name = encoding.label.removesuffix(" (chosen)")
        return FileRejected(
            f"The file is not valid {name} (the encoding picked): byte 0x{_bytes_at(path, offset, 1).hex()} at "
            f"offset {offset} (line {line}). Pick another encoding, or save the file as UTF-8."
        )
    name = _NAMES.get(encoding.codec, encoding.codec)
    if not undecodable and mixed_at is not None:
        found = _UTF8_SEQUENCE.match(_bytes_at(path, offset, 4))
        sequence = " ".join(f"0x{b:02x}" for b in (found.group() if found else b""))
        return FileRejected(
            f"The file is not valid {name}: at offset {offset} (line {line}) it holds UTF-8 text ({sequence}), so it "
            "mixes encodings. Save it as UTF-8, or pick its encoding."
        )
    where = f": byte 0x{_bytes_at(path, offset, 1).hex()} at offset {offset} (line {line})" if undecodable else ""
    return FileRejected(f"The file is not valid {name}{where}. Save it as UTF-8, or pick its encoding.")


class _MixedEncoding(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class _Utf8Guard(io.RawIOBase):
    """The bytes of a file guessed to be Windows-1252, checked as they are read: UTF-8 text anywhere
    in it raises _MixedEncoding with its offset (the first MiB was checked by detect_encoding)."""

    def __init__(self, raw: io.FileIO) -> None:
        self._raw = raw
        self._pos = raw.tell()
        self._tail = b""  # a sequence may straddle two reads

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)
        if n:
            window = self._tail + bytes(memoryview(buffer)[:n])
            found = _UTF8_SEQUENCE.search(window)
            if found:
                raise _MixedEncoding(self._pos - len(self._tail) + found.start())
            self._pos += n
            self._tail = window[-3:]
        return n


class CsvSource:
    """One pass over a CSV file: the header, then (line number, cells) per data row, streamed.

    Decoding (io.TextIOWrapper) and parsing (csv.reader) run in C over 64 KiB reads, so memory
    stays flat for any file size. A byte that does not decode stops the reading; the file is then
    scanned again from the start to name the byte's offset and line. Progress is the share of
    bytes read.
    """

    def __init__(self, path: Path, encoding: Encoding) -> None:
        self.path = path
        self.encoding = encoding
        self.size = path.stat().st_size
        self._file = path.open("rb", buffering=0)
        try:
            self._open()
        except BaseException:
            self._file.close()
            raise

    def _open(self) -> None:
        skip, codec = _plain_codec(self.encoding.codec, self._file.read(1024))
        self._file.seek(skip)
        raw = _Utf8Guard(self._file) if self.encoding.how == "guessed" else self._file
        self._text = io.TextIOWrapper(io.BufferedReader(raw, 1 << 16), encoding=codec, newline="")
        lines = self._lines()
        try:
            first = next(lines, "")
        except (UnicodeDecodeError, _MixedEncoding) as exc:
            raise self._rejection(exc, 1) from exc
        if not first:
            raise FileRejected("The file is empty.")
        self.delimiter = _delimiter(first)
        self._reader = csv.reader(itertools.chain([first], lines), delimiter=self.delimiter, strict=True)
        try:
            header = next(self._reader, None)
        except (csv.Error, UnicodeDecodeError, _MixedEncoding) as exc:
            raise self._rejection(exc, 1) from exc
        if header is None:
            raise FileRejected("The file is empty.")
        self.header = [h.strip() for h in header]
        if not any(self.header):
            raise FileRejected("The first line (the header) is empty.")

    def _lines(self) -> Iterator[str]:
        readline = self._text.readline
        number = 0
        while line := readline(LINE_LIMIT):
            number += 1
            if len(line) == LINE_LIMIT and line[-1] not in "\r\n":
                raise FileRejected(
                    f"Line {number} is longer than {LINE_LIMIT >> 20} MiB: the file has no line breaks there "
                    "(is it a CSV file, in this encoding?)."
                )
            yield line

    @property
    def fraction_read(self) -> float:
        return min(1.0, self._file.tell() / self.size) if self.size else 1.0

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Data rows with the file line they start on (the header is line 1), cells as read (NULs
        included: the import reports them, NUL_REASON); blank lines skipped. Refuses the file (FileRejected) at a bad
        byte, a malformed quote or a row wider than the header."""
        reader, width = self._reader, len(self.header)
        start = reader.line_num + 1
        try:
            for cells in reader:
                if len(cells) > width:
                    self._check_width(cells, start)
                if any(cells):
                    yield start, cells
                start = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError, _MixedEncoding) as exc:
            raise self._rejection(exc, start) from exc

    def _check_width(self, cells: list[str], start: int) -> None:
        """More cells than the header means values moved into the wrong columns (an unquoted
        delimiter in a value); trailing empty cells (a delimiter at the end of each row) are harmless."""
        width = len(self.header)
        used = len(cells)
        while used > width and not cells[used - 1]:
            used -= 1
        if used > width:
            delimiter = {",": "comma", ";": "semicolon", "\t": "tab"}[self.delimiter]
            raise FileRejected(
                f"Line {start}: the row has {len(cells)} cells but the header has {width} columns. "
                f"A value that holds a {delimiter} must be in double quotes."
            )

    def _rejection(self, exc: Exception, start: int) -> FileRejected:
        if isinstance(exc, _MixedEncoding):
            return _undecodable(self.path, self.encoding, mixed_at=exc.offset)
        if isinstance(exc, UnicodeDecodeError):
            return _undecodable(self.path, self.encoding)
        return _malformed(str(exc), start, self._reader.line_num)

    def close(self) -> None:
        if hasattr(self, "_text"):
            self._text.close()
        self._file.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _malformed(error: str, start: int, line: int) -> FileRejected:
    """csv.Error (strict mode) in words, at the line the row starts on."""
    unclosed = 'a quoted field starts here and is never closed (unclosed " quote)'
    if error == "unexpected end of data":
        return FileRejected(f"Line {start}: {unclosed}; it runs to the end of the file.")
    if error.startswith("field larger than field limit"):
        return FileRejected(f"Line {start}: a field is longer than {FIELD_LIMIT >> 20} MiB; most likely {unclosed}.")
    if "expected after '\"'" in error:
        if line > start:
            return FileRejected(
                f'Line {start}: {unclosed} before line {line}, where a " ends it and more text follows.'
            )
        return FileRejected(
            f'Line {start}: a quoted value is followed by more text in the same cell; write a " inside a '
            'quoted value as "".'
        )
    return FileRejected(f"Line {start}: the CSV is malformed ({error}).")


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
