"""Report counters, kept at write time: which counter items a send or a response moves, and by how
much; and reading them back for a report. The one place report counters are written from.

Every counted send adds 1 to `sent`, every counted response 1 to `responses` and 1 to its score's
attribute (`s0`..`s10`); a changed score moves 1 from the old score's attribute to the new one; a
withdrawn response takes both back. The survey's repository puts these increments into the same
transaction as the write they count, so a count changes exactly when the survey does
(surveys/repository.py: add_open, record_response, withdraw_response, mark_sent).

`opened` counts each survey once, the first time a person opened its link: a page view not judged
automated at first look (surveys/scanners.py: HEAD, robot user agents and the honeypot link are
judged automated), or else its first counted response (an SMS reply, a form posted without a page
view we know), so opened >= responses in every group. The write that counts it also sets the
survey's `opened_at`, on condition that it has none, so of two page views at once one counts. A
response later withdrawn as a scanner sweep leaves `opened` as it was: the view looked like a
person when it came.

Why (chalicelib/why/): an answer to "Was your issue resolved?" adds 1 to `fcr_yes` or `fcr_no` of
the same items, and moves with the response (a changed answer moves it, a withdrawn response takes
it back). Each reason the customer ticked, and each theme found in the comment, counts the response
once more in its own group of the `reason` and `theme` dimensions (`responses`, the score's
attribute and its `fcr_yes`/`fcr_no`), so that a report gives each one's share of responses and the
score and FCR of the responses that carry it. A change of reasons or themes alone touches the
survey's "all" items too (ADD 0), so that compaction, which finds its work through them, folds the
tag items of closed days as well.

Counter item: pk=AGG#<kind>#<dimension>#<shard>, sk=<day>#<group>
- kind: csat or nps (the scales differ, so nothing mixes them; the kind's "all" counters are its total)
- dimension: all (group "all"), agent (the agent id), team, channel; reason and theme (a response
  counts in each of its groups, or in none)
- day: the survey's send date in the stage's `reporting_timezone` (a response counts on the day its
  survey was sent, so a day's response rate compares like with like)
- shard: hash(survey_id) % SHARDS. Every response writes one item of every dimension, so each
  dimension's items would take the whole write rate on one key; SHARDS keys share it
  (docs/design.md). A report reads one Query per shard over its day range.

Closed days are compacted (insight/compaction.py): their shard items are folded into one item per
day and group, pk=AGG#<kind>#<dimension>#closed, and deleted. A late change to a closed day
writes a shard item again, as any change does, and the next compaction folds it in too. A report
reads the folded items and whatever shard items there are: days x groups, plus the open days'.

Re-surveys (the survey after a resolved follow-up) count nothing: they measure the recovery
(GET /v1/followups/stats), not the agent's service, and would count one customer twice.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterator, Optional
from zoneinfo import ZoneInfo

from chalicelib.platform.settings import get_settings
from chalicelib.storage.repository import Repository
from chalicelib.storage.table import Increment
from chalicelib.surveys import OpenVerdict, Survey, SurveyOpen

SHARDS = 32
GROUP_DIMENSIONS = ("all", "agent", "team", "channel")  # a counted survey is in one group of each
TAG_DIMENSIONS = ("reason", "theme")                    # ... and in any number of groups of each of these
DIMENSIONS = GROUP_DIMENSIONS + TAG_DIMENSIONS
FCR_YES, FCR_NO = "fcr_yes", "fcr_no"
NO_GROUP = "(none)"  # the group of a survey without an agent or a team


def counter_pk(kind: str, dimension: str, shard: int) -> str:
    return f"AGG#{kind}#{dimension}#{shard}"


def closed_pk(kind: str, dimension: str) -> str:
    """The partition of a dimension's folded counters of closed days (insight/compaction.py)."""
    return f"AGG#{kind}#{dimension}#closed"


def counter_sk(day: date, group: str) -> str:
    return f"{day.isoformat()}#{group}"


def score_attribute(score: int) -> str:
    return f"s{score}"


def shard_of(survey_id: str) -> int:
    """A stable shard for a survey: all of its changes land on the same items (a score change
    moves a count within one item)."""
    return int.from_bytes(hashlib.sha256(survey_id.encode()).digest()[:4], "big") % SHARDS


