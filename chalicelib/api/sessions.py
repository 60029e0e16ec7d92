"""The leads' session at the HTTP edge: the cookie, and the guards of the dashboard's pages and forms.

The session itself is the leads room's (leads/sessions.py). Here: the cookie that carries it
(HttpOnly, Secure, SameSite=Lax), where a sign-in may send the browser afterwards, and
`LeadRoutes`, the blueprint whose `page` and `form` routes only a signed-in lead reaches: a
signed-out visitor of any of them gets a redirect to the sign-in page and nothing else, and a form
without the session's CSRF token (or from another site) changes nothing.
"""
from __future__ import annotations

import functools
import hmac
import re
from datetime import datetime
from typing import Any, Callable, Optional
from urllib.parse import quote, unquote, urlencode, urlsplit

from chalice import Response

import chalicelib.leads as leads
from chalicelib.platform import clock, edge, i18n
from chalicelib.platform.errors import Problem
from chalicelib.platform.rendering import page

COOKIE = "closeloop_session"
# Where a sign-in may send the lead afterwards: a dashboard page of this app, nothing else.
_NEXT = re.compile(r"/dashboard(?:[/?][\x21-\x7e]*)?")


def cookie_value(request) -> Optional[str]:
    """Our cookie's value from the Cookie header, if it has the shape of one we set."""
    header = request.headers.get("cookie")
    for pair in (header or "").split(";"):
        name, _, value = pair.strip().partition("=")
        if name == COOKIE and leads.SESSION_VALUE.fullmatch(value.strip('"')):
            return value.strip('"')
    return None


def current(request) -> Optional[leads.LeadSession]:
    """The request's session; None when there is no cookie, or it is forged, expired or its lead removed."""
    return leads.current_session(cookie_value(request))


def end(request) -> None:
    """Sign out: the session's item is deleted, so its cookie stops working even if a copy survives."""
    leads.end_session(cookie_value(request))


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
    return value if value and len(value) <= 512 and _NEXT.fullmatch(value) and "//" not in value else leads.DASHBOARD


def signin_redirect(request, next_path: Optional[str] = None) -> Response:
    """303 to the sign-in page, to come back to `next_path` (a dashboard path) afterwards."""
    query = f"?{urlencode({'next': next_path})}" if next_path and safe_next(next_path) == next_path else ""
    return edge.see_other(request, f"/signin{query}")


def same_origin(request) -> bool:
    """False when the post may come from another site (login CSRF, cross-site forms).

    A cross-site Sec-Fetch-Site refuses, and so does a foreign Origin. `Origin: null` (a sandboxed
    frame, a cross-site redirect, a page under no-referrer) passes only beside a same-origin
    Sec-Fetch-Site; older browsers that lack that header send their real Origin on the lead pages'
    forms (LeadRoutes sets the Referrer-Policy that lets them). No Origin at all is a script's post,
    or a browser from before 2020.
    """
    headers = request.headers
    site = (headers.get("sec-fetch-site") or "").lower()
    if site and site not in ("same-origin", "none"):
        return False
    origin = (headers.get("origin") or "").strip()
    if not origin:
        return True
    if origin == "null":
        return bool(site)
    base = urlsplit(edge.base_url(request))
    return origin.rstrip("/").lower() == f"{base.scheme}://{base.netloc}".lower()


def refused(status: int, title: str, message: str) -> Response:
    return edge.html(page("lead_refused.html", i18n.ENGLISH, status, title=title, message=message))


def request_path(request) -> str:
    """The path (and query) the request asked for, relative to the app (no API Gateway stage prefix)."""
    path = request.path  # the route, e.g. /dashboard/followups/{followup_id}
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", quote(unquote(value), safe=""))
    pairs = [(name, value) for name in (request.query_params or {})
             for value in request.query_params.getlist(name)]
    return path + (f"?{urlencode(pairs)}" if pairs else "")


OnProblem = Callable[[Any, "leads.LeadSession", Problem], Response]


# The lead pages' Referrer-Policy: a browser without Sec-Fetch-Site then sends its real Origin on our
# own forms (under no-referrer it sends "null", which same_origin cannot trust), and other sites
# still get no Referer at all.
REFERRER_POLICY = "same-origin"


class LeadRoutes(edge.Routes):
    """The sign-in and dashboard routes; their pages go out under REFERRER_POLICY.

    `page` and `form` routes are for signed-in leads only: `page` views get (request, session,
    **path); `form` views get (request, session, form, **path), the form's fields as a dict, only
    when it carries the session's CSRF token (`csrf`) and comes from this site; else 403, nothing
    done. A signed-out visitor gets a redirect to the sign-in page (back to the page afterwards). A
    Problem the view raises is answered by `on_problem(request, session, problem)`: a page, with the
    lead's nav."""

    def route(self, path: str, answer: Optional[Callable[[Problem], Response]] = None, **kwargs: Any):
        answer = answer or self._answer
        register = super().route(path, answer=lambda problem: _lead_page(answer(problem)), **kwargs)

        def decorate(view):
            @functools.wraps(view)
            def lead_page(*args, **kw):
                return _lead_page(view(*args, **kw))
            return register(lead_page)
        return decorate

    def page(self, path: str, on_problem: Optional[OnProblem] = None, **kwargs: Any):
        return self._guarded(path, on_problem, False, kwargs)

    def form(self, path: str, on_problem: Optional[OnProblem] = None, **kwargs: Any):
        return self._guarded(path, on_problem, True, {"methods": ["POST"], "content_types": FORM_TYPES, **kwargs})

    def _guarded(self, path: str, on_problem: Optional[OnProblem], is_form: bool, options: dict):
        def decorate(view):
            @functools.wraps(view)
            def guarded(**params):
                request = self.current_request
                session = current(request)
                if session is None:
                    back = request_path(request) if request.method in ("GET", "HEAD") else None
                    return signin_redirect(request, back)
                fields = _checked_form(request, session) if is_form else None
                if isinstance(fields, Response):
                    return fields
                args = (fields,) if is_form else ()
                if on_problem is None:
                    return view(request, session, *args, **params)
                try:
                    return view(request, session, *args, **params)
                except Problem as problem:
                    return on_problem(request, session, problem)
            return self.route(path, **options)(guarded)
        return decorate


def _lead_page(response: Any) -> Any:
    if isinstance(response, Response) and "Referrer-Policy" in response.headers:  # a page, not a redirect
        response.headers["Referrer-Policy"] = REFERRER_POLICY
    return response


def _checked_form(request, session: leads.LeadSession):
    """The form's fields, or the refusal: 400 when it cannot be read, 403 without the session's CSRF
    token or from another site."""
    try:
        fields = edge.form_fields(request)
    except Problem as error:
        return refused(400, "This form could not be read", error.message)
    if not same_origin(request) or not hmac.compare_digest(str(fields.get("csrf", "")), session.csrf_token):
        return refused(403, "This form has expired", "Go back, reload the page and try again. Nothing was changed.")
    return fields


FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data"]
