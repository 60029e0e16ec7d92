"""Mail scanners fetch every link of a survey email; none of that may count as a response, while a
person who opens one link later still counts."""
from __future__ import annotations

import json

from chalicelib.followups.lifecycle import followup_id_for
from tests.functional.helpers import (
    BROWSER, SCRIPT, choose_path, confirm, open_id_in, open_page, opens, send_email_survey, stored_survey, submit_form,
    survey, token_of,
)
from tests.repos import Repositories

OUTLOOK_SAFE_LINKS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " \
                     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"


def scanner_sweep(api, links, clock) -> list:
    """Every score link fetched by a scripted client and by a headless browser, each with a plain
    GET and with HEAD then GET, all within a second; returns the pages served, to be confirmed
    afterwards like a scanner that runs the page's script."""
    pages = []
    for _, link in sorted(links.items()):
        for agent in (SCRIPT, OUTLOOK_SAFE_LINKS):
            pages.append((link, agent, open_page(api, link, agent)))
            clock.advance(0.03)
            assert api.http.head(link, headers={"User-Agent": agent}).status_code == 200
            clock.advance(0.03)
            pages.append((link, agent, open_page(api, link, agent)))
            clock.advance(0.03)
    assert all(page.status_code == 200 for _, _, page in pages)
    return pages


def assert_all_opens_automated(api, survey_id, expected: int):
    seen = opens(api, survey_id)
    assert len(seen) == expected
    for view in seen:
        assert view["verdict"] == "automated", view
        assert view["reason"], view


def test_a_scanner_fetching_and_confirming_every_link_records_no_response(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    assert sorted(links) == [1, 2, 3, 4, 5]
    pages = scanner_sweep(api, links, clock)
    assert survey(api, survey_id)["score"] is None

    # A scanner that runs the page's script posts each page's confirmation after the dwell.
    clock.advance(3)
    for link, agent, page in pages:
        response = confirm(api, link, page, user_agent=agent)
        assert response.status_code == 200
        assert json.loads(response.body) == {"recorded": False, "score": None}
        clock.advance(0.1)

    state = survey(api, survey_id)
    assert state["score"] is None and state["status"] == "sent" and state["responded_at"] is None
    assert stored_survey(survey_id).response_version == 0
    assert_all_opens_automated(api, survey_id, expected=30)  # per link and agent: GET, HEAD, GET
    reasons = {view["reason"] for view in opens(api, survey_id)}
    assert any("HEAD" in r for r in reasons) and any("User-Agent" in r for r in reasons)
    assert any("scores opened within" in r for r in reasons)
    assert [job for job, _ in stack.delays if job.kind == "handle_response"] == []


def test_a_scanner_that_also_submits_every_form_records_no_response(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    pages = [(link, open_page(api, link, OUTLOOK_SAFE_LINKS)) for _, link in sorted(links.items())]
    clock.advance(2)
    for link, page in pages:
        score = link.rsplit("/", 1)[1]
        thanks = submit_form(api, choose_path(link), {"open_id": open_id_in(page.body.decode()), "score": score},
                             user_agent=OUTLOOK_SAFE_LINKS)
        assert thanks.status_code == 200 and "We saved your answer" not in thanks.body.decode()
        clock.advance(0.2)
    assert survey(api, survey_id)["score"] is None
    assert_all_opens_automated(api, survey_id, expected=5)


def test_the_honeypot_link_makes_a_confirmation_right_after_it_refused(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    token = token_of(links[1])
    html = stack.emails()[0].part("html")
    assert f"/h/{token}" in html  # the hidden link is in the email, for machines only
    assert f"/h/{token}" not in stack.emails()[0].part("plain")

    honeypot = api.http.get(f"/h/{token}", headers={"User-Agent": OUTLOOK_SAFE_LINKS})
    assert honeypot.status_code == 200 and honeypot.body == b""
    clock.advance(1)
    page = open_page(api, links[1], OUTLOOK_SAFE_LINKS)
    clock.advance(3)
    assert json.loads(confirm(api, links[1], page, user_agent=OUTLOOK_SAFE_LINKS).body) == \
        {"recorded": False, "score": None}

    assert survey(api, survey_id)["score"] is None
    seen = opens(api, survey_id)
    assert [v["honeypot"] for v in seen] == [True, False]
    assert_all_opens_automated(api, survey_id, expected=2)
    assert "hidden link" in seen[1]["reason"]


def test_a_person_opening_one_link_a_minute_after_a_scanner_sweep_is_counted(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    token = token_of(links[1])
    api.http.get(f"/h/{token}", headers={"User-Agent": OUTLOOK_SAFE_LINKS})
    clock.advance(0.1)
    for link, agent, page in scanner_sweep(api, links, clock):
        confirm(api, link, page, user_agent=agent)
    assert survey(api, survey_id)["score"] is None

    clock.advance(61)  # the person reads the email a minute later and clicks 4
    page = open_page(api, links[4], BROWSER)
    clock.advance(3)
    assert json.loads(confirm(api, links[4], page).body) == {"recorded": True, "score": 4}

    state = survey(api, survey_id)
    assert state["score"] == 4 and state["status"] == "responded"
    verdicts = [v["verdict"] for v in opens(api, survey_id)]
    assert verdicts.count("counted") == 1 and verdicts[-1] == "counted"
    assert set(verdicts[:-1]) == {"automated"}


def test_a_person_clicking_within_the_honeypot_window_is_refused_then_counted_when_retrying_later(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    api.http.get(f"/h/{token_of(links[1])}", headers={"User-Agent": OUTLOOK_SAFE_LINKS})
    clock.advance(30)
    early = open_page(api, links[5])
    clock.advance(3)
    assert json.loads(confirm(api, links[5], early).body)["recorded"] is False

    clock.advance(60)
    again = open_page(api, links[5])
    clock.advance(3)
    assert json.loads(confirm(api, links[5], again).body) == {"recorded": True, "score": 5}
    assert survey(api, survey_id)["score"] == 5


def test_a_scanner_confirming_each_link_one_after_another_ends_with_no_response_and_no_alert(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    for _, link in sorted(links.items()):
        page = open_page(api, link, OUTLOOK_SAFE_LINKS)
        clock.advance(3)
        confirm(api, link, page, user_agent=OUTLOOK_SAFE_LINKS)
        clock.advance(0.5)

    state = survey(api, survey_id)
    assert state["score"] is None and state["status"] == "sent"
    assert any("different scores confirmed" in (v["reason"] or "") for v in opens(api, survey_id))
    stack.run_jobs()
    assert stack.alerts() == []
    assert Repositories().followups.get(followup_id_for(survey_id)) is None
