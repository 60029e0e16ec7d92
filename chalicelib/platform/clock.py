"""The current time, in one place so tests can move it."""
from __future__ import annotations

from datetime import datetime, time, timezone

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen or datetime.now(timezone.utc)


def set_now(value: datetime | None) -> None:
    """Freeze the clock at `value` (tests only); None lets it run again."""
    global _frozen
    _frozen = value


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_hhmm(value: str) -> time:
    """'09:00' -> time(9, 0); raises ValueError on anything else."""
    hours, sep, minutes = value.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError("must be a time of day as HH:MM, e.g. 09:00")
    return time(int(hours), int(minutes))
