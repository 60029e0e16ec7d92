"""Helpers of the sign-in tests: a lead on the allowed list, their sign-in link by email, and
requests carrying the session cookie through chalice's test client."""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Optional
from urllib.parse import urlencode

BASE = "http://127.0.0.1:8000"  # what edge.base_url makes of the test client's requests
FORM = "application/x-www-form-urlencoded"


def add_lead(email: str = "sam@example.com", name: str = "Sam", owner: str = "sam"):
    from chalicelib.leads import allowed_list as leads

    return leads.add_lead(email, name=name, owner=owner)


def post_form(api, path: str, fields: Optional[dict] = None, cookie: Optional[str] = None,
              headers: Optional[dict] = None):
    sent = {"Content-Type": FORM, **({"Cookie": f"closeloop_session={cookie}"} if cookie else {}), **(headers or {})}
    return api.http.post(path, headers=sent, body=urlencode(fields or {}).encode())


def get(api, path: str, cookie: Optional[str] = None):
    return api.http.get(path, headers={"Cookie": f"closeloop_session={cookie}"} if cookie else {})


def request_link(api, email: str, **fields):
    return post_form(api, "/signin", {"email": email, **fields})


@contextmanager
def from_client(ip: str):
    """Requests through chalice's test client come from `ip` (API Gateway's sourceIp) meanwhile."""
    import pytest
    from chalice.local import LambdaEventConverter

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", ip)
        yield


def sign_in_links(stack, to: str) -> list[str]:
    """The sign-in links emailed to `to`, oldest first (the queued sign-in jobs run first)."""
    stack.run_jobs()
    return [re.search(r"https?://\S+/signin/\S+", mail.part("plain")).group(0)
            for mail in stack.emails() if to in mail.to]


def path_of(url: str) -> str:
    assert url.startswith(BASE + "/"), url
    return url[len(BASE):]


def cookie_of(response) -> str:
    """The session cookie's value from a response's Set-Cookie."""
    match = re.match(r"closeloop_session=([A-Za-z0-9_-]+);", response.headers.get("Set-Cookie", ""))
    assert match, response.headers
    return match.group(1)


def sign_in(api, stack, email: str = "sam@example.com") -> str:
    """Request a link, use it; returns the session cookie's value."""
    assert request_link(api, email).status_code == 200
    response = post_form(api, path_of(sign_in_links(stack, email)[-1]))
    assert response.status_code == 303, (response.status_code, response.body)
    return cookie_of(response)


def csrf_of(cookie: str) -> str:
    """The session's CSRF token, as the dashboard's forms carry it."""
    from chalicelib.leads import sessions
    from tests.repos import Repositories

    return Repositories().leads.get_session(sessions.hash_value(cookie)).csrf_token


def is_signed_in(api, cookie: str) -> bool:
    """GET /signin sends a signed-in lead on to the dashboard; anyone else sees the form."""
    response = get(api, "/signin", cookie)
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 303
