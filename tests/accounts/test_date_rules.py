"""Dates outside a sane range are refused by the *_clean rules the import and the API share (issue 11)."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from accounts.services import InvalidRecord, opportunity_clean, program_clean, touchpoint_clean

UTC = dt.UTC
NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)
PLUS_2 = dt.timezone(dt.timedelta(hours=2))
MINUS_5 = dt.timezone(dt.timedelta(hours=-5))


def _problems(clean, **data) -> list[tuple[str, str]]:
    try:
        clean(data=data)
    except InvalidRecord as exc:
        return [(p.field, p.reason) for p in exc.problems]
    return []


def _touch(occurred_at: dt.datetime) -> list[tuple[str, str]]:
    return _problems(touchpoint_clean, kind="web_visit", occurred_at=occurred_at, source="web", external_id="t1")


def _deal(created_at: dt.datetime, closed_at: dt.datetime | None = None) -> list[tuple[str, str]]:
    return _problems(opportunity_clean, name="Deal", created_at=created_at, closed_at=closed_at,
                     is_closed=closed_at is not None, is_won=False)


def _program(start: dt.date | None, end: dt.date | None = None) -> list[tuple[str, str]]:
    return _problems(program_clean, name="Webinar", channel="webinar", start_date=start, end_date=end)


# --- touchpoints: from 1990-01-01 UTC to one day after now ----------------------------------------

@freeze_time(NOW)
@pytest.mark.parametrize("occurred_at, problems", [
    (dt.datetime(1990, 1, 1, tzinfo=UTC), []),
    (dt.datetime(1990, 1, 1, tzinfo=UTC) - SECOND, [("occurred_at", "1989-12-31 is before 1990-01-01; check the date format")]),
    # 01:00 at +02:00 is 23:00 UTC the day before: the bound is in UTC.
    (dt.datetime(1990, 1, 1, 1, 0, tzinfo=PLUS_2), [("occurred_at", "1989-12-31 is before 1990-01-01; check the date format")]),
    (dt.datetime(1, 1, 1, tzinfo=PLUS_2), [("occurred_at", "0001-01-01 is before 1990-01-01; check the date format")]),
    (NOW + dt.timedelta(days=1), []),
    (NOW + dt.timedelta(days=1) + SECOND, [
        ("occurred_at", "is more than a day in the future (2026-05-02); check the date format or time zone")]),
    (dt.datetime(2031, 5, 2, tzinfo=UTC), [
        ("occurred_at", "is more than a day in the future (2031-05-02); check the date format or time zone")]),
    (dt.datetime(9999, 12, 31, 23, tzinfo=MINUS_5), [
        ("occurred_at", "is more than a day in the future (9999-12-31); check the date format or time zone")]),
])
def test_touchpoint_dates_must_lie_between_1990_and_tomorrow(occurred_at, problems):
    assert _touch(occurred_at) == problems


@freeze_time(NOW)
def test_an_accepted_touchpoint_date_is_stored_in_utc():
    clean = touchpoint_clean(data={"kind": "web_visit", "occurred_at": dt.datetime(2026, 5, 2, 14, tzinfo=PLUS_2),
                                   "source": "web", "external_id": "t1"})
    assert clean["occurred_at"] == dt.datetime(2026, 5, 2, 12, tzinfo=UTC)
    assert clean["occurred_at"].tzinfo == UTC


# --- opportunities: from 1990-01-01, never closed before created -----------------------------------

@pytest.mark.parametrize("created_at, problems", [
    (dt.datetime(1990, 1, 1, tzinfo=UTC), []),
    (dt.datetime(1990, 1, 1, tzinfo=UTC) - SECOND, [("created_at", "1989-12-31 is before 1990-01-01; check the date format")]),
    (dt.datetime(1, 1, 1, tzinfo=PLUS_2), [("created_at", "0001-01-01 is before 1990-01-01; check the date format")]),
    (dt.datetime(9999, 12, 31, 23, tzinfo=MINUS_5), [("created_at", "is after 9999-12-31 in UTC")]),
])
def test_opportunity_created_at_must_be_from_1990_on(created_at, problems):
    assert _deal(created_at) == problems


def test_opportunity_closed_at_must_be_from_1990_on():
    created = dt.datetime(2024, 3, 5, tzinfo=UTC)
    assert _deal(created, dt.datetime(1, 1, 1, tzinfo=UTC)) == [
        ("closed_at", "0001-01-01 is before 1990-01-01; check the date format")]


@pytest.mark.parametrize("created_at, closed_at, problems", [
    (dt.datetime(2024, 3, 5, 9, 30, tzinfo=UTC), dt.datetime(2024, 1, 2, tzinfo=UTC), [
        ("closed_at", "closed_at 2024-01-02 is before created_at 2024-03-05")]),
    (dt.datetime(2024, 3, 5, 9, 30, tzinfo=UTC), dt.datetime(2024, 3, 5, 9, 30, tzinfo=UTC), []),
    # A close date is a day (midnight): a deal created at 14:00 and closed that day is fine...
    (dt.datetime(2024, 3, 5, 14, 0, tzinfo=UTC), dt.datetime(2024, 3, 5, tzinfo=UTC), []),
    # ...also when the day is Berlin's, whose midnight is 23:00 UTC the day before.
    (dt.datetime(2024, 3, 5, 22, 0, tzinfo=UTC), dt.datetime(2024, 3, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))), []),
    # Closed on the day before it was created: refused.
    (dt.datetime(2024, 3, 5, tzinfo=UTC), dt.datetime(2024, 3, 4, tzinfo=UTC), [
        ("closed_at", "closed_at 2024-03-04 is before created_at 2024-03-05")]),
])
def test_an_opportunity_is_not_closed_before_it_was_created(created_at, closed_at, problems):
    assert _deal(created_at, closed_at) == problems


# --- programs: from 1990-01-01 -------------------------------------------------------------------

@pytest.mark.parametrize("start, end, problems", [
    (dt.date(1990, 1, 1), dt.date(1990, 1, 2), []),
    (dt.date(1989, 12, 31), None, [("start_date", "1989-12-31 is before 1990-01-01; check the date format")]),
    (None, dt.date(1, 1, 1), [("end_date", "0001-01-01 is before 1990-01-01; check the date format")]),
    (dt.date(2024, 3, 5), dt.date(2024, 3, 4), [("end_date", "is before start_date")]),
])
def test_program_dates_must_be_from_1990_on(start, end, problems):
    assert _program(start, end) == problems
