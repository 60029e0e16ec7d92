"""What the leads' dashboard shows: the figures, comments and follow-up cards of its pages.

Figures come from the report counters (insight/reports.py), comments from the responses index
(insight/responses.py), follow-ups from the followups room: this module decides nothing of its
own but which days a page covers and how a card reads. The pages themselves (routes, sessions,
templates) are chalicelib/api/dashboard.py.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Optional, Sequence
from zoneinfo import ZoneInfo

from chalicelib.delivery import first_name
from chalicelib.followups import CLOSED_STATUSES, Change, FollowUp, FollowUpNotFound, FollowUpRepository, FollowUpStatus
from chalicelib.followups import change as change_followup
from chalicelib.followups import claim, is_followup_id
from chalicelib.insight import charts, reports, responses
from chalicelib.insight.counters import NO_GROUP, TAG_DIMENSIONS, ReportCounters
from chalicelib.insight.queries import (
    REPORT_MAX_DAYS, CommentQuery, DashboardRange, FollowUpAction, ReportQuery, ResponseQuery,
)
from chalicelib.platform import clock
from chalicelib.platform.errors import bad_field
from chalicelib.platform.settings import get_settings
from chalicelib.platform.validation import decode_cursor, validate
from chalicelib.surveys import ResponseIndex, SurveyKind, scoring
from chalicelib.why import reason_label, theme_keys, theme_label

DEFAULT_DAYS = 30
WHY_TOP = 5                 # reasons and themes on the overview's why panel, the most common first
DAILY_UP_TO = 31            # longer ranges are drawn by ISO week: 90 daily points crowd a phone
COMMENTS_PER_PAGE = 25
CARDS_PER_PAGE = 30
NAME_LOOKUP_BATCH = 100     # recent responses read (one query) to put names to agent ids
PRAISED_AGENTS = 12         # the agent view's praise: this many agents, each with their latest few
PRAISE_PER_AGENT = 3
DONE = {"claim": "claimed", "contact": "contacted", "resolve": "resolved"}
LABELS = {"claim": "Claim", "contact": "Mark contacted", "resolve": "Resolve"}


def reporting_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().reporting_timezone)


def today() -> date:
    """Today in the reporting time zone: the days of reports are days there."""
    return clock.now().astimezone(reporting_zone()).date()


def span(query: DashboardRange, last_default: date) -> tuple[date, date]:
    """The inclusive days a page covers: `from`..`to`, or `days` (30 by default) up to `to` or today."""
    last = query.to or last_default
    first = query.from_ or last - timedelta(days=(query.days or DEFAULT_DAYS) - 1)
    if first > last:
        raise bad_field("from", f"must not be after to ({last.isoformat()})")
    if (last - first).days + 1 > REPORT_MAX_DAYS:
        raise bad_field("from", f"the range may span at most {REPORT_MAX_DAYS} days")
    return first, last


def day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def local_time(at: datetime) -> str:
    return at.astimezone(reporting_zone()).strftime("%Y-%m-%d %H:%M")


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[midnight of `first`, midnight after `last`) in the reporting time zone."""
    zone = reporting_zone()
    return (datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone))


# --- overview --------------------------------------------------------------------------------

def overview_data(kind: SurveyKind, first: date, last: date) -> dict:
    """The overview's figures, from one read of each of the kind's `all`, `reason` and `theme`
    counters over the range and the period before it (a Query per shard: the cost grows with days,
    never with responses)."""
    counters, previous = ReportCounters(), previous_period(first, last)
    both = list(counters.read(kind.value, "all", previous[0], last))
    rows = reports.within(both, first, last)
    total = reports.summarize(kind, "all", reports.group_counts(rows, "all", first, last)["all"])
    name = charts.SCORE_NAME[kind]
    weekly = (last - first).days + 1 > DAILY_UP_TO
    return {"kind": kind.value, "name": name, "first": first, "last": last, "total": total,
            "score": charts.score_of(kind, total), "period": "week" if weekly else "day",
            "trend": charts.trend(kind, trend_buckets(kind, rows, first, last, weekly),
                                  f"{name} by {'week' if weekly else 'day'}, {day_label(first)} to {day_label(last)}"),
            "distribution": charts.distribution(kind, total, f"Score distribution ({name})"),
            "funnel": charts.funnel(total, "Response funnel: sent, opened, responded"),
            "why": why_panel(kind, counters, both, (first, last), previous)}


