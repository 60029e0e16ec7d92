"""Compaction of closed days' report counters, so that a report reads one item per day and group.

A send or response moves one counter item of each dimension, on one of SHARDS shards, so that the
write rate spreads (insight/counters.py). Once a day is closed, its 32 shard items of a group say
no more than their sum: compaction folds them into one item, pk=AGG#<kind>#<dimension>#closed,
sk=<day>#<group> (the same sort key), in one transaction per day and group: ADD the sums to the
folded item, DELETE each shard item on condition that it still holds exactly what was read.

- A late change to a closed day (a response to an old survey, a change of mind, a withdrawn
  sweep) writes a shard item again, as any change does; the next compaction folds it in too, and
  a report reads it meanwhile, so it counts at once and counts once.
- A shard item that changed while being folded fails its condition: the transaction does
  nothing, and the next run folds it.
- A run that dies halfway has folded some groups whole and not touched the others: running it
  again folds the rest.

The open days (today and the day before, in the reporting time zone, by default: answers to
yesterday's surveys keep coming) stay on their shards. The schedule runs compaction every
`report_compaction_seconds` (api/events.py). Finding the work costs one Query per shard and kind
of the "all" dimension (64 a run), and then one per shard holding anything for each day to fold.
"""
from __future__ import annotations

import heapq
import logging
from datetime import date, timedelta
from itertools import groupby
from typing import Callable, Iterator, Optional

from chalicelib.insight.counters import DIMENSIONS, FCR_NO, FCR_YES, SHARDS, closed_pk, counter_pk, report_day
from chalicelib.platform import clock
from chalicelib.platform.settings import get_settings
from chalicelib.storage.table import ConditionFailed, Increment, ItemKey, Table
from chalicelib.surveys import SurveyKind

log = logging.getLogger(__name__)

# Every counter a shard item can hold: a fold's condition says the others are still absent.
COUNTS = ("sent", "opened", "responses", FCR_YES, FCR_NO) + tuple(f"s{score}" for score in range(11))
_PAGE = 200  # shard items read a page at a time from each of the 32 shards


def first_open_day(settings=None) -> date:
    """The oldest day still open: days before it are compacted."""
    settings = settings or get_settings()
    return report_day(clock.now(), settings.reporting_timezone) - timedelta(days=settings.report_open_days - 1)


_compacted_window: Optional[int] = None  # the last period this container compacted in full


def compact_if_due(keep_going: Callable[[], bool] = lambda: True) -> Optional[dict]:
    """Compact once every `report_compaction_seconds` (the schedule calls this every minute);
    None when this container already did in the current period. A run cut short is taken up by
    the next minute's."""
    global _compacted_window
    window = int(clock.now().timestamp()) // get_settings().report_compaction_seconds
    if window == _compacted_window:
        return None
    result = compact(keep_going)
    if result["finished"]:
        _compacted_window = window
    log.info("report counters compacted", extra=result)
    return result


def compact(keep_going: Callable[[], bool] = lambda: True, table: Optional[Table] = None,
            before: Optional[date] = None) -> dict:
    """Fold every shard item of the days before `before` (default: `first_open_day()`); returns
    what it did. Stops early when `keep_going()` says so: the next run does the rest."""
    table, before = table or Table(), before or first_open_day()
    done = {"groups": 0, "shard_items": 0, "conflicts": 0}
    for kind in SurveyKind:
        # Every counted change moves one item of every dimension, on the same day and shard: the
        # closed days' "all" items say which days and shards hold anything to fold.
        for day, found in groupby(_shard_items(table, kind.value, "all", range(SHARDS), before=before),
                                  key=lambda item: item["sk"].partition("#")[0]):
            found = list(found)
            shards = [int(item["pk"].rpartition("#")[2]) for item in found]
            clean = True
            for dimension in DIMENSIONS[1:]:
                for sk, items in groupby(_shard_items(table, kind.value, dimension, shards, day=day),
                                         key=lambda item: item["sk"]):
                    if not keep_going():
                        return {**done, "finished": False}
                    clean = _fold_counted(table, closed_pk(kind.value, dimension), sk, list(items), done) and clean
            # The day's "all" goes last, and only once its other dimensions folded whole: until
            # then its items stay, and the next run finds the day again.
            if not clean:
                continue
            if not keep_going():
                return {**done, "finished": False}
            _fold_counted(table, closed_pk(kind.value, "all"), found[0]["sk"], found, done)
    return {**done, "finished": True}


def _fold_counted(table: Table, folded_pk: str, sk: str, items: list[dict], done: dict) -> bool:
    try:
        _fold(table, folded_pk, sk, items)
    except ConditionFailed:
        done["conflicts"] += 1  # changed meanwhile: folded by the next run
        return False
    done["groups"] += 1
    done["shard_items"] += len(items)
    return True


def _shard_items(table: Table, kind: str, dimension: str, shards, *, before: Optional[date] = None,
                 day: Optional[str] = None) -> Iterator[dict]:
    """The shard items of a dimension in `shards`, of the days before `before` or of one `day`,
    merged in sort key order, so that the items of one day and group come together."""
    if day is not None:
        condition, values = "pk = :pk AND begins_with(sk, :day)", {":day": f"{day}#"}
    else:
        condition, values = "pk = :pk AND sk < :before", {":before": f"{before.isoformat()}#"}

    def shard(number: int) -> Iterator[dict]:
        yield from table.query(KeyConditionExpression=condition, Limit=_PAGE,
                               ExpressionAttributeValues={":pk": counter_pk(kind, dimension, number), **values})
    return heapq.merge(*(shard(number) for number in shards), key=lambda item: item["sk"])


def _fold(table: Table, folded_pk: str, sk: str, items: list[dict]) -> None:
    sums: dict[str, int] = {}
    for item in items:
        for name, value in item.items():
            if name not in ("pk", "sk"):
                sums[name] = sums.get(name, 0) + int(value)
    writes = [table.delete_write(ItemKey(item["pk"], sk), *_unchanged(item)) for item in items]
    table.transact(writes + table.increment_writes([Increment(folded_pk, sk, sums)]))


def _unchanged(item: dict) -> tuple[str, dict, dict]:
    """(condition, names, values): the shard item holds exactly what `item` says."""
    held = [name for name in item if name not in ("pk", "sk")]
    absent = [name for name in COUNTS if name not in item]
    names = {f"#h{i}": name for i, name in enumerate(held)} | {f"#a{i}": name for i, name in enumerate(absent)}
    terms = [f"#h{i} = :h{i}" for i in range(len(held))] + [f"attribute_not_exists(#a{i})" for i in range(len(absent))]
    return " AND ".join(["attribute_exists(pk)"] + terms), names, {f":h{i}": item[n] for i, n in enumerate(held)}
