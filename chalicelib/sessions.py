"""Signed-in leads: the dashboard's session cookie, and the decorators that guard its pages and forms.

The cookie holds 32 random bytes; the table keeps only their SHA-256 (as with API keys), with the
lead's address, a CSRF token for the session's forms and the expiry. A session works while it is
unexpired and its lead is still on the allowed list (checked on every request, so removing a
lead signs them out everywhere). A signed-out visitor of any guarded page gets a redirect to the
sign-in page and nothing else.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional
from urllib.parse import quote, unquote, urlencode, urlsplit

from chalice import Response

from chalicelib import clock, edge, i18n, pages
from chalicelib.config import get_settings
from chalicelib.models import Lead, SessionRecord
from chalicelib.storage import Store, get_store

COOKIE = "closeloop_session"
# What secrets.token_urlsafe(32) makes: anything else is not worth a database read.
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")
# Where a sign-in may send the lead afterwards: a dashboard page of this app, nothing else.
DASHBOARD = "/dashboard"
_NEXT = re.compile(r"/dashboard(?:[/?][\x21-\x7e]*)?")


@dataclass(frozen=True)
class LeadSession:
    email: str        # the lead (recorded as `by` in follow-up history)
    name: str         # display name
    owner: str        # the owner name follow-ups are assigned to by routing
    csrf_token: str
    expires_at: datetime


def hash_value(value: str) -> str:
    """How a session's cookie value (and a sign-in link's token) is stored: 32 random bytes need no
    password stretching, so SHA-256 is enough, as for API keys."""
    return hashlib.sha256(value.encode()).hexdigest()


def start(lead: Lead, store: Optional[Store] = None) -> tuple[str, LeadSession]:
    """A new session for `lead`; returns the cookie's value (shown only to the browser) and the session."""
    value, now = secrets.token_urlsafe(32), clock.now()
    record = SessionRecord(email=lead.email, csrf_token=secrets.token_urlsafe(32), created_at=now,
                           expires_at=now + timedelta(hours=get_settings().session_hours), lead_added_at=lead.added_at)
    (store or get_store()).put_session(hash_value(value), record)
    return value, _session(lead, record)


def current(request, store: Optional[Store] = None) -> Optional[LeadSession]:
    """The request's session; None when there is no cookie, or it is forged, expired or its lead removed."""
    value = cookie_value(request)
    if value is None:
        return None
    store = store or get_store()
    record = store.get_session(hash_value(value))
    # DynamoDB deletes expired items only eventually: the expiry is checked here.
    if record is None or record.expires_at <= clock.now():
        return None
    lead = store.get_lead(record.email)
    if lead is None or lead.added_at != record.lead_added_at:
        return None
    return _session(lead, record)


def end(request, store: Optional[Store] = None) -> None:
    """Sign out: the session's item is deleted, so its cookie stops working even if a copy survives."""
    value = cookie_value(request)
    if value is not None:
        (store or get_store()).delete_session(hash_value(value))


def cookie_value(request) -> Optional[str]:
    """Our cookie's value from the Cookie header, if it has the shape of one we set."""
    for header in _cookie_headers(request):
        for pair in header.split(";"):
            name, _, value = pair.strip().partition("=")
            if name == COOKIE and _COOKIE_VALUE.fullmatch(value.strip('"')):
                return value.strip('"')
    return None


def set_cookie(value: str, expires_at: datetime) -> str:
    """The Set-Cookie header value of a session (Max-Age, as browsers trust it over Expires)."""
    seconds = max(0, int((expires_at - clock.now()).total_seconds()))
    # Secure even on http://127.0.0.1: browsers accept Secure cookies from localhost.
    return f"{COOKIE}={value}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={seconds}"


def clear_cookie() -> str:
    return f"{COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0"


def safe_next(value: Optional[str]) -> str:
    """Where to go after signing in: `value` if it is a dashboard path of this app, else the dashboard.
    A full URL, a protocol-relative `//host` or any other path is ignored (no open redirect)."""
    return value if value and len(value) <= 512 and _NEXT.fullmatch(value) and "//" not in value else DASHBOARD


def signin_redirect(request, next_path: Optional[str] = None) -> Response:
    """303 to the sign-in page, to come back to `next_path` (a dashboard path) afterwards."""
    query = f"?{urlencode({'next': next_path})}" if next_path and safe_next(next_path) == next_path else ""
    return edge.see_other(request, f"/signin{query}")


def same_origin(request) -> bool:
    """False when the browser says the post comes from another site (login CSRF, cross-site forms).

    Pages are served with Referrer-Policy: no-referrer, under which browsers send `Origin: null`
    on their own forms; Sec-Fetch-Site still tells a cross-site post apart.
    """
    headers = request.headers
    if (headers.get("sec-fetch-site") or "same-origin").lower() not in ("same-origin", "none"):
        return False
    origin = (headers.get("origin") or "null").strip()
    if origin == "null":
        return True
    base = urlsplit(edge.base_url(request))
    return origin.rstrip("/").lower() == f"{base.scheme}://{base.netloc}".lower()


# --- guards of the dashboard's routes ---------------------------------------------------------

def signed_in_page(view):
    """A page for signed-in leads: `view(request, session, *args)`; signed out: a redirect to sign in."""
    @functools.wraps(view)
    def wrapper(request, *args):
        session = current(request)
        if session is None:
            return signin_redirect(request, request_path(request) if request.method in ("GET", "HEAD") else None)
        return view(request, session, *args)
    wrapper.requires_session = True
    return wrapper


def signed_in_form(view):
    """A form post of a signed-in lead: `view(request, session, form, *args)` with the form's fields
    as a dict, only when the form carries the session's CSRF token (`csrf`); else 403, nothing done."""
    @functools.wraps(view)
    def wrapper(request, *args):
        session = current(request)
        if session is None:
            return signin_redirect(request)
        try:
            form = edge.form_fields(request)
        except edge.InputError as error:
            return refused(400, "This form could not be read", error.message)
        if not same_origin(request) or not hmac.compare_digest(str(form.get("csrf", "")), session.csrf_token):
            return refused(403, "This form has expired",
                           "Go back, reload the page and try again. Nothing was changed.")
        return view(request, session, form, *args)
    wrapper.requires_session = True
    return wrapper


def refused(status: int, title: str, message: str) -> Response:
    return pages.page("lead_refused.html", i18n.ENGLISH, status, title=title, message=message)


def request_path(request) -> str:
    """The path (and query) the request asked for, relative to the app (no API Gateway stage prefix)."""
    path = request.path  # the route, e.g. /dashboard/followups/{followup_id}
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(unquote(value), safe=""))
    pairs = [(name, value) for name in (request.query_params or {})
             for value in request.query_params.getlist(name)]
    return path + (f"?{urlencode(pairs)}" if pairs else "")


def _cookie_headers(request) -> list[str]:
    header = request.headers.get("cookie")
    return [header] if header else []


def _session(lead: Lead, record: SessionRecord) -> LeadSession:
    return LeadSession(email=lead.email, name=lead.name, owner=lead.owner, csrf_token=record.csrf_token,
                       expires_at=record.expires_at)