def trend_buckets(kind: SurveyKind, rows: list, first: date, last: date, weekly: bool) -> list[charts.Bucket]:
    """The trend's steps: every day of the range, or every ISO week it touches, empty ones included."""
    counted = reports.week_counts(rows, first, last) if weekly else reports.group_counts(rows, "day", first, last)
    return [charts.Bucket(date.fromisoformat(key), ("week of " if weekly else "") + day_label(date.fromisoformat(key)),
                          reports.summarize(kind, key, counts), tick=day_label(date.fromisoformat(key)))
            for key, counts in counted.items()]


# --- why: reasons, themes, FCR against the period before ------------------------------------------

def previous_period(first: date, last: date) -> tuple[date, date]:
    """The days just before [first, last], as many of them: what the why panel compares with."""
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


def why_panel(kind: SurveyKind, counters: ReportCounters, all_rows: list, current: tuple[date, date],
              previous: tuple[date, date], top: int = WHY_TOP) -> dict:
    """The overview's "Why" panel (and the weekly digest's): FCR, and the `top` most common reasons
    and themes of the range with their share of responses, each against the previous period.
    `all_rows`: the `all` counters of both periods (the shares' base); one read of each tag
    dimension covers both too."""
    periods = (current, previous)
    totals = [reports.group_counts(reports.within(all_rows, *days), "all", *days)["all"] for days in periods]
    panel: dict = {"fcr": fcr_row(*(reports.fcr(counts) for counts in totals)),
                   "previous": {"first": previous[0], "last": previous[1]}}
    for dimension in TAG_DIMENSIONS:
        rows = list(counters.read(kind.value, dimension, previous[0], current[1]))
        now_groups, before_groups = (
            reports.tag_groups(kind, dimension, reports.group_counts(reports.within(rows, *days), dimension, *days),
                               counts.responses) for days, counts in zip(periods, totals))
        earlier = {group["key"]: group for group in before_groups}
        common = sorted((g for g in now_groups if g["responses"]), key=lambda g: (-g["responses"], g["key"]))
        panel[dimension] = [why_row(group, earlier.get(group["key"], {})) for group in common[:top]]
    return panel


def fcr_row(now: Optional[dict], before: Optional[dict]) -> Optional[dict]:
    """FCR on the panel: the range's rate and its change against the period before; None when nobody
    answered "resolved?" in the range."""
    if now is None:
        return None
    before = before or {}
    return {**now, **shift(now["rate"], now["ci95"], before.get("rate"), before.get("ci95"))}


def why_row(group: dict, before: dict) -> dict:
    """A reason or theme of the panel: its share now, and its change against the period before."""
    return {"label": group["label"], "responses": group["responses"], "share": group["share"],
            "ci95": group["share_ci95"], **shift(group["share"], group["share_ci95"], before.get("share"),
                                                 before.get("share_ci95"))}


def shift(value: Optional[float], interval: Optional[list], previous: Optional[float],
          previous_interval: Optional[list]) -> dict:
    """A proportion's change against the previous period in percentage points, and whether it is
    significant (reports.significant_change, the digest's rule); None where a period has no figure."""
    change = round(100 * (value - previous), 1) if value is not None and previous is not None else None
    return {"previous": previous, "change": change,
            "significant": reports.significant_change(interval, previous_interval) if change is not None else None}


# --- agents and teams ------------------------------------------------------------------------

