"""Once-only steps for handlers that may run more than once for the same event.

Events arrive at least once, and a handler can die between doing something and writing down that
it did. Each side effect is therefore a named step on a stored item: a conditional write takes a
lease on the step, the side effect runs, and a second write marks the step done. A duplicate
delivery finds the step done and skips it; a concurrent one finds the lease and backs off.

What happens when a lease expired without the step being marked done (the worker died inside the
side effect) is the caller's choice: `retry` repeats it (alerts: better twice than never; the
window is one network round trip), `give_up` raises StepInterrupted (survey sends: never twice).

A step `x` is two attributes of its item: `x_lease_until` while a worker holds it, `x_done_at`
once finished. The item's repository names the item (an ItemKey); any item can carry steps.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Literal, Optional, TypeVar

from chalicelib.platform import clock
from chalicelib.storage.table import ConditionFailed, ItemKey, Table

T = TypeVar("T")


class StepBusy(Exception):
    """Another worker holds the lease on this step; try again later."""


class StepInterrupted(Exception):
    """An earlier attempt died inside the step; its outcome is unknown."""


def claim(item: ItemKey, step: str, at: datetime, lease_seconds: int, table: Optional[Table] = None,
          with_claim: Optional[tuple[str, dict]] = None) -> Optional[str]:
    """Take the lease on a once-only step of an item.

    Returns None when the step is claimed afresh, "expired" when an earlier worker's lease ran
    out before it finished (it may or may not have acted), or "done" when the step is finished.
    Raises StepBusy while another worker holds a live lease, ConditionFailed when there is no item.
    `with_claim`: (SET clauses, their values) the step's action needs, written by the same
    UpdateItem when the lease is taken (nothing is written when it is not).
    """
    done, lease = f"{step}_done_at", f"{step}_lease_until"
    sets, extra = with_claim or ("", {})
    try:
        old = (table or Table()).update(
            item, "SET #lease = :until" + (f", {sets}" if sets else ""),
            condition="attribute_exists(pk) AND attribute_not_exists(#done) "
                      "AND (attribute_not_exists(#lease) OR #lease < :now)",
            names={"#lease": lease, "#done": done},
            values={":until": clock.iso(at + timedelta(seconds=lease_seconds)), ":now": clock.iso(at), **extra},
            returns="ALL_OLD", old_on_failure=True)
    except ConditionFailed as failure:
        if not failure.item:
            raise ConditionFailed(f"{item.pk} does not exist") from failure
        if done in failure.item:
            return "done"
        raise StepBusy(f"{step} of {item.pk} is in progress elsewhere") from failure
    return "expired" if lease in old else None


def complete(item: ItemKey, step: str, at: datetime, table: Optional[Table] = None) -> None:
    (table or Table()).update(item, "SET #done = :at REMOVE #lease",
                              names={"#lease": f"{step}_lease_until", "#done": f"{step}_done_at"},
                              values={":at": clock.iso(at)})


def release(item: ItemKey, step: str, table: Optional[Table] = None) -> None:
    """Give a lease back after a failure that certainly did nothing, so a retry can run."""
    (table or Table()).update(item, "REMOVE #lease", names={"#lease": f"{step}_lease_until"})


def run_once(item: ItemKey, step: str, action: Callable[[], T], *, lease_seconds: int = 120,
             if_interrupted: Literal["retry", "give_up"] = "retry",
             complete_with: Optional[Callable[[T], None]] = None, table: Optional[Table] = None,
             with_claim: Optional[tuple[str, dict]] = None) -> Optional[T]:
    """Run `action` unless the step is already done; returns its result, or None if skipped.

    `complete_with` records the result and must mark the step done (by default only the mark is
    written), so callers can store what the step produced in the same write; `with_claim` is
    written with the lease (see claim).
    """
    state = claim(item, step, clock.now(), lease_seconds, table, with_claim)
    if state == "done":
        return None
    if state == "expired" and if_interrupted == "give_up":
        raise StepInterrupted(f"an earlier attempt at {step} stopped midway")
    try:
        result = action()
    except BaseException:
        release(item, step, table)
        raise
    if complete_with is None:
        complete(item, step, clock.now(), table)
    else:
        complete_with(result)
    return result
