"""The public survey pages: bad links, closed surveys, scores off the scale, and what a person sees
and submits."""
from __future__ import annotations

import base64
import json
import re
import secrets

import pytest

from chalicelib.platform.clock import parse_iso
from tests.functional.helpers import (
    BROWSER, choose_path, confirm, open_id_in, open_page, opens, path_of, send_email_survey, send_sms_survey,
    stored_survey, submit_form, survey, token_of,
)

# What a page about a survey must never show to someone without its token.
SURVEY_DATA = ["Ada", "Lovelace", "Sam", "billing", "zd-48213", "cus_19", "ada@example.com", "pro",
               "How satisfied are you"]


def header(response, name: str) -> str:
    return next((v for k, v in response.headers.items() if k.lower() == name.lower()), "")


def assert_html(response, status: int):
    assert response.status_code == status, response.body[:300]
    assert header(response, "Content-Type").startswith("text/html")
    assert header(response, "Referrer-Policy") == "no-referrer"
    assert "default-src 'none'" in header(response, "Content-Security-Policy")


def forged_tokens(token: str) -> dict[str, str]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    other_secret = base64.urlsafe_b64encode(raw[:8] + secrets.token_bytes(16)).decode()
    flipped_last = token[:-1] + ("A" if token[-1] != "A" else "B")
    return {
        "unknown": secrets.token_urlsafe(24),
        "right survey, other secret": other_secret,
        "last character changed": flipped_last,
        "truncated by one": token[:-1],
        "truncated by half": token[:16],
        "one character too many": token + "A",
        "padded": token + "==",
        "not base64": "!" * 32,
    }


def test_unknown_forged_or_truncated_tokens_get_a_404_page_that_reveals_nothing(api, stack):
    survey_id, links = send_email_survey(api, stack)
    token = token_of(links[1])
    for name, bad in forged_tokens(token).items():
        for path in (f"/s/{bad}", f"/s/{bad}/1", f"/s/{bad}/5", f"/h/{bad}"):
            page = open_page(api, path)
            assert_html(page, 404)
            text = page.body.decode()
            assert "couldn't find this survey" in text, (name, path)
            for secret in SURVEY_DATA + [survey_id, token]:
                assert secret not in text, (name, path, secret)
        confirmed = confirm(api, f"/s/{bad}/1", open_id="aaaaaaaaaaaa")
        assert confirmed.status_code == 404 and json.loads(confirmed.body)["error"] == "not_found"
        submitted = submit_form(api, f"/s/{bad}", {"score": "1", "comment": "forged"})
        assert_html(submitted, 404)
    state = survey(api, survey_id)
    assert state["score"] is None and state["comment"] is None and state["status"] == "sent"
    assert opens(api, survey_id) == []  # a bad token leaves no evidence on the survey it names