def people_data(kind: SurveyKind, first: date, last: date) -> dict:
    names = agent_names(kind, first, last)
    agents = [person_row(kind, g, names.get(g["key"])) for g in ranked(kind, "agent", first, last)]
    return {"kind": kind.value, "name": charts.SCORE_NAME[kind], "first": first, "last": last,
            "agents": agents, "teams": [person_row(kind, g, None) for g in ranked(kind, "team", first, last)],
            "praise": praise(kind, first, last, agents)}


def praise(kind: SurveyKind, first: date, last: date, agents: list[dict]) -> list[dict]:
    """Each agent's latest promoters' comments in the range, when the stage shares praise
    (CLOSELOOP_KUDOS_ON_DASHBOARD): one responses query per agent, the best-measured first."""
    if not get_settings().kudos_on_dashboard:
        return []
    start, end = day_bounds(first, last)
    lowest = min(s for s in scoring.scale(kind) if scoring.is_promoter(kind, s))
    found = []
    for agent in agents[:PRAISED_AGENTS]:
        if agent["key"] == NO_GROUP:
            continue
        query = validate(ResponseQuery, {"from": clock.iso(start), "to": clock.iso(end), "survey": kind.value,
                                         "agent": agent["key"], "min_score": lowest, "has_comment": True,
                                         "limit": PRAISE_PER_AGENT})
        comments = [comment_item(r) for r in responses.list_view(query, clock.now())["responses"]]
        if comments:
            found.append({"agent": agent["name"], "comments": comments})
    return found


def ranked(kind: SurveyKind, group_by: str, first: date, last: date) -> list[dict]:
    """The report's groups, the best-measured first (most responses): a lead reads those first."""
    query = ReportQuery.model_validate({"survey": kind.value, "from": first.isoformat(), "to": last.isoformat(),
                                        "group_by": group_by})
    return sorted(reports.summary(query)["groups"], key=lambda g: (-g["responses"], g["key"]))


def person_row(kind: SurveyKind, group: dict, name: Optional[str]) -> dict:
    missing = group["key"] == NO_GROUP
    return {"key": group["key"], "name": "(no agent or team)" if missing else (name or group["key"]),
            "id": None if missing or not name else group["key"], "responses": group["responses"],
            "sent": group["sent"], "score": charts.score_of(kind, group), "ci": group["ci95"],
            "response_rate": group["response_rate"], "low_sample": group["low_sample"], "fcr": group["fcr"]}


def agent_names(kind: SurveyKind, first: date, last: date) -> dict[str, str]:
    """Agent id -> name from the range's latest responses (one index query): counters key agents by
    id only. An agent without a recent response keeps showing as their id."""
    start, end = day_bounds(first, last)
    names: dict[str, str] = {}
    for survey, _position in ResponseIndex().newest_first(start, clock.iso(end), kind=kind.value,
                                                           batch=NAME_LOOKUP_BATCH, max_queries=1):
        if survey is not None and survey.agent and survey.agent.name:
            names.setdefault(survey.agent.id, survey.agent.name)
    return names


# --- comments --------------------------------------------------------------------------------

def comments(query: CommentQuery, first: date, last: date) -> dict:
    """A page of the comments feed: GET /v1/responses's answer for `comment_query`."""
    return responses.list_view(comment_query(query, first, last), clock.now())


def comment_query(query: CommentQuery, first: date, last: date) -> ResponseQuery:
    """The responses listing's query for the comments feed: only responses with a comment, the
    days as whole days of the reporting time zone, detractors as scoring defines them."""
    start, end = day_bounds(first, last)
    max_score = query.max_score
    if query.detractors:
        worst = max(s for s in scoring.scale(query.survey) if scoring.is_detractor(query.survey, s))
        max_score = worst if max_score is None else min(max_score, worst)
    fields = {"from": clock.iso(start), "to": clock.iso(end), "survey": query.survey, "agent": query.agent,
              "team": query.team, "channel": query.channel, "min_score": query.min_score, "max_score": max_score,
              "theme": query.theme, "has_comment": True, "limit": COMMENTS_PER_PAGE, "cursor": query.cursor}
    return validate(ResponseQuery, {k: v for k, v in fields.items() if v is not None})


