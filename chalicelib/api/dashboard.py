"""The support leads' dashboard: server-rendered pages behind the session cookie (api/sessions.py).

    GET  /dashboard                      overview: headline score with its interval, trend, distribution, funnel
    GET  /dashboard/people               agents and teams, each flagged when its sample is small
    GET  /dashboard/comments             responses with a comment, filtered, newest first
    GET  /dashboard/followups            the board: open, overdue, mine
    GET  /dashboard/followups/{id}       one follow-up with its history
    POST /dashboard/followups/{id}       claim / contact / resolve (a form with the session's csrf)
    GET  /dashboard/settings             the lead's own weekly digest: on or off, day, hour, time zone
    POST /dashboard/settings             change it (a form with the session's csrf)

What each page shows is insight/dashboard.py's; here, the pages. Every page is Jinja2 with
autoescaping (comments are the customers' words: never trusted) under the survey pages' strict
headers, and needs no script. A bad parameter re-renders the page with the problem, naming it.
"""
from __future__ import annotations

from datetime import date
from typing import Optional
from urllib.parse import unquote, urlencode, urlsplit

from chalice import Response

import chalicelib.followups as followups
import chalicelib.insight as insight
import chalicelib.leads as leads
from chalicelib.api.sessions import LeadRoutes
from chalicelib.platform import clock, edge
from chalicelib.platform.errors import Problem
from chalicelib.platform.rendering import Page
from chalicelib.platform.validation import encode_cursor, validate

dashboard = LeadRoutes(__name__)


def render_page(request, template: str, session, active: str, title: str, status: int = 200, **context) -> Response:
    """A dashboard page: the lead's name and sign-out form in the nav (English: leads are staff)."""
    context.setdefault("error", None)
    return edge.html(Page(f"dashboard/{template}", status, context=dict(
        root=root(request), lead_name=session.name, csrf=session.csrf_token, active=active, title=title,
        low_sample=insight.LOW_SAMPLE, **context)))


def root(request) -> str:
    """The path the app is served under: "" on a custom domain or locally, "/<stage>" on API
    Gateway's own host name. Every link and form of a page starts with it."""
    return urlsplit(edge.base_url(request)).path


def describe(problem: Problem) -> str:
    """A problem in words that name the parameter: "from: must be a date YYYY-MM-DD"."""
    if not problem.fields:
        return problem.message
    first = problem.fields[0]
    return f"{first['field']}: {first['message'].removeprefix('Value error, ')}"


def range_form(request, first: Optional[date] = None, last: Optional[date] = None, **chosen) -> dict:
    """The values the range form shows: what was used, or (after an error) what was typed."""
    params = dict(request.query_params or {})
    if first and last:
        params.update({"from": first.isoformat(), "to": last.isoformat()})
        params.pop("days", None)
    return {**params, **{k: v for k, v in chosen.items() if v is not None}}


def _again(template: str, active: str, title: str, **empty):
    """A page's answer to a bad parameter: the page again, its form as typed and the problem (400)."""
    def answer(request, session, problem: Problem) -> Response:
        return render_page(request, template, session, active, title, problem.status, error=describe(problem),
                           form=range_form(request), **empty)
    return answer


# --- figures over a range of days --------------------------------------------------------------

@dashboard.page("/dashboard", methods=["GET"], on_problem=_again("overview.html", "overview", "Overview", data=None))
def dashboard_overview(request, session):
    """NPS or CSAT with its 95% interval, the trend, the distribution and the response funnel."""
    return _range_page(request, session, "overview.html", "overview", "Overview", insight.dashboard.overview_data)


@dashboard.page("/dashboard/people", methods=["GET"],
                on_problem=_again("people.html", "people", "Agents & teams", data=None))
def dashboard_people(request, session):
    """Agents and teams, each score with its interval and a low-sample flag."""
    return _range_page(request, session, "people.html", "people", "Agents & teams", insight.dashboard.people_data)


def _range_page(request, session, template: str, active: str, title: str, data_for) -> Response:
    """A page of figures over a range of days: `data_for(kind, first, last)` gives its data."""
    query = edge.query(request, insight.DashboardRange)
    first, last = insight.dashboard.span(query, insight.dashboard.today())
    return render_page(request, template, session, active, title, form=range_form(
        request, first, last, survey=query.survey.value), data=data_for(query.survey, first, last))


@dashboard.page("/dashboard/comments", methods=["GET"],
                on_problem=_again("comments.html", "comments", "Comments", items=None, older=None, themes=[]))
def dashboard_comments(request, session):
    query = edge.query(request, insight.CommentQuery)
    first, last = insight.dashboard.span(query, insight.dashboard.today())
    found = insight.dashboard.comments(query, first, last)
    form = range_form(request, first, last)
    older = (f"{root(request)}/dashboard/comments?{urlencode({**form, 'cursor': found['next_cursor']})}"
             if found["next_cursor"] else None)
    return render_page(request, "comments.html", session, "comments", "Comments", form=form,
                       items=[insight.dashboard.comment_item(r) for r in found["responses"]], older=older,
                       themes=theme_chips(request, form, insight.dashboard.theme_counts(query.survey, first, last)))


