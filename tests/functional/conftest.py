"""Fixtures of the functional tests (the AWS side lives in tests/conftest.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest


class FrozenClock:
    """chalicelib.clock frozen at a known time; tests (and helpers.confirm) move it forward."""

    def __init__(self):
        from chalicelib.platform import clock

        self._clock = clock
        clock.set_now(datetime.now(timezone.utc).replace(microsecond=0))

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
