"""Email opt-out (RFC 8058): List-Unsubscribe headers, the /u/{token} page and its one-click POST,
and the footer of both parts of the survey email."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from tests.conftest import configure
from tests.functional.helpers import BROWSER, interaction, path_of, post, score_links

# Starts with a number on purpose: no footer line may read like a score line of the text part.
POSTAL_ADDRESS = "42 Harbour Road, Springfield, IL 62701"
SCANNER = "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0) SafeLinks"


@pytest.fixture
def optout(stack, monkeypatch):
    configure(monkeypatch, CLOSELOOP_POSTAL_ADDRESS=POSTAL_ADDRESS)
    return stack


def sent_survey(api, stack, **overrides):
    """Post an email interaction and deliver it; returns (survey_id, the sent email)."""
    response = post(api, interaction(**overrides))
    assert response.status_code == 202, response.body
    survey_id = json.loads(response.body)["survey_id"]
    stack.run_jobs()
    (mail,) = [m for m in stack.emails() if m.message["X-Closeloop-Survey"] == survey_id]
    return survey_id, mail


def unsubscribe_path(mail) -> str:
    header = mail.message["List-Unsubscribe"]
    url = re.fullmatch(r"<([^>]+)>", str(header)).group(1)
    return path_of(url)


def ledger():
    from tests.repos import Repositories

    return Repositories().suppressions.list()


def one_click(api, path, encoding="urlencoded", body=None, content_type=None):
    """What a mail client sends for RFC 8058 one-click: a POST, no cookies, no login."""
    if encoding == "urlencoded":
        content_type = content_type or "application/x-www-form-urlencoded"
        body = urlencode({"List-Unsubscribe": "One-Click"}).encode() if body is None else body
    elif encoding == "multipart":
        boundary = "----mailclient" + uuid.uuid4().hex
        content_type = f"multipart/form-data; boundary={boundary}"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
                f"One-Click\r\n--{boundary}--\r\n").encode()
    headers = {"User-Agent": "Mail-Client/1.0"}
    if content_type:
        headers["Content-Type"] = content_type
    return api.http.post(path, headers=headers, body=body or b"")


# --- the headers -------------------------------------------------------------------------------

def test_every_survey_email_carries_one_click_list_unsubscribe_headers(api, optout):
    _, mail = sent_survey(api, optout)
    header = str(mail.message["List-Unsubscribe"])
    url = re.fullmatch(r"<(\S+)>", header).group(1)
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Locally the app is reached over http on loopback; anywhere else it must be https.
    assert url.startswith(("https://", "http://127.0.0.1:", "http://localhost:")), url
    token = path_of(next(iter(score_links(mail.part("plain")).values()))).split("/")[2]
    assert path_of(url) == f"/u/{token}"  # the survey's own token, no other credential


def test_deployed_stages_get_an_https_url_written_verbatim_in_the_raw_message(api, optout, monkeypatch):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    configure(monkeypatch, CLOSELOOP_PUBLIC_URL="https://abcdefghij.execute-api.us-east-1.amazonaws.com/api")
    survey_id, mail = sent_survey(api, optout)
    url = str(mail.message["List-Unsubscribe"])[1:-1]
    assert url.startswith("https://abcdefghij.execute-api.us-east-1.amazonaws.com/api/u/")
    # A URL longer than a folded line must not turn into RFC 2047 encoded-words: mail clients
    # read the header as it is written.
    (raw,) = [m.raw_data for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages]
    assert f"\nList-Unsubscribe: <{url}>\n" in raw.replace("\r\n", "\n")
    assert "\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n" in raw.replace("\r\n", "\n")


# --- GET: a page, never an unsubscribe -----------------------------------------------------------

@pytest.mark.parametrize("user_agent", [BROWSER, SCANNER])
def test_opening_the_link_shows_a_confirmation_form_and_unsubscribes_nobody(api, optout, user_agent):
    _, mail = sent_survey(api, optout)
    path = unsubscribe_path(mail)

    page = api.http.get(path, headers={"User-Agent": user_agent})
    head = api.http.request("HEAD", path, headers={"User-Agent": user_agent}, body=b"")

    assert page.status_code == 200 and head.status_code == 200
    html = page.body.decode()
    assert "Unsubscribe a\u2022\u2022\u2022@example.com from closeloop surveys?" in html
    assert "ada@example.com" not in html  # masked: the page names the address without showing it
    assert re.search(r'<form method="post"[^>]*>', html) and '<button type="submit"' in html
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert ledger() == []


# --- POST: one click unsubscribes, 200 without a redirect ----------------------------------------

@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_post_unsubscribes_and_answers_200_without_redirect(api, optout, encoding):
    _, mail = sent_survey(api, optout)

    response = one_click(api, unsubscribe_path(mail), encoding)

    assert response.status_code == 200
    assert "Location" not in response.headers and "location" not in response.headers
    assert "set-cookie" not in {name.lower() for name in response.headers}
    assert "You're unsubscribed" in response.body.decode()
    (entry,) = ledger()
    assert (entry.kind.value, entry.value, entry.reason.value, entry.source) == (
        "email", "ada@example.com", "unsubscribed", "unsubscribe")


@pytest.mark.parametrize("body,content_type", [(b"", None), (b"", "application/x-www-form-urlencoded"),
                                               (b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded")],
                         ids=["no-body-no-type", "empty-form", "rfc8058-body"])
def test_the_post_needs_no_particular_body(api, optout, body, content_type):
    _, mail = sent_survey(api, optout)
    response = one_click(api, unsubscribe_path(mail), "raw", body=body, content_type=content_type)
    assert response.status_code == 200, response.body
    assert [e.value for e in ledger()] == ["ada@example.com"]


def test_the_pages_own_button_unsubscribes(api, optout):
    _, mail = sent_survey(api, optout)
    path = unsubscribe_path(mail)
    html = api.http.get(path, headers={"User-Agent": BROWSER}).body.decode()
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    response = api.http.post(path, headers={"User-Agent": BROWSER, "Content-Type": "application/x-www-form-urlencoded"},
                             body=urlencode(fields).encode())
    assert response.status_code == 200 and "You're unsubscribed" in response.body.decode()
    assert len(ledger()) == 1


def test_unsubscribing_twice_answers_200_and_keeps_the_first_entry(api, optout, clock):
    _, mail = sent_survey(api, optout)
    path = unsubscribe_path(mail)
    assert one_click(api, path).status_code == 200
    (first,) = ledger()

    clock.advance(3600)
    again = one_click(api, path, "multipart")

    assert again.status_code == 200 and "You're unsubscribed" in again.body.decode()
    assert ledger() == [first]


def test_unsubscribing_works_after_the_survey_closed(api, optout, clock):
    survey_id, mail = sent_survey(api, optout)
    path = unsubscribe_path(mail)
    clock.advance(timedelta(days=60).total_seconds())
    # The survey itself is closed...
    assert api.http.get(path_of(score_links(mail.part("plain"))[5]),
                        headers={"User-Agent": BROWSER}).status_code == 410
    # ...but its opt-out still works.
    assert api.http.get(path, headers={"User-Agent": BROWSER}).status_code == 200
    assert one_click(api, path).status_code == 200
    assert [e.reason.value for e in ledger()] == ["unsubscribed"]


def _forged(token: str) -> list[str]:
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")     # right survey id, wrong secret
    other_id = ("B" if token[0] != "B" else "C") + token[1:]       # wrong survey id, right secret
    return [flipped, other_id, "A" * 32, token[:-1], token + "x", "not-a-token"]


def test_a_forged_or_unknown_token_gets_404_and_writes_nothing(api, optout):
    from tests.functional.helpers import stored_items

    _, mail = sent_survey(api, optout)
    token = unsubscribe_path(mail).split("/")[2]
    before = stored_items(optout)
    for forged in _forged(token):
        assert api.http.get(f"/u/{forged}", headers={"User-Agent": BROWSER}).status_code == 404, forged
        response = one_click(api, f"/u/{forged}")
        assert response.status_code == 404, forged
        # The page names nobody (its random CSP nonce may spell "ada" by chance: left out of the check).
        assert "ada" not in re.sub(r'nonce="[^"]*"', "", response.body.decode()).lower()
    assert stored_items(optout) == before
    assert ledger() == []


def test_an_sms_surveys_token_unsubscribes_no_email(api, optout):
    from tests.functional.helpers import links_in

    post(api, interaction(channel="sms"))
    optout.run_jobs()
    ((_, text),) = optout.sms()
    token = path_of(links_in(text)[0]).split("/")[2]
    assert one_click(api, f"/u/{token}").status_code == 404
    assert ledger() == []


# --- the footer ---------------------------------------------------------------------------------

def test_both_parts_show_an_unsubscribe_link_and_the_postal_address(api, optout):
    _, mail = sent_survey(api, optout)
    url = str(mail.message["List-Unsubscribe"])[1:-1]
    text, html = mail.part("plain"), mail.part("html")

    assert re.search(rf"^Unsubscribe[^\n]*: {re.escape(url)}$", text, re.M)
    assert POSTAL_ADDRESS in text
    assert re.search(rf'<a href="{re.escape(url)}"[^>]*>Unsubscribe</a>', html)
    assert POSTAL_ADDRESS in html


def test_the_text_part_still_has_exactly_one_line_per_score(api, optout):
    for kind, scale in (("csat", range(1, 6)), ("nps", range(0, 11))):
        # One customer each: a customer surveyed recently may be throttled.
        _, mail = sent_survey(api, optout, interaction_id=f"zd-{kind}", survey=kind,
                              customer={"id": f"cus_{kind}", "email": f"{kind}@example.com", "name": "Ada"})
        text = mail.part("plain")
        assert sorted(score_links(text)) == list(scale)
        # Only score lines start with a number (the postal address above does too, unless prefixed).
        numbered = [line for line in text.splitlines() if re.match(r"\d", line)]
        assert [int(re.match(r"\d+", line).group()) for line in numbered] == list(scale)
        assert not [url for url in score_links(text).values() if "/u/" in url]


# --- what the opt-out stops ----------------------------------------------------------------------

def test_after_unsubscribing_a_later_interaction_for_that_address_is_suppressed(api, optout):
    _, mail = sent_survey(api, optout)
    assert one_click(api, unsubscribe_path(mail)).status_code == 200

    # Another ticket, another customer id in another helpdesk, the address spelled differently.
    later = post(api, interaction(interaction_id="zd-50000",
                                  customer={"id": "cus_other", "email": "ADA@example.com", "name": "Ada"}))

    assert later.status_code == 200, later.body
    body = json.loads(later.body)
    assert body["status"] == "suppressed" and body["reason"]
    optout.run_jobs()
    assert len(optout.emails()) == 1  # only the first survey's
