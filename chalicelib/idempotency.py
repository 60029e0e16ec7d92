"""Once-only steps for handlers that may run more than once for the same event.

Events arrive at least once, and a handler can die between doing something and writing down that
it did. Each side effect is therefore a named step on a stored item: a conditional write takes a
lease on the step, the side effect runs, and a second write marks the step done. A duplicate
delivery finds the step done and skips it; a concurrent one finds the lease and backs off.

What happens when a lease expired without the step being marked done (the worker died inside the
side effect) is the caller's choice: `retry` repeats it (alerts: better twice than never; the
window is one network round trip), `give_up` raises StepInterrupted (survey sends: never twice).
"""
from __future__ import annotations

from typing import Callable, Literal, Optional, TypeVar

from chalicelib import clock
from chalicelib.storage import Store

T = TypeVar("T")


class StepInterrupted(Exception):
    """An earlier attempt died inside the step; its outcome is unknown."""


def run_once(store: Store, pk: str, sk: str, step: str, action: Callable[[], T], *,
             lease_seconds: int = 120, if_interrupted: Literal["retry", "give_up"] = "retry",
             complete: Optional[Callable[[T], None]] = None) -> Optional[T]:
    """Run `action` unless the step is already done; returns its result, or None if skipped.

    `complete` records the result and must mark the step done (by default only the mark is written),
    so callers can store what the step produced in the same write.
    """
    claim = store.claim_step(pk, sk, step, clock.now(), lease_seconds)
    if claim == "done":
        return None
    if claim == "expired" and if_interrupted == "give_up":
        raise StepInterrupted(f"an earlier attempt at {step} stopped midway")
    try:
        result = action()
    except BaseException:
        store.release_step(pk, sk, step)
        raise
    if complete is None:
        store.complete_step(pk, sk, step, clock.now())
    else:
        complete(result)
    return result
