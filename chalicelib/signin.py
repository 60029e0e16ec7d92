"""Passwordless sign-in of support leads to the dashboard: /signin, /signin/{token}, /signout.

A lead on the allowed list (chalicelib/leads.py) enters their address and gets a one-time link by
email, valid LINK_MINUTES. Anyone else gets the very same answer and no email, so the page tells
nobody who is a lead. Opening the link only shows a button: mail scanners fetch every link of a
message, and a fetch must not spend it. The button's POST spends the link (one conditional write:
of concurrent clicks one wins) and starts the session (chalicelib/sessions.py).

The link's token is the only secret in a URL; the table keeps its SHA-256, and it is never logged.
The pages are English only: leads are staff, not customers.
"""
from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Optional
from urllib.parse import urlencode

from chalice import Response

from chalicelib import aws, clock, edge, i18n, leads, pages, sessions
from chalicelib.config import get_settings
from chalicelib.models import Lead, SignInForm, SignInLink
from chalicelib.rendering import render
from chalicelib.storage import Store, get_store

log = logging.getLogger(__name__)

LINK_MINUTES = 15
# At most this many links to one address per LINK_MINUTES; more requests send nothing (same page).
LINKS_PER_WINDOW = 5
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)

SPENT = "This sign-in link has expired or was already used. Enter your email to get a new one."


# --- the links ----------------------------------------------------------------------------------

def send_link(email: str, base_url: str, next_path: str = sessions.DASHBOARD, store: Optional[Store] = None) -> bool:
    """Email a one-time sign-in link if `email` is a lead's and not over the rate limit; whether one went."""
    store = store or get_store()
    lead = leads.get(email, store)
    if lead is None:
        log.info("sign-in link requested for an address not on the allowed list: none sent")
        return False
    now = clock.now()
    if not store.count_signin_link(lead.email, now, timedelta(minutes=LINK_MINUTES), LINKS_PER_WINDOW):
        log.warning("sign-in links to one lead over %d in %d minutes: none sent", LINKS_PER_WINDOW, LINK_MINUTES)
        return False
    token = secrets.token_urlsafe(32)
    store.put_signin_link(sessions.hash_value(token), SignInLink(email=lead.email, created_at=now,
                                                   expires_at=now + timedelta(minutes=LINK_MINUTES)))
    url = f"{base_url}/signin/{token}"
    if next_path != sessions.DASHBOARD:
        url += "?" + urlencode({"next": next_path})
    _email_link(lead, url)
    return True


def link_lead(token: str, store: Optional[Store] = None) -> Optional[str]:
    """The address a usable (unused, unexpired) link is for, without spending it; None otherwise."""
    if not _TOKEN.fullmatch(token):
        return None
    link = (store or get_store()).get_signin_link(sessions.hash_value(token))
    if link is None or link.used_at is not None or link.expires_at <= clock.now():
        return None
    return link.email


def spend_link(token: str, store: Optional[Store] = None) -> Optional[Lead]:
    """Spend the link (once, ever) and return its lead, if the link was usable and the lead is still
    on the list; None otherwise."""
    store = store or get_store()
    if not _TOKEN.fullmatch(token):
        return None
    link = store.consume_signin_link(sessions.hash_value(token), clock.now())
    return leads.get(link.email, store) if link else None


def _email_link(lead: Lead, url: str) -> None:
    settings = get_settings()
    values = dict(company=settings.company_name, lead_name=lead.name, url=url, minutes=LINK_MINUTES)
    message = EmailMessage()
    message["Subject"] = f"Your sign-in link to the {settings.company_name} dashboard"
    message["From"] = formataddr((settings.company_name, settings.sender_email))
    message["To"] = lead.email
    message["Message-ID"] = make_msgid(domain=settings.sender_email.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render("email/signin_link.txt", **values))
    aws.client("sesv2").send_email(FromEmailAddress=settings.sender_email,
                                   Destination={"ToAddresses": [lead.email]},
                                   Content={"Raw": {"Data": message.as_bytes()}})


# --- the routes' pages ----------------------------------------------------------------------------

def show_form(request) -> Response:
    """GET /signin: the form (already signed in: straight to the dashboard)."""
    next_path = sessions.safe_next((request.query_params or {}).get("next"))
    if sessions.current(request) is not None:
        return edge.see_other(request, next_path)
    signed_out = (request.query_params or {}).get("signed_out") is not None
    return _form(request, next_path, 200, notice="You are signed out." if signed_out else None)


def request_link(request) -> Response:
    """POST /signin: the same "check your email" page whether or not a link went out."""
    if not sessions.same_origin(request):
        return sessions.refused(403, "This form came from another site", "Open the sign-in page and try again.")
    try:
        form = edge.form_body(request, SignInForm)
    except edge.InputError as error:
        field = error.fields[0] if error.fields else {"field": "body", "message": error.message}
        return _form(request, sessions.DASHBOARD, 400, error=f"{field['field']}: {field['message']}")
    send_link(form.email, edge.base_url(request), sessions.safe_next(form.next))
    return pages.page("signin_sent.html", i18n.ENGLISH, 200, email=form.email, minutes=LINK_MINUTES)


def show_link(request, token: str) -> Response:
    """GET /signin/{token}: "Sign in as <email>" and a button; spends nothing."""
    email = link_lead(token)
    if email is None:
        return _form(request, sessions.DASHBOARD, 410, error=SPENT)
    next_path = sessions.safe_next((request.query_params or {}).get("next"))
    return pages.page("signin_confirm.html", i18n.ENGLISH, 200, email=email, next=next_path)


def use_link(request, token: str) -> Response:
    """POST /signin/{token}: spend the link, start the session, go to the dashboard."""
    if not sessions.same_origin(request):
        return sessions.refused(403, "This form came from another site", "Open the link from your email again.")
    lead = spend_link(token)
    if lead is None:
        return _form(request, sessions.DASHBOARD, 410, error=SPENT)
    try:
        fields = edge.form_fields(request)
    except edge.InputError:
        fields = {}
    sessions.end(request)  # a session this browser had before is not left behind, still valid
    value, session = sessions.start(lead)
    log.info("a lead signed in to the dashboard")
    response = edge.see_other(request, sessions.safe_next(fields.get("next") or (request.query_params or {}).get("next")))
    response.headers["Set-Cookie"] = sessions.set_cookie(value, session.expires_at)
    return response


@sessions.signed_in_form
def sign_out(request, session: sessions.LeadSession, form: dict) -> Response:
    """POST /signout (a signed-in form, so CSRF-checked): end the session, forget the cookie."""
    sessions.end(request)
    return edge.see_other(request, "/signin?signed_out=1", **{"Set-Cookie": sessions.clear_cookie()})


def _form(request, next_path: str, status: int, error: Optional[str] = None,
          notice: Optional[str] = None) -> Response:
    return pages.page("signin.html", i18n.ENGLISH, status, action=f"{edge.base_url(request)}/signin", next=next_path,
                      error=error, notice=notice)

