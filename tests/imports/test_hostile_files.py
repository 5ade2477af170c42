"""Hostile files (issue 11): each encoding is read or refused saying where; no quote swallows the
file; a row never has more cells than the header; NUL bytes reach the caller as cells.

These test imports.parsing directly: detect_encoding() then CsvSource.rows(), which is all the
import reads a file through.
"""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import pytest

from imports.parsing import SNIFF_BYTES, CsvSource, Encoding, FileRejected, detect_encoding, parse_datetime
from imports.services import import_csv
from tests.imports.conftest import table_counts

HEADER = "external_id,name,domain,country\n"
BODY = "A1,Müller AG,mueller.de,Österreich\nA2,Société Générale,sg.fr,France\nA3,株式会社東京,tokyo.jp,日本\n"
ROWS = [
    (2, ["A1", "Müller AG", "mueller.de", "Österreich"]),
    (3, ["A2", "Société Générale", "sg.fr", "France"]),
    (4, ["A3", "株式会社東京", "tokyo.jp", "日本"]),
]


@pytest.fixture
def write(tmp_path: Path):
    def write(data: bytes) -> Path:
        path = tmp_path / "file.csv"
        path.write_bytes(data)
        return path

    return write


def _read(path: Path, chosen: str | None = None) -> tuple[Encoding, list[str], list[tuple[int, list[str]]]]:
    encoding = detect_encoding(path, chosen)
    with CsvSource(path, encoding) as source:
        return encoding, source.header, list(source.rows())


def _refusal(path: Path, chosen: str | None = None) -> str:
    with pytest.raises(FileRejected) as exc:
        _read(path, chosen)
    return str(exc.value)


# --- encodings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("codec, label", [
    ("utf-16-le", "UTF-16 LE (detected, no BOM)"),
    ("utf-16-be", "UTF-16 BE (detected, no BOM)"),
])
def test_utf16_without_a_bom_is_detected_and_read(write, codec, label):
    encoding, header, rows = _read(write((HEADER + BODY).encode(codec)))
    assert (encoding.codec, encoding.label) == (codec, label)
    assert header == ["external_id", "name", "domain", "country"]
    assert rows == ROWS


@pytest.mark.parametrize("data, label", [
    ((HEADER + BODY).encode("utf-8-sig"), "UTF-8 with BOM"),
    ((HEADER + BODY).encode("utf-16"), "UTF-16 LE with BOM"),  # Python writes little-endian with a BOM
    (codecs.BOM_UTF16_BE + (HEADER + BODY).encode("utf-16-be"), "UTF-16 BE with BOM"),
    ((HEADER + BODY).encode("utf-32"), "UTF-32 LE with BOM"),
    (codecs.BOM_UTF32_BE + (HEADER + BODY).encode("utf-32-be"), "UTF-32 BE with BOM"),
])
def test_a_bom_is_honoured_and_not_part_of_the_first_column(write, data, label):
    encoding, header, rows = _read(write(data))
    assert encoding.label == label
    assert header[0] == "external_id"
    assert rows == ROWS


def test_utf8_with_one_stray_byte_is_refused_naming_byte_offset_and_line(write):
    # The operator's file: UTF-8 names, then one row typed in Windows-1252. Reading it all as
    # Windows-1252 would store "MÃ¼ller AG".
    good = (HEADER + BODY).encode()
    path = write(good + b"A4,M\xfcller KG,mk.de,\n")
    assert _refusal(path) == (
        f"The file is not valid UTF-8: byte 0xfc at offset {len(good) + 4} (line 5). "
        "Save it as UTF-8, or pick its encoding."
    )


def test_a_stray_byte_after_the_first_mib_is_refused_while_reading_with_its_offset_and_line(write):
    good = (HEADER + "".join(f"A{i},Müller {i:06d} padding padding padding,m{i}.de,DE\n" for i in range(25000))).encode()
    assert len(good) > SNIFF_BYTES
    path = write(good + "B1,Soci\u00e9t\u00e9,b.fr,\n".encode("latin-1"))
    assert detect_encoding(path).label == "UTF-8"  # the first MiB is clean
    assert _refusal(path) == (
        f"The file is not valid UTF-8: byte 0xe9 at offset {len(good) + 7} (line 25002). "
        "Save it as UTF-8, or pick its encoding."
    )


def test_a_picked_encoding_reads_a_cp1252_file(write):
    path = write((HEADER + "A1,Crème brûlée “Café” – 5 €,cafe.fr,France\n").encode("cp1252"))
    encoding, _, rows = _read(path, "cp1252")
    assert (encoding.codec, encoding.label) == ("cp1252", "cp1252 (chosen)")
    assert rows == [(2, ["A1", "Crème brûlée “Café” – 5 €", "cafe.fr", "France"])]