def comment_item(response: dict) -> dict:
    """A response of the feed: what a lead reads (the comment stays text; the template escapes it)."""
    agent = response.get("agent") or {}
    return {**response, "agent_name": agent.get("name") or agent.get("id"),
            "customer": first_name(response.get("customer_name")) or response.get("customer_id"),
            "when": local_time(clock.parse_iso(response["responded_at"])) if response.get("responded_at") else None,
            "theme_labels": [theme_label(key) for key in response.get("themes") or ()],
            "reason_labels": [reason_label(key) for key in response.get("reasons") or ()]}


def theme_counts(kind: Optional[SurveyKind], first: date, last: date) -> list[dict]:
    """Each theme of the taxonomy with its responses over the days (the theme counters: a flat read,
    days as the reports count them), for the comments page's filters; any kind unless one is chosen."""
    totals = dict.fromkeys(theme_keys(), 0)
    for one in ([kind] if kind else list(SurveyKind)):
        for _day, group, counts in ReportCounters().read(one.value, "theme", first, last):
            if group in totals:
                totals[group] += int(counts.get("responses", 0))
    return [{"key": key, "label": theme_label(key), "count": n} for key, n in totals.items()]


# --- follow-ups board ------------------------------------------------------------------------

def board_items(owner: Sequence[str], tab: str, cursor: Optional[str],
                now: datetime) -> tuple[list[FollowUp], Optional[dict]]:
    """A page of one tab: open (nobody owns it), overdue (past due, not closed), mine (owned under any
    of the lead's names, `owner`: their address and short name; not closed). InvalidInput for a
    cursor that is not one."""
    followups = FollowUpRepository()
    start = decode_cursor(cursor, FollowUpRepository.is_listing_key) if cursor else None
    if tab == "overdue":
        items, next_key = followups.list(overdue_at=now, limit=CARDS_PER_PAGE, start_key=start)
    elif tab == "mine":
        items, next_key = followups.list(owner=owner, limit=CARDS_PER_PAGE, start_key=start)
        items = [f for f in items if f.status not in CLOSED_STATUSES]  # done is done: the board is a to-do list
    else:
        items, next_key = followups.list(status=FollowUpStatus.OPEN, limit=CARDS_PER_PAGE, start_key=start)
    return items, next_key


def card(followup: FollowUp, now: datetime) -> dict:
    """A follow-up as a board card, with the buttons its status allows."""
    agent = followup.agent
    return {"id": followup.followup_id, "customer": first_name(followup.customer_name) or followup.customer_id,
            "kind": charts.SCORE_NAME[followup.kind], "score": followup.score, "comment": followup.comment,
            "agent": (agent.name or agent.id) if agent else None, "team": followup.team, "owner": followup.owner,
            "status": followup.status.value, "due": local_time(followup.due_at), "overdue": followup.is_overdue(now),
            "reasons": [reason_label(key) for key in followup.reasons],
            "themes": [theme_label(key) for key in followup.themes], "resolved": followup.resolved,
            "actions": [(a, LABELS[a]) for a in actions_for(followup.status)]}


def actions_for(status: FollowUpStatus) -> list[str]:
    """The board's buttons for a status; the follow-ups lifecycle still judges each press."""
    return {FollowUpStatus.OPEN: ["claim"], FollowUpStatus.CLAIMED: ["contact", "resolve"],
            FollowUpStatus.CONTACTED: ["resolve"]}.get(status, [])


def perform(action: FollowUpAction, followup_id: str, owner: str, by: str) -> FollowUp:
    """A lead's board button through the follow-ups lifecycle, which judges it; `by` is the lead's email."""
    if not is_followup_id(followup_id):
        raise FollowUpNotFound(followup_id)  # never looked up
    if action.action == "claim":
        return claim(followup_id, owner, by=by, note=action.note)
    status = FollowUpStatus.CONTACTED if action.action == "contact" else FollowUpStatus.RESOLVED
    return change_followup(followup_id, Change(status=status, note=action.note), by=by)
