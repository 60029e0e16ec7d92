"""Passwordless sign-in of support leads (/signin, /signin/{token}, /signout) through chalice's test
client, with the table on DynamoDB Local and SES in moto."""
from __future__ import annotations

import logging
import re

import pytest

from tests.functional.helpers import stored_items
from tests.functional.signin_helpers import (
    BASE, add_lead, cookie_of, csrf_of, get, is_signed_in, path_of, post_form, request_link, sign_in, sign_in_links,
)


@pytest.fixture
def lead(api, stack):
    return add_lead()


def _normalised(body: bytes, email: str) -> str:
    return re.sub(r'nonce="[^"]+"', "", body.decode().replace(email, "EMAIL"))


# --- asking for a link -----------------------------------------------------------------------

def test_an_allowed_address_gets_one_link_and_an_unknown_one_none_with_the_same_page(api, stack, lead):
    allowed = request_link(api, "sam@example.com")
    unknown = request_link(api, "eve@example.com")

    assert allowed.status_code == unknown.status_code == 200
    assert _normalised(allowed.body, "sam@example.com") == _normalised(unknown.body, "eve@example.com")
    assert b"Check your email" in allowed.body
    assert stack.run_jobs() == 2  # the email is the queue's, for every address alike
    assert [set(mail.to) for mail in stack.emails()] == [{"sam@example.com"}]
    mail = stack.emails()[0]
    assert mail.message["From"] == "closeloop <surveys@example.com>"
    (link,) = sign_in_links(stack, "sam@example.com")
    assert re.fullmatch(re.escape(BASE) + r"/signin/[A-Za-z0-9_-]{43}", link)


def test_the_address_is_matched_whatever_its_case(api, stack, lead):
    assert request_link(api, " Sam@Example.COM ").status_code == 200
    assert len(sign_in_links(stack, "sam@example.com")) == 1


def test_a_malformed_address_is_a_400_naming_email_and_sends_nothing(api, stack, lead):
    response = request_link(api, "sam@")
    assert response.status_code == 400
    assert b"email: " in response.body and b"must be an email address" in response.body
    assert post_form(api, "/signin", {}).status_code == 400
    assert stack.emails() == []


