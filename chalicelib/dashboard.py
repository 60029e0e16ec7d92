"""The support leads' dashboard: server-rendered pages behind the session cookie (chalicelib/sessions.py).

    GET  /dashboard                      overview: headline score with its interval, trend, distribution, funnel
    GET  /dashboard/people               agents and teams, each flagged when its sample is small
    GET  /dashboard/comments             responses with a comment, filtered, newest first
    GET  /dashboard/followups            the board: open, overdue, mine
    GET  /dashboard/followups/{id}       one follow-up with its history
    POST /dashboard/followups/{id}       claim / contact / resolve (a form with the session's csrf)

Figures come from the report counters (chalicelib/reports.py), comments from the responses index
(chalicelib/responses.py), follow-ups from chalicelib/followups.py: this module decides nothing of
its own but which days a page covers. Every page is Jinja2 with autoescaping (comments are the
customers' words: never trusted) under the survey pages' strict headers, and needs no script.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Optional
from urllib.parse import unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from chalice import Response

from chalicelib import charts, clock, edge, followups, pages, reports, responses, scoring, sessions
from chalicelib.config import get_settings
from chalicelib.delivery.content import first_name
from chalicelib.models import (
    CLOSED_STATUSES, REPORT_MAX_DAYS, BoardQuery, CommentQuery, DashboardRange, FollowUp, FollowUpAction,
    FollowUpStatus, ReportQuery, ResponseQuery,
)
from chalicelib.aggregates import NO_GROUP
from chalicelib.scoring import SurveyKind
from chalicelib.storage import Store, get_store

DEFAULT_DAYS = 30
DAILY_UP_TO = 31            # longer ranges are drawn by ISO week: 90 daily points crowd a phone
COMMENTS_PER_PAGE = 25
CARDS_PER_PAGE = 30
NAME_LOOKUP_BATCH = 100     # recent responses read (one query) to put names to agent ids
DONE = {"claim": "claimed", "contact": "contacted", "resolve": "resolved"}
LABELS = {"claim": "Claim", "contact": "Mark contacted", "resolve": "Resolve"}


# --- rendering -------------------------------------------------------------------------------

def render_page(request, template: str, session, active: str, title: str, status: int = 200, **context) -> Response:
    """A dashboard page: the lead's name and sign-out form in the nav (English: leads are staff)."""
    context.setdefault("error", None)
    return pages.html(f"dashboard/{template}", status, root=root(request), lead_name=session.name,
                      csrf=session.csrf_token, active=active, title=title, low_sample=reports.LOW_SAMPLE, **context)


def root(request) -> str:
    """The path the app is served under: "" on a custom domain or locally, "/<stage>" on API
    Gateway's own host name. Every link and form of a page starts with it."""
    return urlsplit(edge.base_url(request)).path


def problem(error: edge.InputError) -> str:
    """An input error in words that name the parameter: "from: must be a date YYYY-MM-DD"."""
    if not error.fields:
        return error.message
    first = error.fields[0]
    return f"{first['field']}: {first['message'].removeprefix('Value error, ')}"


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
        raise edge.bad_field("from", f"must not be after to ({last.isoformat()})")
    if (last - first).days + 1 > REPORT_MAX_DAYS:
        raise edge.bad_field("from", f"the range may span at most {REPORT_MAX_DAYS} days")
    return first, last


def range_form(request, first: Optional[date] = None, last: Optional[date] = None, **chosen) -> dict:
    """The values the range form shows: what was used, or (after an error) what was typed."""
    params = dict(request.query_params or {})
    if first and last:
        params.update({"from": first.isoformat(), "to": last.isoformat()})
        params.pop("days", None)
    return {**params, **{k: v for k, v in chosen.items() if v is not None}}


def day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


# --- overview --------------------------------------------------------------------------------

@sessions.signed_in_page
def overview(request, session) -> Response:
    return range_page(request, session, "overview.html", "overview", "Overview", overview_data)


def range_page(request, session, template: str, active: str, title: str, data_for) -> Response:
    """A page of figures over a range of days: `data_for(kind, first, last)` gives its data; a bad
    range re-renders the form with the error (400)."""
    try:
        query = edge.query(request, DashboardRange)
        first, last = span(query, today())
    except edge.InputError as error:
        return render_page(request, template, session, active, title, 400, error=problem(error),
                           form=range_form(request), data=None)
    return render_page(request, template, session, active, title, form=range_form(
        request, first, last, survey=query.survey.value), data=data_for(query.survey, first, last))