def test_a_picked_encoding_still_refuses_bytes_it_cannot_decode(write):
    good = (HEADER + "A1,Crème,c.fr,France\n").encode("cp1252")
    path = write(good + b"A2,\x81,x.fr,\n")  # 0x81 is unassigned in Windows-1252
    assert _refusal(path, "cp1252") == (
        f"The file is not valid cp1252 (the encoding picked): byte 0x81 at offset {len(good) + 3} (line 3). "
        "Pick another encoding, or save the file as UTF-8."
    )


@pytest.mark.parametrize("name", ["klingon", "base64"])  # base64 is a codec, but not a text encoding
def test_an_unknown_encoding_is_refused_naming_common_ones(write, name):
    assert _refusal(write(HEADER.encode()), name) == (
        f"Unknown encoding {name!r}: use a Python codec name such as "
        "utf-8, utf-16, cp1252, latin-1, iso-8859-15, mac-roman, shift_jis."
    )


ACCOUNTS = "external_id,name,domain,industry,employees,annual_revenue,country,owner_email,tier,is_target,segments\n"


@pytest.mark.parametrize("text, name", [
    # charset-normalizer's best guesses for these files are cp775 ("M³ller AG") and cp1250
    # (Hungarian: "Crčme brűlée"); Windows-1252 reads them as cleanly and is taken.
    (ACCOUNTS + "A1,Müller AG,mueller.de,,,,Deutschland,,,,\n", "Müller AG"),
    (ACCOUNTS + "".join(f"A{i},Müller & Söhne GmbH {i},m{i}.de,Maschinenbau,,,Österreich,,,,\n" for i in range(50))
     + "A99,Crème brûlée “Café”,c.fr,,,,France,,,,\n", "Crème brûlée “Café”"),
])
def test_a_file_with_no_utf8_at_all_is_read_as_windows_1252(write, text, name):
    encoding, _, rows = _read(write(text.encode("cp1252")))
    assert (encoding.codec, encoding.label, encoding.how) == (
        "cp1252", "Windows-1252 (detected: the file is not UTF-8)", "guessed")
    assert rows[-1][1][1] == name
    assert rows[0][1][1] in ("Müller AG", "Müller & Söhne GmbH 0")


def test_a_legacy_file_that_does_not_read_as_windows_1252_asks_for_its_encoding(write):
    path = write((HEADER + "A1,ООО Ромашка,romashka.ru,Россия\n").encode("cp1251"))
    message = _refusal(path)
    assert message.startswith(f"The file is not UTF-8 (byte 0xce at offset {len(HEADER) + 3}, line 2)")
    assert message.endswith("Pick its encoding (such as cp1252, latin-1, iso-8859-15, mac-roman, shift_jis), "
                            "or save it as UTF-8.")
    assert _read(path, "cp1251")[2] == [(2, ["A1", "ООО Ромашка", "romashka.ru", "Россия"])]


def test_utf8_text_after_the_first_mib_of_a_windows_1252_file_refuses_it(write):
    legacy = (HEADER + "".join(f"A{i},Müller {i:06d} padding padding,m{i}.de,DE\n" for i in range(30000))).encode("cp1252")
    assert len(legacy) > SNIFF_BYTES
    path = write(legacy + "B1,Müller,b.de,\n".encode())
    assert detect_encoding(path).how == "guessed"
    assert _refusal(path) == (
        f"The file is not valid Windows-1252: at offset {len(legacy) + 4} (line 30002) it holds UTF-8 text "
        "(0xc3 0xbc), so it mixes encodings. Save it as UTF-8, or pick its encoding."
    )


def test_a_workbook_saved_as_csv_is_refused(write):
    path = write(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 8)
    assert _refusal(path).startswith("The file is not text: it looks like a zip archive or another binary file")


# --- malformed CSV ------------------------------------------------------------------------------

def test_an_unclosed_quote_is_refused_with_its_line_instead_of_swallowing_the_file(write):
    path = write(b'external_id,name,domain,tier\nUQ-1,"Unclosed,uq1.example,1\nUQ-2,ok,uq2.example,1')
    assert _refusal(path) == (
        'Line 2: a quoted field starts here and is never closed (unclosed " quote); it runs to the end of the file.'
    )


def test_an_unclosed_quote_in_a_big_file_stops_at_the_field_limit(write):
    rows = "".join(f"A{i},Account {i},a{i}.com,DE\n" for i in range(60000))
    path = write((HEADER + 'A0,"never closed,a0.com,DE\n' + rows).encode())
    assert path.stat().st_size > 1 << 20
    assert _refusal(path) == (
        'Line 2: a field is longer than 1 MiB; most likely a quoted field starts here and is never closed '
        '(unclosed " quote).'
    )