def test_at_most_five_links_from_one_client_per_fifteen_minutes(api, stack, lead, clock):
    answers = [request_link(api, "sam@example.com") for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert b"Too many sign-in requests from here" in answers[-1].body  # told, not "check your email"
    assert len(sign_in_links(stack, "sam@example.com")) == 5

    clock.advance(15 * 60 + 1)
    request_link(api, "sam@example.com")
    assert len(sign_in_links(stack, "sam@example.com")) == 6


def test_a_post_from_another_site_is_refused(api, stack, lead):
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = post_form(api, "/signin", {"email": "sam@example.com"}, headers=headers)
        assert response.status_code == 403
    assert stack.emails() == []
    # Browsers send "Origin: null" beside Sec-Fetch-Site on forms of pages under no-referrer.
    same_site = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    assert post_form(api, "/signin", {"email": "sam@example.com"}, headers=same_site).status_code == 200
    assert post_form(api, "/signin", {"email": "sam@example.com"}, headers={"Origin": BASE}).status_code == 200
    assert len(sign_in_links(stack, "sam@example.com")) == 2


# --- using the link ----------------------------------------------------------------------------

def test_opening_the_link_spends_nothing_and_its_button_signs_in_once(api, stack, lead):
    request_link(api, "sam@example.com")
    path = path_of(sign_in_links(stack, "sam@example.com")[0])

    for _ in range(3):  # a mail scanner, a preview, the lead
        page = api.http.get(path)
        assert page.status_code == 200 and b"Sign in as sam@example.com" in page.body
        assert "Set-Cookie" not in page.headers
    assert page.headers["Referrer-Policy"] == "same-origin" and page.headers["Cache-Control"] == "no-store"

    first = post_form(api, path)
    assert first.status_code == 303 and first.headers["Location"] == f"{BASE}/dashboard"
    assert is_signed_in(api, cookie_of(first))

    again = post_form(api, path)
    assert again.status_code == 410 and "Set-Cookie" not in again.headers
    assert b"expired or was already used" in again.body and b'name="email"' in again.body
    assert api.http.get(path).status_code == 410


def test_the_session_cookie_is_httponly_secure_lax_and_expires(api, stack, lead, clock):
    request_link(api, "sam@example.com")
    response = post_form(api, path_of(sign_in_links(stack, "sam@example.com")[0]))
    attributes = [part.strip() for part in response.headers["Set-Cookie"].split(";")]
    assert attributes[0].startswith("closeloop_session=")
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/", f"Max-Age={12 * 3600}"} <= set(attributes[1:])


def test_a_link_expires_after_fifteen_minutes(api, stack, lead, clock):
    request_link(api, "sam@example.com")
    request_link(api, "sam@example.com")
    early, late = (path_of(link) for link in sign_in_links(stack, "sam@example.com"))

    clock.advance(15 * 60 - 1)
    assert api.http.get(early).status_code == 200
    assert post_form(api, early).status_code == 303
    clock.advance(1)
    assert api.http.get(late).status_code == 410
    response = post_form(api, late)
    assert response.status_code == 410 and "Set-Cookie" not in response.headers


@pytest.mark.parametrize("token", ["x" * 43, "A" * 42, "not-a-token", "%2E%2E"])
def test_a_forged_link_is_the_sign_in_page_and_nothing_else(api, stack, lead, token):
    request_link(api, "sam@example.com")
    for response in (api.http.get(f"/signin/{token}"), post_form(api, f"/signin/{token}")):
        assert response.status_code == 410 and "Set-Cookie" not in response.headers
        assert b"sam@example.com" not in response.body and b'name="email"' in response.body


def test_the_link_of_a_lead_removed_meanwhile_signs_nobody_in(api, stack, lead):
    from chalicelib.leads import allowed_list as leads

    request_link(api, "sam@example.com")
    (link,) = sign_in_links(stack, "sam@example.com")
    leads.remove_lead("sam@example.com")
    response = post_form(api, path_of(link))
    assert response.status_code == 410 and "Set-Cookie" not in response.headers


@pytest.mark.parametrize("next_path", ["https://evil.example", "//evil.example/dashboard", "/v1/responses",
                                       "/dashboard\\@evil.example", "javascript:alert(1)", "/dashboard//evil"])
def test_next_cannot_send_the_lead_anywhere_but_the_dashboard(api, stack, lead, next_path):
    request_link(api, "sam@example.com", next=next_path)
    link = sign_in_links(stack, "sam@example.com")[0]
    assert "next=" not in link
    path = path_of(link)
    response = post_form(api, f"{path}?next={next_path}", {"next": next_path})
    assert response.status_code == 303 and response.headers["Location"] == f"{BASE}/dashboard"


def test_next_brings_the_lead_back_to_the_dashboard_page_they_asked_for(api, stack, lead):
    form = get(api, "/signin?next=/dashboard/followups?status=open")
    assert b'value="/dashboard/followups?status=open"' in form.body
    request_link(api, "sam@example.com", next="/dashboard/followups?status=open")
    link = sign_in_links(stack, "sam@example.com")[0]
    page = api.http.get(path_of(link))
    assert b'value="/dashboard/followups?status=open"' in page.body
    response = post_form(api, path_of(link), {"next": "/dashboard/followups?status=open"})
    assert response.headers["Location"] == f"{BASE}/dashboard/followups?status=open"


# --- the session ---------------------------------------------------------------------------------

def test_a_session_expires(api, stack, lead, clock):
    cookie = sign_in(api, stack)
    clock.advance(12 * 3600 - 1)
    assert is_signed_in(api, cookie)
    clock.advance(1)
    assert not is_signed_in(api, cookie)
    response = post_form(api, "/signout", {"csrf": csrf_of(cookie)}, cookie)
    assert response.status_code == 303 and response.headers["Location"] == f"{BASE}/signin"


def test_sign_out_needs_the_csrf_token_and_ends_the_session(api, stack, lead):
    cookie = sign_in(api, stack)
    for fields in ({}, {"csrf": "wrong"}, {"csrf": csrf_of(sign_in(api, stack))}):  # another session's token
        refused = post_form(api, "/signout", fields, cookie)
        assert refused.status_code == 403 and "Set-Cookie" not in refused.headers
        assert is_signed_in(api, cookie)
    cross_site = post_form(api, "/signout", {"csrf": csrf_of(cookie)}, cookie, {"Origin": "https://evil.example"})
    assert cross_site.status_code == 403 and is_signed_in(api, cookie)

    response = post_form(api, "/signout", {"csrf": csrf_of(cookie)}, cookie)
    assert response.status_code == 303 and response.headers["Location"].startswith(f"{BASE}/signin")
    assert "closeloop_session=;" in response.headers["Set-Cookie"] and "Max-Age=0" in response.headers["Set-Cookie"]
    assert not is_signed_in(api, cookie)  # a copy of the old cookie no longer works
    assert b"You are signed out" in get(api, response.headers["Location"][len(BASE):]).body


@pytest.mark.parametrize("cookie", ["A" * 43, "forged", "", "a;b", '"' + "B" * 43 + '"'])
def test_a_forged_cookie_is_signed_out(api, stack, lead, cookie):
    sign_in(api, stack)
    assert not is_signed_in(api, cookie)
    response = post_form(api, "/signout", {"csrf": "x"}, cookie)
    assert response.status_code == 303 and response.headers["Location"] == f"{BASE}/signin"
    assert "Set-Cookie" not in response.headers


def test_removing_a_lead_ends_their_sessions_even_if_added_again(api, stack, lead, clock):
    from chalicelib.leads import allowed_list as leads

    cookie = sign_in(api, stack)
    leads.remove_lead("sam@example.com")
    assert not is_signed_in(api, cookie)
    clock.advance(1)
    add_lead()
    assert not is_signed_in(api, cookie)
    assert is_signed_in(api, sign_in(api, stack))


def test_only_hashes_are_stored_and_no_token_is_logged(api, stack, lead, caplog):
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    caplog.set_level(logging.INFO)
    request_link(api, "sam@example.com")
    link = sign_in_links(stack, "sam@example.com")[0]
    token = link.rsplit("/", 1)[1]
    api.http.get(path_of(link))
    cookie = cookie_of(post_form(api, path_of(link)))
    post_form(api, "/signout", {"csrf": csrf_of(cookie)}, cookie)

    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert token not in logged and cookie not in logged
    stored = str(stored_items(stack))
    assert token not in stored and cookie not in stored


def test_signing_in_again_replaces_the_browsers_earlier_session(api, stack, lead):
    earlier = sign_in(api, stack)
    request_link(api, "sam@example.com")
    later = cookie_of(post_form(api, path_of(sign_in_links(stack, "sam@example.com")[-1]), cookie=earlier))
    assert later != earlier and is_signed_in(api, later) and not is_signed_in(api, earlier)


def test_signed_in_leads_skip_the_form(api, stack, lead):
    cookie = sign_in(api, stack)
    response = get(api, "/signin?next=/dashboard/people", cookie)
    assert response.status_code == 303 and response.headers["Location"] == f"{BASE}/dashboard/people"


# --- ops -----------------------------------------------------------------------------------------

def test_ops_adds_lists_and_removes_leads(api, stack, monkeypatch, capsys):
    import ops.__main__ as ops
    from chalicelib.leads import allowed_list as leads

    monkeypatch.setattr(ops, "_use_stage", lambda stage: None)  # the test's table, not a stage's
    assert ops.main(["leads", "add", "Kim@Example.com", "--name", "Kim", "--owner", "kim"]) == 0
    assert "added kim@example.com (name Kim, owner kim)" in capsys.readouterr().out
    assert ops.main(["leads", "add", "kim@example.com", "--owner", "other"]) == 0
    assert "already on the list (owner kim)" in capsys.readouterr().out
    assert ops.main(["leads", "add", "lee@example.com"]) == 0
    assert leads.get_lead("lee@example.com").owner == "lee"

    assert ops.main(["leads", "list"]) == 0
    out = capsys.readouterr().out
    assert "kim@example.com" in out and "owner kim" in out and "2 leads" in out

    request_link(api, "kim@example.com")
    cookie = cookie_of(post_form(api, path_of(sign_in_links(stack, "kim@example.com")[0])))
    assert ops.main(["leads", "remove", "kim@example.com"]) == 0
    assert "removed kim@example.com" in capsys.readouterr().out
    assert not is_signed_in(api, cookie)
    with pytest.raises(SystemExit, match="not on the list"):
        ops.main(["leads", "remove", "kim@example.com"])
    with pytest.raises(SystemExit, match="invalid email"):
        ops.main(["leads", "add", "kim@"])
    with pytest.raises(SystemExit, match="invalid owner"):
        ops.main(["leads", "add", "kim@example.com", "--owner", "no spaces"])
    # The owner defaults to a name the follow-ups API also takes (no "@" or "+").
    assert leads.add_lead("kim+cs@example.com").owner == "kim-cs"
