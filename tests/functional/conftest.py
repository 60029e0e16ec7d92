"""Fixtures of the functional tests (the AWS side lives in tests/conftest.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest


class FrozenClock:
    """chalicelib.clock frozen at a known time; tests (and helpers.confirm) move it forward."""

    def __init__(self):
        from chalicelib.platform import clock

        self._clock = clock
        # Noon of today: a test that moves the clock on by minutes stays on the same report day
        # whenever it runs (one run at 23:59 once counted a send on one day and asked for the next).
        clock.set_now(datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0))

    @property
    def now(self) -> datetime:
        return self._clock.now()

    def advance(self, seconds: float) -> datetime:
        return self.set(self.now + timedelta(seconds=seconds))

    def set(self, at: datetime) -> datetime:
        self._clock.set_now(at)
        return at


@pytest.fixture
def clock():
    from chalicelib.platform import clock as app_clock

    try:
        yield FrozenClock()
    finally:
        app_clock.set_now(None)


@pytest.fixture
def asks_resolved_of_any_owner(stack, monkeypatch):
    """The stage asks "resolved?"; owners are short names with no lead behind them (any owner)."""
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_OWNERS_ANY_ADDRESS", "true")
    monkeypatch.setenv("CLOSELOOP_ASK_RESOLVED", "true")
    config.reset_settings()
