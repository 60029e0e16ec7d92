"""The leads' sign-in pages: /signin, /signin/{token}, /signout (public; the link's token protects it).

A lead asks for a link (the same answer for everyone), opens it (a button, so a mail scanner's
fetch spends nothing) and presses it (the link is spent once, the session starts: leads/signin.py).
The pages are English only: leads are staff, not customers.
"""
from __future__ import annotations

import logging
from typing import Optional

from chalice import Response

import chalicelib.leads as leads
from chalicelib.api.sessions import LeadRoutes, clear_cookie, current, end, refused, safe_next, same_origin, set_cookie
from chalicelib.platform import edge, i18n
from chalicelib.platform.errors import Problem
from chalicelib.platform.rendering import page

log = logging.getLogger(__name__)

PAGE_FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "application/json"]


def _unreadable(problem: Problem) -> Response:
    """A sign-in form that does not validate: the form again, naming the field (400)."""
    field = problem.fields[0] if problem.fields else {"field": "body", "message": problem.message}
    return _form(signin.current_request, leads.DASHBOARD, 400, error=f"{field['field']}: {field['message']}")


signin = LeadRoutes(__name__, answer=_unreadable)


@signin.route("/signin", methods=["GET"])
def signin_form():
    """The form (already signed in: straight to the dashboard)."""
    request = signin.current_request
    next_path = safe_next((request.query_params or {}).get("next"))
    if current(request) is not None:
        return edge.see_other(request, next_path)
    signed_out = (request.query_params or {}).get("signed_out") is not None
    return _form(request, next_path, 200, notice="You are signed out." if signed_out else None)


@signin.route("/signin", methods=["POST"], content_types=PAGE_FORM_TYPES)
def signin_request_link():
    """Email a one-time link to a lead on the allowed list; every address gets the same answer, and
    a request over a limit is told so (429), also the same for every address."""
    request = signin.current_request
    if not same_origin(request):
        return refused(403, "This form came from another site", "Open the sign-in page and try again.")
    form = edge.form_body(request, leads.SignInForm)
    next_path = safe_next(form.next)
    over = leads.request_link(form.email, edge.client_ip(request), edge.base_url(request), next_path)
    if over is not None:
        response = _form(request, next_path, 429, error=_TOO_MANY[over.by].format(wait=_minutes(over.minutes)))
        response.headers["Retry-After"] = str(over.retry_after)
        return response
    return edge.html(page("signin_sent.html", i18n.ENGLISH, 200, email=form.email, minutes=leads.LINK_MINUTES))


_TOO_MANY = {
    "client": "Too many sign-in requests from here lately. No link was sent: try again in {wait}.",
    "address": "Too many sign-in requests for this address lately. No link was sent: try again in {wait}.",
}


def _minutes(n: int) -> str:
    return "1 minute" if n == 1 else f"{n} minutes"


@signin.route("/signin/{token}", methods=["GET"])
def signin_link(token):
    """The link from the email: "Sign in as <email>" and a button. A visit (or a mail scanner) spends nothing."""
    request = signin.current_request
    email = leads.link_lead(token)
    if email is None:
        return _form(request, leads.DASHBOARD, 410, error=leads.SPENT)
    next_path = safe_next((request.query_params or {}).get("next"))
    return edge.html(page("signin_confirm.html", i18n.ENGLISH, 200, email=email, next=next_path))


@signin.route("/signin/{token}", methods=["POST"], content_types=PAGE_FORM_TYPES)
def signin_use_link(token):
    """Spend the link (once), set the session cookie, go to the dashboard."""
    request = signin.current_request
    if not same_origin(request):
        return refused(403, "This form came from another site", "Open the link from your email again.")
    lead = leads.spend_link(token)
    if lead is None:
        return _form(request, leads.DASHBOARD, 410, error=leads.SPENT)
    try:
        fields = edge.form_fields(request)
    except Problem:
        fields = {}  # the link alone signs in; a `next` we cannot read lands on the dashboard
    end(request)  # a session this browser had before is not left behind, still valid
    value, session = leads.start_session(lead)
    log.info("a lead signed in to the dashboard")
    response = edge.see_other(request, safe_next(fields.get("next") or (request.query_params or {}).get("next")))
    response.headers["Set-Cookie"] = set_cookie(value, session.expires_at)
    return response


@signin.form("/signout", content_types=PAGE_FORM_TYPES)
def signout(request, session, form: dict):
    """End the session (a signed-in form, so CSRF-checked), forget the cookie."""
    end(request)
    return edge.see_other(request, "/signin?signed_out=1", **{"Set-Cookie": clear_cookie()})


def _form(request, next_path: str, status: int, error: Optional[str] = None, notice: Optional[str] = None) -> Response:
    return edge.html(page("signin.html", i18n.ENGLISH, status, action=f"{edge.base_url(request)}/signin",
                          next=next_path, error=error, notice=notice))