def report_day(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date()


def groups_of(survey: Survey) -> dict[str, str]:
    """The survey's group in every dimension."""
    return {"all": "all", "agent": survey.agent.id if survey.agent else NO_GROUP,
            "team": survey.team or NO_GROUP, "channel": survey.channel.value}


@dataclass(frozen=True)
class Why:
    """What a response says besides its score: the reasons ticked, the comment's themes, and the
    answer to "Was your issue resolved?" (None: not answered)."""
    reasons: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    resolved: Optional[bool] = None

    @classmethod
    def of(cls, survey: Survey) -> "Why":
        return cls(tuple(survey.reasons), tuple(survey.themes), survey.resolved)

    def groups(self, dimension: str) -> tuple[str, ...]:
        return self.reasons if dimension == "reason" else self.themes


NO_WHY = Why()


def counts(survey: Survey) -> bool:
    """Whether a survey counts in reports at all: re-surveys do not."""
    return survey.followup_id is None


def opens_now(survey: Survey, survey_open: Optional[SurveyOpen] = None) -> bool:
    """Whether this page view (or, without one, a counted response) counts the survey as opened:
    the survey counts in reports, has no open counted yet, and the view was not judged automated."""
    if survey_open is not None and survey_open.verdict is OpenVerdict.AUTOMATED:
        return False
    return counts(survey) and survey.opened_at is None


def _day_at(survey: Survey) -> datetime:
    """The moment whose day a survey's counts fall on: its send time; a survey recorded without one
    (never through delivery) uses its planned send time."""
    return survey.sent_at or survey.send_at


def _changes(survey: Survey, day_at: datetime, timezone: Optional[str], deltas: dict[str, int]) -> list[Increment]:
    deltas = {name: n for name, n in deltas.items() if n}
    if not deltas or not counts(survey):
        return []
    day, shard = report_day(day_at, timezone or get_settings().reporting_timezone), shard_of(survey.survey_id)
    return [Increment(counter_pk(survey.kind.value, dimension, shard), counter_sk(day, group), deltas)
            for dimension, group in groups_of(survey).items()]


def sent_changes(survey: Survey, sent_at: datetime, timezone: Optional[str] = None) -> list[Increment]:
    """The survey was sent at `sent_at`. `timezone`: the reporting time zone, the stage's by default."""
    return _changes(survey, sent_at, timezone, {"sent": 1})


def opened_changes(survey: Survey, timezone: Optional[str] = None) -> list[Increment]:
    """A person opened the survey for the first time (see `opens_now`)."""
    return _changes(survey, _day_at(survey), timezone, {"opened": 1})


def response_changes(survey: Survey, old_score: Optional[int], new_score: Optional[int],
                     timezone: Optional[str] = None, first_open: bool = False,
                     old_why: Why = NO_WHY, new_why: Why = NO_WHY) -> list[Increment]:
    """The survey's counted response goes from `old_score` with `old_why` to `new_score` with
    `new_why` (a score None: no response); with `first_open`, the response is also the survey's
    first counted open (same items, one more delta)."""
    if not counts(survey):
        return []
    old_why, new_why = (old_why if old_score is not None else NO_WHY), (new_why if new_score is not None else NO_WHY)
    deltas: dict[str, int] = {"opened": 1} if first_open else {}
    _move(deltas, old_score, new_score)
    deltas["responses"] = (new_score is not None) - (old_score is not None)
    _move_fcr(deltas, old_why.resolved, new_why.resolved)
    day, timezone = _day_at(survey), timezone or get_settings().reporting_timezone
    changes = _changes(survey, day, timezone, deltas)
    tagged = [change for dimension in TAG_DIMENSIONS
              for change in _tag_changes(survey, day, timezone, dimension, old_score, new_score, old_why, new_why)]
    if tagged and not changes:  # compaction finds a day's work through its "all" items
        changes = [Increment(counter_pk(survey.kind.value, "all", shard_of(survey.survey_id)),
                             counter_sk(report_day(day, timezone), "all"), {"responses": 0})]
    return changes + tagged


def _move(deltas: dict[str, int], old_score: Optional[int], new_score: Optional[int]) -> None:
    """A response moves from the old score's attribute to the new one's."""
    if old_score is not None:
        deltas[score_attribute(old_score)] = deltas.get(score_attribute(old_score), 0) - 1
    if new_score is not None:
        deltas[score_attribute(new_score)] = deltas.get(score_attribute(new_score), 0) + 1


def _move_fcr(deltas: dict[str, int], old: Optional[bool], new: Optional[bool]) -> None:
    """An answer to "resolved?" moves from the old answer's attribute to the new one's (None: none)."""
    for answer, sign in ((old, -1), (new, 1)):
        if answer is not None:
            attribute = FCR_YES if answer else FCR_NO
            deltas[attribute] = deltas.get(attribute, 0) + sign


def _tag_changes(survey: Survey, day_at: datetime, timezone: str, dimension: str, old_score: Optional[int],
                 new_score: Optional[int], old_why: Why, new_why: Why) -> list[Increment]:
    """The items of a tag dimension (reason, theme) a change moves: one per group the response
    leaves, joins or stays in with another score or answer to "resolved?"."""
    day, shard, found = report_day(day_at, timezone), shard_of(survey.survey_id), []
    old_groups, new_groups = old_why.groups(dimension), new_why.groups(dimension)
    for group in sorted(set(old_groups) | set(new_groups)):
        was, is_in = group in old_groups, group in new_groups
        deltas = {"responses": is_in - was}
        _move(deltas, old_score if was else None, new_score if is_in else None)
        _move_fcr(deltas, old_why.resolved if was else None, new_why.resolved if is_in else None)
        deltas = {name: n for name, n in deltas.items() if n}
        if deltas:
            found.append(Increment(counter_pk(survey.kind.value, dimension, shard), counter_sk(day, group), deltas))
    return found


class ReportCounters(Repository):
    """Reading the counter items back (their writes join the survey's transactions, above)."""

    def read(self, kind: str, dimension: str, first_day: date, last_day: date) -> Iterator[tuple[date, str, dict]]:
        """(day, group, counts) of every counter item of a dimension in [first_day, last_day]: the
        closed days' folded items (one Query), then any shard items (a Query per shard; the open
        days' and late changes not folded yet), paged past 1 MB. A (day, group) may come several
        times: its counts add up."""
        for pk in [closed_pk(kind, dimension)] + [counter_pk(kind, dimension, shard) for shard in range(SHARDS)]:
            yield from self.rows(pk, first_day, last_day)

    def rows(self, pk: str, first_day: date, last_day: date) -> Iterator[tuple[date, str, dict]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            # U+10FFFF sorts (as UTF-8) after every character a group name can hold.
            "ExpressionAttributeValues": {":pk": pk, ":first": f"{first_day.isoformat()}#",
                                          ":last": f"{last_day.isoformat()}#\U0010ffff"},
        }
        for item in self.table.query(**kwargs):
            day, _, group = item["sk"].partition("#")
            yield date.fromisoformat(day), group, {k: v for k, v in item.items() if k not in ("pk", "sk")}