def test_an_unclosed_quote_ended_by_a_later_one_is_refused_with_both_lines(write):
    path = write((HEADER + 'A1,"never closed,a.com,DE\nA2,b,b.com,DE\nA3,"quoted" more,c.com,DE\n').encode())
    assert _refusal(path) == (
        'Line 2: a quoted field starts here and is never closed (unclosed " quote) before line 4, '
        'where a " ends it and more text follows.'
    )


def test_text_after_a_closing_quote_is_refused(write):
    path = write((HEADER + 'A1,"Acme" Inc,acme.com,US\n').encode())
    assert _refusal(path) == (
        'Line 2: a quoted value is followed by more text in the same cell; write a " inside a quoted value as "".'
    )


def test_a_line_without_end_is_refused_before_it_fills_memory(write):
    path = write((HEADER + "A1," + "x" * (9 << 20)).encode())
    assert _refusal(path) == (
        "Line 2 is longer than 8 MiB: the file has no line breaks there (is it a CSV file, in this encoding?)."
    )


def test_a_row_with_more_cells_than_the_header_is_refused(write):
    path = write((HEADER + "A1,Acme,acme.com,US\nA2,Acme, Inc,acme.org,US\n").encode())
    assert _refusal(path) == (
        "Line 3: the row has 5 cells but the header has 4 columns. A value that holds a comma must be in double quotes."
    )


def test_fewer_cells_and_trailing_empty_cells_are_read(write):
    # Exporters drop trailing empty columns, and some end every row with a delimiter.
    path = write((HEADER + "A1,Acme\nA2,Beta,beta.io,US,,\n").encode())
    assert _read(path)[2] == [(2, ["A1", "Acme"]), (3, ["A2", "Beta", "beta.io", "US", "", ""])]


def test_quoted_line_breaks_crlf_and_semicolons_keep_line_numbers(write):
    text = 'external_id;name;domain\r\nA1;"Acme\r\nEurope";acme.eu\r\n\r\nA2;"Beta ""B""";beta.io\r\n'
    header, rows = _read(write(text.encode()))[1:]
    assert header == ["external_id", "name", "domain"]
    assert rows == [(2, ["A1", "Acme\r\nEurope", "acme.eu"]), (5, ["A2", 'Beta "B"', "beta.io"])]


# --- NUL bytes ----------------------------------------------------------------------------------

def test_a_nul_byte_reaches_the_caller_in_its_cell(write):
    path = write((HEADER + "A1,Ac\x00me,acme.com,US\nA2,Beta,beta.io,\x00\n").encode())
    encoding, _, rows = _read(path)
    assert encoding.label == "UTF-8"  # a few NULs do not make a file UTF-16
    assert rows == [(2, ["A1", "Ac\x00me", "acme.com", "US"]), (3, ["A2", "Beta", "beta.io", "\x00"])]


@pytest.mark.django_db
def test_a_nul_byte_is_a_row_error_naming_its_column_and_nothing_is_written(write):
    before = table_counts()
    result = import_csv(kind="accounts", path=write((HEADER + "A1,Ac\x00me,acme.com,US\nA2,Beta,beta.io,DE\n").encode()))
    assert [(e.row, e.column, e.reason) for e in result.errors] == [(2, "name", "contains a NUL byte (\\x00)")]
    assert table_counts() == before


@pytest.mark.django_db
def test_a_nul_byte_in_a_touchpoint_is_a_row_error(write):
    text = ("external_id,source,kind,occurred_at,account_external_id\n"
            "t1,crm,web_visit,2024-01-05,A\x001\n")
    result = import_csv(kind="touchpoints", path=write(text.encode()))
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (2, "account_external_id", "contains a NUL byte (\\x00)")]


# --- progress and dates -------------------------------------------------------------------------

def test_progress_is_the_share_of_bytes_read(write):
    path = write((HEADER + "".join(f"A{i},Account {i},a{i}.com,DE\n" for i in range(50000))).encode())
    with CsvSource(path, detect_encoding(path)) as source:
        rows = source.rows()
        next(rows)
        assert 0 < source.fraction_read < 0.2
        for _ in rows:
            pass
        assert source.fraction_read == 1.0


@pytest.mark.parametrize("text, expected", [
    ("0001-01-01", dt.datetime(1, 1, 1, tzinfo=dt.UTC)),
    ("0001-01-01T00:00:00+02:00", dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ("9999-12-31T23:00:00-05:00", dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
])
def test_dates_at_the_ends_of_the_calendar_parse_for_the_range_rules_to_refuse(text, expected):
    # Converting these to UTC overflows; accounts.services' rules compare before converting.
    parsed = parse_datetime(text, dt.UTC)
    assert (parsed, parsed.utcoffset()) == (expected, expected.utcoffset())
