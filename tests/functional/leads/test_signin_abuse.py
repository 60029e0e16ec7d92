"""The sign-in page under attack (issue 12): nobody can silently lock a lead out, nothing tells a
lead's address from a stranger's (not the page, not the AWS calls it costs), a lead's link names
the stage's host whatever the request's Host said, and a form without Sec-Fetch-Site that says
`Origin: null` is refused as cross-site."""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest

from tests.functional.signin_helpers import (
    BASE, add_lead, cookie_of, csrf_of, from_client, get, is_signed_in, path_of, post_form, request_link, sign_in_links,
)

LEAD, STRANGER = "sam@example.com", "eve@example.com"
ATTACKER, HOME = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def lead(api, stack):
    return add_lead(LEAD)


def _normalised(body: bytes, email: str) -> str:
    return re.sub(r'nonce="[^"]+"', "", body.decode().replace(email, "EMAIL"))


@contextmanager
def aws_operations():
    """Every AWS call made meanwhile, in order: (service, operation, the kind of item for DynamoDB)."""
    import botocore.client

    calls: list[tuple] = []
    original = botocore.client.BaseClient._make_api_call

    def recorded(client, operation, params):
        item = params.get("Key") or params.get("Item") or {}
        kind = item.get("pk", {}).get("S", "").partition("#")[0] or None
        calls.append((client.meta.service_model.service_name, operation, kind))
        return original(client, operation, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
        yield calls


# --- Medium: anyone could lock a lead out ---------------------------------------------------------

def test_a_flood_from_one_place_is_refused_there_and_the_lead_still_gets_a_link(api, stack, lead):
    with from_client(ATTACKER):
        answers = [request_link(api, LEAD) for _ in range(8)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429] * 3
    with from_client(HOME):
        mine = request_link(api, LEAD)
    assert mine.status_code == 200 and b"Check your email" in mine.body
    assert len(sign_in_links(stack, LEAD)) == 6


def test_a_refusal_says_so_and_when_and_reads_the_same_for_a_lead_and_a_stranger(api, stack, lead, clock):
    with from_client(ATTACKER):
        for _ in range(5):
            assert request_link(api, "kim@example.com").status_code == 200
        clock.advance(60)
        for_lead, for_stranger = request_link(api, LEAD), request_link(api, STRANGER)
    assert for_lead.status_code == for_stranger.status_code == 429
    assert for_lead.headers["Retry-After"] == str(14 * 60)
    assert _normalised(for_lead.body, LEAD) == _normalised(for_stranger.body, STRANGER)
    assert b"Too many sign-in requests from here" in for_lead.body and b"try again in 14 minutes" in for_lead.body
    assert b"Check your email" not in for_lead.body
    assert sign_in_links(stack, LEAD) == []

    clock.advance(14 * 60)
    with from_client(ATTACKER):
        assert request_link(api, LEAD).status_code == 200
    assert len(sign_in_links(stack, LEAD)) == 1


def test_many_places_get_at_most_ten_links_to_one_address_and_are_told_alike(api, stack, lead):
    answers: dict[str, list] = {LEAD: [], STRANGER: []}
    for n in range(12):
        with from_client(f"192.0.2.{n}"):
            for address in answers:
                answers[address].append(request_link(api, address))
    for address, got in answers.items():
        assert [answer.status_code for answer in got] == [200] * 10 + [429] * 2, address
    assert _normalised(answers[LEAD][-1].body, LEAD) == _normalised(answers[STRANGER][-1].body, STRANGER)
    assert b"Too many sign-in requests for this address" in answers[LEAD][-1].body
    assert len(sign_in_links(stack, LEAD)) == 10 and sign_in_links(stack, STRANGER) == []


# --- Low: a lead's address told apart by timing ---------------------------------------------------

def test_a_lead_and_a_stranger_cost_the_same_aws_calls_and_the_email_goes_from_the_queue(api, stack, lead):
    with aws_operations() as for_lead:
        assert request_link(api, LEAD).status_code == 200
    with aws_operations() as for_stranger:
        assert request_link(api, STRANGER).status_code == 200
    assert for_lead == for_stranger
    assert ("sqs", "SendMessage", None) in for_lead
    assert not any(service == "sesv2" for service, _, _ in for_lead)
    assert len(sign_in_links(stack, LEAD)) == 1 and sign_in_links(stack, STRANGER) == []


def test_an_ses_failure_is_no_500_and_the_queue_sends_the_link_once(api, stack, lead, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.platform import aws, jobs

    sesv2 = aws.client("sesv2")
    working = sesv2.send_email

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded"}}, "SendEmail")

    monkeypatch.setattr(sesv2, "send_email", throttled)
    response = request_link(api, LEAD)
    assert response.status_code == 200 and b"Check your email" in response.body
    ((job, _),) = stack.delays
    delivery = api.events.generate_sqs_event(message_bodies=[jobs.body_of(job)], queue_name="closeloop-jobs")
    with pytest.raises(ClientError):  # the job fails: SQS delivers it again
        api.lambda_.invoke("handle_job", delivery)
    assert stack.emails() == []

    monkeypatch.setattr(sesv2, "send_email", working)
    stack.run_jobs()  # the queue's own delivery
    api.lambda_.invoke("handle_job", delivery)  # and a duplicate one: at least once, never twice
    (link,) = sign_in_links(stack, LEAD)
    assert is_signed_in(api, cookie_of(post_form(api, path_of(link))))


# --- Low: links built from the request's Host -------------------------------------------------------

def test_the_link_is_on_the_stages_public_url_whatever_host_the_request_named(api, stack, lead, monkeypatch):
    from chalicelib.platform import settings

    monkeypatch.setenv("CLOSELOOP_PUBLIC_URL", "https://dashboard.example.com")
    settings.reset_settings()
    forged = {"Host": "evil.example", "X-Forwarded-Proto": "https"}
    assert post_form(api, "/signin", {"email": LEAD}, headers=forged).status_code == 200
    (link,) = sign_in_links(stack, LEAD)
    assert re.fullmatch(r"https://dashboard\.example\.com/signin/[A-Za-z0-9_-]{43}", link), link


def test_without_a_public_url_the_link_is_where_the_request_came(api, stack, lead):
    request_link(api, LEAD)
    (link,) = sign_in_links(stack, LEAD)
    assert link.startswith(f"{BASE}/signin/")


# --- Low: Origin: null without Sec-Fetch-Site ----------------------------------------------------

def test_origin_null_without_sec_fetch_site_is_refused_as_cross_site(api, stack, lead):
    null = {"Origin": "null"}
    refused = post_form(api, "/signin", {"email": LEAD}, headers=null)
    assert refused.status_code == 403 and b"another site" in refused.body
    assert sign_in_links(stack, LEAD) == []

    request_link(api, LEAD)
    path = path_of(sign_in_links(stack, LEAD)[0])
    spend = post_form(api, path, headers=null)
    assert spend.status_code == 403 and "Set-Cookie" not in spend.headers
    cookie = cookie_of(post_form(api, path))  # the refused post did not spend the link
    signout = post_form(api, "/signout", {"csrf": csrf_of(cookie)}, cookie, null)
    assert signout.status_code == 403 and is_signed_in(api, cookie)
    # What a browser that sends Sec-Fetch-Site says on our own form still signs out.
    ours = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    assert post_form(api, "/signout", {"csrf": csrf_of(cookie)}, cookie, ours).status_code == 303


def test_lead_pages_let_older_browsers_send_their_real_origin(api, stack, lead):
    """Without Sec-Fetch-Site, the Origin header is all there is: the lead pages' Referrer-Policy
    lets browsers send it on our own forms (no-referrer made it "null") and nothing to other sites."""
    request_link(api, LEAD)
    path = path_of(sign_in_links(stack, LEAD)[0])
    for page in (get(api, "/signin"), get(api, path)):
        assert page.status_code == 200 and page.headers["Referrer-Policy"] == "same-origin"
    response = post_form(api, path, headers={"Origin": BASE})
    assert response.status_code == 303
    assert get(api, "/dashboard", cookie_of(response)).headers["Referrer-Policy"] == "same-origin"


def test_a_link_still_unsent_fifteen_minutes_after_it_was_asked_for_is_dropped(api, stack, lead, clock):
    assert request_link(api, LEAD).status_code == 200
    clock.advance(15 * 60)
    assert stack.run_jobs() == 1
    assert stack.emails() == []