def overview_data(kind: SurveyKind, first: date, last: date, store: Optional[Store] = None) -> dict:
    """The overview's figures, from one read of the kind's `all` counters over the range (a Query per
    shard: the cost grows with days, never with responses)."""
    rows = list((store or get_store()).read_counters(kind.value, "all", first, last))
    total = reports.summarize(kind, "all", reports.group_counts(rows, "all", first, last)["all"])
    name = charts.SCORE_NAME[kind]
    weekly = (last - first).days + 1 > DAILY_UP_TO
    return {"kind": kind.value, "name": name, "first": first, "last": last, "total": total,
            "score": charts.score_of(kind, total), "period": "week" if weekly else "day",
            "trend": charts.trend(kind, trend_buckets(kind, rows, first, last, weekly),
                                  f"{name} by {'week' if weekly else 'day'}, {day_label(first)} to {day_label(last)}"),
            "distribution": charts.distribution(kind, total, f"Score distribution ({name})"),
            "funnel": charts.funnel(total, "Response funnel: sent, opened, responded")}


def trend_buckets(kind: SurveyKind, rows: list, first: date, last: date, weekly: bool) -> list[charts.Bucket]:
    """The trend's steps: every day of the range, or every ISO week it touches, empty ones included."""
    counted = reports.week_counts(rows, first, last) if weekly else reports.group_counts(rows, "day", first, last)
    return [charts.Bucket(date.fromisoformat(key), ("week of " if weekly else "") + day_label(date.fromisoformat(key)),
                          reports.summarize(kind, key, counts), tick=day_label(date.fromisoformat(key)))
            for key, counts in counted.items()]


# --- agents and teams ------------------------------------------------------------------------

@sessions.signed_in_page
def people(request, session) -> Response:
    return range_page(request, session, "people.html", "people", "Agents & teams", people_data)


def people_data(kind: SurveyKind, first: date, last: date, store: Optional[Store] = None) -> dict:
    store = store or get_store()
    names = agent_names(kind, first, last, store)
    return {"kind": kind.value, "name": charts.SCORE_NAME[kind], "first": first, "last": last,
            "agents": [person_row(kind, g, names.get(g["key"])) for g in ranked(kind, "agent", first, last, store)],
            "teams": [person_row(kind, g, None) for g in ranked(kind, "team", first, last, store)]}


def ranked(kind: SurveyKind, group_by: str, first: date, last: date, store: Store) -> list[dict]:
    """The report's groups, the best-measured first (most responses): a lead reads those first."""
    query = ReportQuery.model_validate({"survey": kind.value, "from": first.isoformat(), "to": last.isoformat(),
                                        "group_by": group_by})
    groups = reports.summary(query, store)["groups"]
    return sorted(groups, key=lambda g: (-g["responses"], g["key"]))


def person_row(kind: SurveyKind, group: dict, name: Optional[str]) -> dict:
    missing = group["key"] == NO_GROUP
    return {"key": group["key"], "name": "(no agent or team)" if missing else (name or group["key"]),
            "id": None if missing or not name else group["key"], "responses": group["responses"],
            "sent": group["sent"], "score": charts.score_of(kind, group), "ci": group["ci95"],
            "response_rate": group["response_rate"], "low_sample": group["low_sample"]}