def theme_chips(request, form: dict, counts: list[dict]) -> list[dict]:
    """The comments page's theme filters: a link per theme (and one for all) keeping the other filters."""
    kept = {k: v for k, v in form.items() if k not in ("theme", "cursor")}
    link = f"{root(request)}/dashboard/comments?"
    chosen = form.get("theme", "")
    return [{"label": "All themes", "count": None, "href": link + urlencode(kept), "chosen": not chosen},
            *({**c, "href": link + urlencode({**kept, "theme": c["key"]}), "chosen": chosen == c["key"]}
              for c in counts)]


# --- the follow-ups board ----------------------------------------------------------------------

def _board_again(request, session, problem: Problem) -> Response:
    return board_page(request, session, "open", None, status=400, error=describe(problem))


@dashboard.page("/dashboard/followups", methods=["GET"], on_problem=_board_again)
def dashboard_followups(request, session):
    """The follow-ups board: open, overdue, mine."""
    query = edge.query(request, insight.BoardQuery)
    return board_page(request, session, query.tab, query.cursor, flash=query.done)


def board_page(request, session, tab: str, cursor: Optional[str], status: int = 200, flash: Optional[str] = None,
               error: Optional[str] = None) -> Response:
    """The board on one tab; InvalidInput for a cursor that is not one."""
    now = clock.now()
    items, next_key = insight.dashboard.board_items((session.email, session.owner), tab, cursor, now)
    older = (f"{root(request)}/dashboard/followups?{urlencode({'tab': tab, 'cursor': encode_cursor(next_key)})}"
             if next_key else None)
    return render_page(request, "followups.html", session, "followups", "Follow-ups", status, tab=tab, flash=flash,
                       error=error, cards=[insight.dashboard.card(f, now) for f in items], older=older)


def _not_found(request, session, problem: Problem) -> Response:
    return render_page(request, "not_found.html", session, "followups", "Not found", 404)


@dashboard.page("/dashboard/followups/{followup_id}", methods=["GET"], on_problem=_not_found)
def dashboard_followup(request, session, followup_id):
    """One follow-up: its card and its history, oldest first."""
    followup, data = followups.get(unquote(followup_id)), insight.dashboard
    return render_page(request, "followup.html", session, "followups", "Follow-up",
                       card=data.card(followup, clock.now()),
                       history=[{**e.model_dump(), "when": data.local_time(e.at)} for e in followup.history])


def _action_refused(request, session, problem: Problem) -> Response:
    """A board button that did not go through: not found (404), refused by the lifecycle (409), or
    a form we cannot read (400); the board again, saying which."""
    if isinstance(problem, followups.FollowUpNotFound):
        return _not_found(request, session, problem)
    form = edge.form_fields(request)
    tab = form.get("tab") if form.get("tab") in ("open", "overdue", "mine") else "open"
    if isinstance(problem, followups.InvalidChange):
        return board_page(request, session, tab, None, status=409,
                          error=f"Could not {form.get('action')} this follow-up: {problem}.")
    return board_page(request, session, tab, None, status=400, error=describe(problem))


@dashboard.form("/dashboard/followups/{followup_id}", on_problem=_action_refused)
def dashboard_followup_action(request, session, form: dict, followup_id):
    """A board button (claim, contact, resolve) as the signed-in lead; 303 back to the board."""
    action = validate(insight.FollowUpAction, form)
    insight.dashboard.perform(action, unquote(followup_id), owner=session.email, by=session.email)
    return edge.see_other(request, "/dashboard/followups?" + urlencode({"tab": action.tab,
                                                                       "done": insight.dashboard.DONE[action.action]}))


# --- the lead's own settings ---------------------------------------------------------------------

def settings_page(request, session, status: int = 200, saved: bool = False, error: Optional[str] = None) -> Response:
    lead = leads.get_lead(session.email)
    return render_page(request, "settings.html", session, "settings", "Settings", status=status, lead=lead,
                       weekdays=leads.WEEKDAYS, saved=saved, error=error)


@dashboard.page("/dashboard/settings", methods=["GET"])
def dashboard_settings(request, session):
    """The signed-in lead's weekly digest (chalicelib/insight/digest.py): on or off, and when."""
    return settings_page(request, session, saved=(request.query_params or {}).get("saved") == "1")


def _settings_refused(request, session, problem: Problem) -> Response:
    return settings_page(request, session, 400, error=describe(problem))


@dashboard.form("/dashboard/settings", on_problem=_settings_refused)
def dashboard_settings_change(request, session, form: dict):
    """Save the lead's digest settings; 303 back to the page, saying so."""
    leads.change_digest_from_form(session.email, form)
    return edge.see_other(request, "/dashboard/settings?saved=1")
