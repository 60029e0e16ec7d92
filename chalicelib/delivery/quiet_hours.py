"""SMS quiet hours: the next instant a text may go out, by the recipient's local wall clock.

Pure and clock-free. The window is [start, end) in local wall time of the zone: a send at
exactly `end` is outside. Correct across daylight-saving changes by construction: candidate
local wall times (today's or tomorrow's `start`) are converted to UTC with fold=0 and checked
with a round trip; a start that falls in a spring-forward gap moves to the first instant that
exists after the gap, and a start inside a fall-back fold is its first occurrence.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


def is_allowed(at: datetime, tz: str, start: time, end: time) -> bool:
    wall = _aware(at).astimezone(ZoneInfo(tz)).time().replace(tzinfo=None)
    return start <= wall < end


def next_allowed(at: datetime, tz: str, start: time, end: time) -> datetime:
    """`at` (as UTC) when inside [start, end) local time in `tz`, else the next window start."""
    if not start < end:
        raise ValueError("quiet hours need start < end")
    at = _aware(at).astimezone(timezone.utc)
    if is_allowed(at, tz, start, end):
        return at
    zone = ZoneInfo(tz)
    today = at.astimezone(zone).date()
    # Today's start if it is still ahead, else tomorrow's (the window never straddles midnight).
    for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
        candidate = _local_instant(day, start, zone)
        if candidate > at:
            return candidate
    raise AssertionError("unreachable: a window start exists every day")  # pragma: no cover


def _local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time `wall` on `day` in `zone`.

    fold=0 picks the first occurrence of an ambiguous (fall-back) time. A nonexistent time (in a
    spring-forward gap) does not survive the round trip; the first existing instant at or after
    it is then the end of the gap, found minute by minute (gaps are at most a few hours).
    """
    local = datetime.combine(day, wall, tzinfo=zone).replace(fold=0)
    instant = local.astimezone(timezone.utc)
    if _round_trips(instant, local, zone):
        return instant
    # In a gap. Read with the offset after the change (fold=1) the wall time lands before the
    # change, with the offset before it (fold=0) after it: the change lies between the two. The
    # first instant at or after `wall` that day is the change itself, the gap's end.
    target = local.replace(tzinfo=None)
    step = local.replace(fold=1).astimezone(timezone.utc).replace(second=0, microsecond=0)
    while step < instant:
        if step.astimezone(zone).replace(tzinfo=None) >= target:
            return step
        step += timedelta(minutes=1)
    return instant


def _round_trips(instant: datetime, local: datetime, zone: ZoneInfo) -> bool:
    back = instant.astimezone(zone)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs an aware datetime")
    return value