def agent_names(kind: SurveyKind, first: date, last: date, store: Store) -> dict[str, str]:
    """Agent id -> name from the range's latest responses (one index query): counters key agents by
    id only. An agent without a recent response keeps showing as their id."""
    start, end = day_bounds(first, last)
    names: dict[str, str] = {}
    for survey, _position in store.responses(start, clock.iso(end), kind=kind.value, batch=NAME_LOOKUP_BATCH,
                                              max_queries=1):
        if survey is not None and survey.agent and survey.agent.name:
            names.setdefault(survey.agent.id, survey.agent.name)
    return names


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[midnight of `first`, midnight after `last`) in the reporting time zone."""
    zone = reporting_zone()
    return (datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone))


# --- comments --------------------------------------------------------------------------------

@sessions.signed_in_page
def comments(request, session) -> Response:
    try:
        query = edge.query(request, CommentQuery)
        first, last = span(query, today())
        found = responses.list_view(comment_query(query, first, last), clock.now())
    except edge.InputError as error:
        return render_page(request, "comments.html", session, "comments", "Comments", 400, error=problem(error),
                           form=range_form(request), items=None, older=None)
    older = (f"{root(request)}/dashboard/comments?{urlencode({**range_form(request, first, last), 'cursor': found['next_cursor']})}"
             if found["next_cursor"] else None)
    return render_page(request, "comments.html", session, "comments", "Comments", form=range_form(request, first, last),
                       items=[comment_item(r) for r in found["responses"]], older=older)


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
              "has_comment": True, "limit": COMMENTS_PER_PAGE, "cursor": query.cursor}
    return edge.validate(ResponseQuery, {k: v for k, v in fields.items() if v is not None})


def comment_item(response: dict) -> dict:
    """A response of the feed: what a lead reads (the comment stays text; the template escapes it)."""
    agent = response.get("agent") or {}
    return {**response, "agent_name": agent.get("name") or agent.get("id"),
            "customer": first_name(response.get("customer_name")) or response.get("customer_id"),
            "when": local_time(clock.parse_iso(response["responded_at"])) if response.get("responded_at") else None}


def local_time(at: datetime) -> str:
    return at.astimezone(reporting_zone()).strftime("%Y-%m-%d %H:%M")


# --- follow-ups board ------------------------------------------------------------------------

@sessions.signed_in_page
def followups_board(request, session) -> Response:
    try:
        query = edge.query(request, BoardQuery)
        return board_page(request, session, query.tab, query.cursor, flash=query.done)
    except edge.InputError as error:
        return board_page(request, session, "open", None, status=400, error=problem(error))


def board_page(request, session, tab: str, cursor: Optional[str], status: int = 200, flash: Optional[str] = None,
               error: Optional[str] = None) -> Response:
    """The board on one tab; an InputError for a cursor that is not one."""
    now = clock.now()
    items, next_key = board_items(session, tab, cursor, now)
    older = (f"{root(request)}/dashboard/followups?{urlencode({'tab': tab, 'cursor': edge.encode_cursor(next_key)})}"
             if next_key else None)
    return render_page(request, "followups.html", session, "followups", "Follow-ups", status, tab=tab, flash=flash,
                       error=error, cards=[card(f, now) for f in items], older=older)


def board_items(session, tab: str, cursor: Optional[str], now: datetime,
                store: Optional[Store] = None) -> tuple[list[FollowUp], Optional[dict]]:
    """A page of one tab: open (nobody owns it), overdue (past due, not closed), mine (the lead's, not closed)."""
    store = store or get_store()
    start = edge.decode_cursor(cursor, Store.is_listing_key) if cursor else None
    if tab == "overdue":
        items, next_key = store.list_followups(overdue_at=now, limit=CARDS_PER_PAGE, start_key=start)
    elif tab == "mine":
        items, next_key = store.list_followups(owner=session.owner, limit=CARDS_PER_PAGE, start_key=start)
        items = [f for f in items if f.status not in CLOSED_STATUSES]  # done is done: the board is a to-do list
    else:
        items, next_key = store.list_followups(status=FollowUpStatus.OPEN, limit=CARDS_PER_PAGE, start_key=start)
    return items, next_key


def card(followup: FollowUp, now: datetime) -> dict:
    """A follow-up as a board card, with the buttons its status allows."""
    agent = followup.agent
    return {"id": followup.followup_id, "customer": first_name(followup.customer_name) or followup.customer_id,
            "kind": charts.SCORE_NAME[followup.kind], "score": followup.score, "comment": followup.comment,
            "agent": (agent.name or agent.id) if agent else None, "team": followup.team, "owner": followup.owner,
            "status": followup.status.value, "due": local_time(followup.due_at), "overdue": followup.is_overdue(now),
            "actions": [(a, LABELS[a]) for a in actions_for(followup.status)]}


def actions_for(status: FollowUpStatus) -> list[str]:
    """The board's buttons for a status; followups.apply still judges each press."""
    return {FollowUpStatus.OPEN: ["claim"], FollowUpStatus.CLAIMED: ["contact", "resolve"],
            FollowUpStatus.CONTACTED: ["resolve"]}.get(status, [])


@sessions.signed_in_page
def followup_page(request, session, followup_id: str) -> Response:
    """One follow-up: its card and its history, oldest first."""
    try:
        followup = followups.get(unquote(followup_id))
    except followups.FollowUpNotFound:
        return not_found(request, session)
    return render_page(request, "followup.html", session, "followups", "Follow-up", card=card(followup, clock.now()),
                       history=[{**e.model_dump(), "when": local_time(e.at)} for e in followup.history])


@sessions.signed_in_form
def followup_action(request, session, form: dict, followup_id: str) -> Response:
    """A board button: claim, contact or resolve as the signed-in lead; 303 back to the board."""
    followup_id = unquote(followup_id)
    try:
        action = edge.validate(FollowUpAction, form)
        perform(action, followup_id, session)
    except edge.InputError as error:
        return board_page(request, session, form.get("tab") if form.get("tab") in ("open", "overdue", "mine") else "open",
                          None, status=400, error=problem(error))
    except followups.FollowUpNotFound:
        return not_found(request, session)
    except followups.InvalidChange as refused:
        return board_page(request, session, action.tab, None, status=409,
                          error=f"Could not {action.action} this follow-up: {refused}.")
    return edge.see_other(request, "/dashboard/followups?" + urlencode({"tab": action.tab, "done": DONE[action.action]}))


def perform(action: FollowUpAction, followup_id: str, session) -> FollowUp:
    """The lead's action through the follow-ups module, which judges it; `by` is the lead's email."""
    if not followups.is_followup_id(followup_id):
        raise followups.FollowUpNotFound(followup_id)  # never looked up
    if action.action == "claim":
        return followups.claim(followup_id, session.owner, by=session.email, note=action.note)
    status = FollowUpStatus.CONTACTED if action.action == "contact" else FollowUpStatus.RESOLVED
    return followups.change(followup_id, followups.Change(status=status, note=action.note), by=session.email)


def not_found(request, session) -> Response:
    return render_page(request, "not_found.html", session, "followups", "Not found", 404)