def test_an_expired_survey_shows_a_410_page_and_counts_nothing(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    page = open_page(api, links[2])  # opened in time, but confirmed too late
    assert page.status_code == 200
    clock.set(parse_iso(survey(api, survey_id)["expires_at"]))

    for path in (links[2], links[5], choose_path(links[2])):
        closed = open_page(api, path)
        assert_html(closed, 410)
        assert "This survey has closed" in closed.body.decode()
        assert "Ada" not in closed.body.decode()
    late = confirm(api, links[2], page)
    assert late.status_code == 410 and json.loads(late.body)["error"] == "expired"
    submitted = submit_form(api, choose_path(links[2]), {"score": "2", "comment": "too late",
                                                         "open_id": open_id_in(page.body.decode())})
    assert_html(submitted, 410)

    state = survey(api, survey_id)
    assert state["status"] == "expired" and state["score"] is None and state["comment"] is None
    assert stored_survey(survey_id).response_version == 0
    assert [o["method"] for o in opens(api, survey_id)] == ["GET"]  # only the view made in time
    assert not [job for job, _ in stack.delays if job.kind == "handle_response"]


@pytest.mark.parametrize("kind,score", [("csat", 0), ("csat", 6), ("csat", 10), ("nps", 11), ("nps", 999)])
def test_a_score_outside_the_scale_is_a_400_and_records_nothing(api, stack, kind, score):
    survey_id, links = send_email_survey(api, stack, survey=kind)
    token = token_of(links[min(links)])

    page = open_page(api, f"/s/{token}/{score}")
    assert_html(page, 400)
    assert "between" in page.body.decode()
    confirmed = confirm(api, f"/s/{token}/{score}", open_id="aaaaaaaaaaaa")
    assert confirmed.status_code == 400
    assert [f["field"] for f in json.loads(confirmed.body)["fields"]] == ["score"]
    assert_html(submit_form(api, f"/s/{token}", {"score": str(score)}), 400)

    state = survey(api, survey_id)
    assert state["score"] is None and state["status"] == "sent"
    assert stored_survey(survey_id).response_version == 0
    assert opens(api, survey_id) == []


@pytest.mark.parametrize("text", ["abc", "1.5", "1000", "%201", "--1", "-1", "²", "١", "+1", " 1"])
def test_a_score_that_is_not_a_number_is_a_404(api, stack, text):
    survey_id, links = send_email_survey(api, stack)
    assert_html(open_page(api, f"/s/{token_of(links[1])}/{text}"), 404)
    assert survey(api, survey_id)["score"] is None


def test_head_of_a_score_link_records_an_automated_open_and_no_response(api, stack):
    survey_id, links = send_email_survey(api, stack)
    response = api.http.head(links[1], headers={"User-Agent": BROWSER})
    assert response.status_code == 200 and response.body == b""

    (seen,) = opens(api, survey_id)
    assert seen["method"] == "HEAD" and seen["score"] == 1
    assert seen["verdict"] == "automated" and "HEAD" in seen["reason"]
    state = survey(api, survey_id)
    assert state["score"] is None and state["status"] == "sent" and state["responded_at"] is None


def test_the_landing_page_offers_a_comment_form_for_the_chosen_score_under_a_strict_policy(api, stack):
    survey_id, links = send_email_survey(api, stack)
    page = open_page(api, links[4])
    assert_html(page, 200)
    html = page.body.decode()

    form = re.search(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    assert form and path_of(form.group(1)) == choose_path(links[4])
    assert re.search(r'<textarea[^>]*\bname="comment"', form.group(2))
    assert re.search(r'name="open_id" value="[A-Za-z0-9_-]{8,32}"', form.group(2))
    assert re.search(r'<input type="radio" name="score" id="score-4" value="4" checked', form.group(2))
    assert len(re.findall(r'type="radio" name="score"[^>]* checked', form.group(2))) == 1
    assert '<span class="chosen" id="chosen-score">4</span>' in html

    policy = header(page, "Content-Security-Policy")
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">' in html and "unsafe-inline" not in policy
    for directive in ("default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in policy
    assert header(page, "Referrer-Policy") == "no-referrer"
    assert header(page, "Cache-Control") == "no-store"
    assert survey(api, survey_id)["score"] is None  # showing the page counted nothing


def test_each_page_view_gets_a_fresh_nonce(api, stack):
    _, links = send_email_survey(api, stack)
    policies = {header(open_page(api, links[3]), "Content-Security-Policy") for _ in range(3)}
    assert len(policies) == 3


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_the_sms_choose_page_lists_every_score_and_its_form_records_the_choice(api, stack, encoding):
    survey_id, link = send_sms_survey(api, stack, survey="nps")
    page = open_page(api, link)
    assert_html(page, 200)
    html = page.body.decode()
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    assert form and path_of(form.group(1)) == link
    buttons = re.findall(r'<button type="submit" name="score" value="(\d+)"', form.group(2))
    assert [int(b) for b in buttons] == list(range(0, 11))
    assert survey(api, survey_id)["score"] is None

    thanks = submit_form(api, link, {"open_id": open_id_in(html), "score": "7"}, encoding=encoding)
    assert_html(thanks, 200)
    assert "We saved your answer: <strong>7</strong>" in thanks.body.decode()
    state = survey(api, survey_id)
    assert state["score"] == 7 and state["status"] == "responded" and state["responded_at"]
    assert [o["verdict"] for o in opens(api, survey_id)] == ["counted"]


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_the_landing_form_stores_the_score_and_the_comment(api, stack, clock, encoding):
    survey_id, links = send_email_survey(api, stack)
    page = open_page(api, links[2])
    clock.advance(20)
    comment = "Waited three days for a refund <b>twice</b> & nobody called back"
    thanks = submit_form(api, choose_path(links[2]),
                         {"open_id": open_id_in(page.body.decode()), "score": "2", "comment": comment},
                         encoding=encoding)
    assert_html(thanks, 200)
    text = thanks.body.decode()
    assert "We saved your answer: <strong>2</strong>" in text
    assert "&lt;b&gt;twice&lt;/b&gt; &amp; nobody" in text and "<b>twice</b>" not in text  # escaped

    state = survey(api, survey_id)
    assert state["score"] == 2 and state["comment"] == comment and state["status"] == "responded"


def test_a_comment_after_the_page_confirmed_itself_is_added_to_the_same_response(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    page = open_page(api, links[2])
    clock.advance(3)
    assert json.loads(confirm(api, links[2], page).body) == {"recorded": True, "score": 2}
    first = survey(api, survey_id)
    clock.advance(40)
    submit_form(api, choose_path(links[2]),
                {"open_id": open_id_in(page.body.decode()), "score": "2", "comment": "Too slow"})

    state = survey(api, survey_id)
    assert (state["score"], state["comment"]) == (2, "Too slow")
    assert state["responded_at"] == first["responded_at"]
    assert stored_survey(survey_id).response_version == 2
    handle_jobs = [job for job, _ in stack.delays if job.kind == "handle_response"]
    assert len(handle_jobs) == 1  # one detractor response, one decision about it


def test_a_later_link_of_another_score_changes_the_score_and_nothing_counts_twice(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    page = open_page(api, links[2])
    clock.advance(4)
    assert json.loads(confirm(api, links[2], page).body) == {"recorded": True, "score": 2}
    first = survey(api, survey_id)
    assert stored_survey(survey_id).response_version == 1

    # The same page confirming again (a reload's script, a retry) changes nothing.
    assert json.loads(confirm(api, links[2], page).body) == {"recorded": True, "score": 2}
    assert stored_survey(survey_id).response_version == 1

    clock.advance(3600)  # an hour later the person thinks better of it
    later = open_page(api, links[4])
    clock.advance(4)
    assert json.loads(confirm(api, links[4], later).body) == {"recorded": True, "score": 4}

    state = survey(api, survey_id)
    assert state["score"] == 4 and state["status"] == "responded"
    assert state["responded_at"] == first["responded_at"]  # the first response time stays
    assert state["response_updated_at"] > first["response_updated_at"]
    assert stored_survey(survey_id).response_version == 2
    assert json.loads(confirm(api, links[4], later).body) == {"recorded": True, "score": 4}
    assert stored_survey(survey_id).response_version == 2
    assert sorted(o["verdict"] for o in opens(api, survey_id)) == ["counted", "counted"]
    assert len([job for job, _ in stack.delays if job.kind == "handle_response"]) == 1


def test_changing_the_score_on_the_landing_form_counts_the_new_score(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    page = open_page(api, links[5])
    clock.advance(4)
    confirm(api, links[5], page)
    clock.advance(30)
    submit_form(api, choose_path(links[5]), {"open_id": open_id_in(page.body.decode()), "score": "3"})
    state = survey(api, survey_id)
    assert state["score"] == 3
    assert stored_survey(survey_id).response_version == 2


@pytest.mark.parametrize("body", [b"{not json", b"[]", b"\"open_id\"", json.dumps({"score": 1}).encode()[:-1]])
def test_a_confirmation_with_a_malformed_body_is_a_400_and_records_nothing(api, stack, body):
    survey_id, links = send_email_survey(api, stack)
    open_page(api, links[3])
    response = api.http.post(links[3], headers={"User-Agent": BROWSER, "Content-Type": "application/json"},
                             body=body)
    assert response.status_code == 400
    assert json.loads(response.body)["fields"][0]["field"] == "body"
    assert survey(api, survey_id)["score"] is None
    assert [o["verdict"] for o in opens(api, survey_id)] == ["pending"]


def test_a_comment_over_2000_characters_is_refused_and_nothing_is_recorded(api, stack):
    survey_id, links = send_email_survey(api, stack)
    page = open_page(api, links[2])
    response = submit_form(api, choose_path(links[2]),
                           {"open_id": open_id_in(page.body.decode()), "score": "2", "comment": "x" * 2001})
    assert_html(response, 400)
    assert "comment" in response.body.decode()
    state = survey(api, survey_id)
    assert state["score"] is None and state["comment"] is None
