"""SMS quiet hours (chalicelib/delivery/quiet_hours.py): the next allowed instant, across DST changes."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.delivery.quiet_hours import is_allowed, next_allowed
from chalicelib.platform.clock import parse_hhmm
from chalicelib.platform.settings import Settings

START, END = time(9, 0), time(20, 0)
NY, LONDON, LORD_HOWE = "America/New_York", "Europe/London", "Australia/Lord_Howe"


def local(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def wall(at: datetime, tz: str) -> tuple:
    here = at.astimezone(ZoneInfo(tz))
    return here.date(), here.time(), here.utcoffset()


def test_inside_the_window_is_unchanged():
    at = local(NY, 2026, 6, 10, 14, 30).astimezone(timezone.utc)
    assert next_allowed(at, NY, START, END) == at
    assert next_allowed(at, NY, START, END).tzinfo == timezone.utc


def test_exactly_start_is_allowed():
    at = local(NY, 2026, 6, 10, 9, 0)
    assert next_allowed(at, NY, START, END) == at


def test_before_start_moves_to_the_same_day_start():
    result = next_allowed(local(NY, 2026, 6, 10, 6, 15), NY, START, END)
    assert result == utc(2026, 6, 10, 13, 0)  # 09:00 EDT
    assert result.tzinfo == timezone.utc


def test_after_end_moves_to_the_next_day_start():
    result = next_allowed(local(NY, 2026, 6, 10, 23, 0), NY, START, END)
    assert wall(result, NY)[:2] == (datetime(2026, 6, 11).date(), time(9, 0))


def test_exactly_end_is_deferred():
    at = local(NY, 2026, 6, 10, 20, 0)
    assert not is_allowed(at, NY, START, END)
    assert next_allowed(at, NY, START, END) == local(NY, 2026, 6, 11, 9, 0)
    just_before = at - timedelta(seconds=1)
    assert next_allowed(just_before, NY, START, END) == just_before


def test_late_utc_evening_is_judged_by_the_local_day():
    # 02:00 UTC on the 11th is 22:00 on the 10th in New York: next start is 09:00 on the 11th.
    assert next_allowed(utc(2026, 6, 11, 2, 0), NY, START, END) == utc(2026, 6, 11, 13, 0)


@pytest.mark.parametrize("tz, night_before, expected_utc, offset_hours", [
    # Spring forward: New York 2026-03-08 02:00 EST -> 03:00 EDT; London 2026-03-29 01:00 GMT -> 02:00 BST.
    (NY, (2026, 3, 7, 23, 0), utc(2026, 3, 8, 13, 0), -4),
    (LONDON, (2026, 3, 28, 23, 0), utc(2026, 3, 29, 8, 0), 1),
    # Fall back: New York 2026-11-01 02:00 EDT -> 01:00 EST; London 2026-10-25 02:00 BST -> 01:00 GMT.
    (NY, (2026, 10, 31, 23, 0), utc(2026, 11, 1, 14, 0), -5),
    (LONDON, (2026, 10, 24, 23, 0), utc(2026, 10, 25, 9, 0), 0),
])
def test_dst_change_days_give_nine_local(tz, night_before, expected_utc, offset_hours):
    result = next_allowed(local(tz, *night_before), tz, START, END)
    assert result == expected_utc
    here = result.astimezone(ZoneInfo(tz))
    assert here.time() == time(9, 0)
    assert here.utcoffset() == timedelta(hours=offset_hours)


def test_nine_local_on_both_sides_of_a_change():
    # The day before and the day after spring-forward: the UTC instant moves by an hour, 09:00 stays.
    before = next_allowed(local(NY, 2026, 3, 7, 5, 0), NY, START, END)
    after = next_allowed(local(NY, 2026, 3, 9, 5, 0), NY, START, END)
    assert before == utc(2026, 3, 7, 14, 0) and after == utc(2026, 3, 9, 13, 0)
    assert before.astimezone(ZoneInfo(NY)).time() == after.astimezone(ZoneInfo(NY)).time() == time(9, 0)


def test_during_the_repeated_hour_of_fall_back():
    # 01:30 occurs twice in New York on 2026-11-01; both are before 09:00 EST.
    first = local(NY, 2026, 11, 1, 1, 30).replace(fold=0)
    second = local(NY, 2026, 11, 1, 1, 30).replace(fold=1)
    assert first.astimezone(timezone.utc) + timedelta(hours=1) == second.astimezone(timezone.utc)
    assert next_allowed(first, NY, START, END) == next_allowed(second, NY, START, END) == utc(2026, 11, 1, 14, 0)


def test_a_window_start_in_the_spring_forward_gap_is_the_gap_end():
    # A window starting 02:30: on 2026-03-08 New York has no 02:30; the first instant after is 03:00 EDT.
    result = next_allowed(local(NY, 2026, 3, 8, 0, 30), NY, time(2, 30), time(20, 0))
    assert result == utc(2026, 3, 8, 7, 0)
    assert result.astimezone(ZoneInfo(NY)).time() == time(3, 0)


def test_a_window_start_in_the_fall_back_fold_is_its_first_occurrence():
    result = next_allowed(local(NY, 2026, 11, 1, 0, 30), NY, time(1, 30), time(20, 0))
    assert result == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, the first of the two
    assert result.astimezone(ZoneInfo(NY)).utcoffset() == timedelta(hours=-4)


def test_a_zone_with_a_thirty_minute_shift():
    # Lord Howe Island: 2026-10-04 02:00 +10:30 -> 02:30 +11:00.
    result = next_allowed(local(LORD_HOWE, 2026, 10, 3, 22, 0), LORD_HOWE, START, END)
    assert result == utc(2026, 10, 3, 22, 0)  # 09:00 +11:00
    here = result.astimezone(ZoneInfo(LORD_HOWE))
    assert here.time() == time(9, 0) and here.utcoffset() == timedelta(hours=11)
    # The day before, 09:00 was still at +10:30.
    assert next_allowed(local(LORD_HOWE, 2026, 10, 2, 22, 0), LORD_HOWE, START, END) == utc(2026, 10, 2, 22, 30)
    # A window starting in its half-hour gap begins at the gap's end, 02:30 +11:00.
    gap = next_allowed(local(LORD_HOWE, 2026, 10, 4, 0, 0), LORD_HOWE, time(2, 15), END)
    assert gap.astimezone(ZoneInfo(LORD_HOWE)).time() == time(2, 30)


def test_needs_an_aware_datetime_and_an_ordered_window():
    with pytest.raises(ValueError):
        next_allowed(datetime(2026, 6, 10, 12, 0), NY, START, END)
    with pytest.raises(ValueError):
        next_allowed(utc(2026, 6, 10, 12, 0), NY, END, START)


def test_parse_hhmm():
    assert parse_hhmm("09:00") == time(9, 0) and parse_hhmm("20:30") == time(20, 30)
    for bad in ("9:00", "24:00", "09:60", "0900", "ab:cd", ""):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


def test_settings_defaults_and_validation():
    settings = Settings()
    assert (settings.sms_quiet_start, settings.sms_quiet_end, settings.default_timezone) == ("09:00", "20:00", "UTC")
    assert Settings(default_timezone="America/New_York").default_timezone == "America/New_York"
    for bad in ({"sms_quiet_start": "20:00", "sms_quiet_end": "09:00"}, {"sms_quiet_start": "9am"},
                {"sms_quiet_end": "09:00"}, {"default_timezone": "Mars/Olympus"}):
        with pytest.raises(ValueError):
            Settings(**bad)


def _survey(channel: str, tz: str | None):
    from chalicelib.surveys.model import Channel, Customer, Survey

    fields = {name: None for name in Survey.model_fields}
    survey = Survey.model_construct(**fields)
    survey.channel = Channel(channel)
    survey.customer = Customer(id="cus_1", phone="+14155550123", email="ada@example.com", timezone=tz)
    return survey


def test_sms_window_delay_uses_the_customer_zone_else_the_stage_default():
    from chalicelib.delivery import sms_window_delay

    now = utc(2026, 6, 10, 3, 0)  # 23:00 in New York, 03:00 in UTC, 05:00 in Berlin
    settings = Settings(default_timezone="Europe/Berlin")
    assert sms_window_delay(_survey("sms", NY), now, settings) == 10 * 3600        # 09:00 EDT = 13:00 UTC
    assert sms_window_delay(_survey("sms", None), now, settings) == 4 * 3600       # 09:00 CEST = 07:00 UTC
    assert sms_window_delay(_survey("sms", None), now, Settings()) == 6 * 3600     # 09:00 UTC
    assert sms_window_delay(_survey("email", NY), now, settings) == 0
    assert sms_window_delay(_survey("sms", NY), now, Settings(sms_quiet_hours_enabled=False)) == 0
