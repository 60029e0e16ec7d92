"""The scanner judgement at the local stage's short waits, in a real (headless) Chromium: a scanner
that browses an email's links one after another counts nothing and alerts nobody; a person who
changes their mind twice is counted, and alerted on once."""
from __future__ import annotations

import re

from tests.e2e.surveys.test_survey_in_browser import new_email_survey

LINGER_MS = 3500  # a scanner's browser stays on each page a few seconds, scripts running


def decisions(local_stack, survey_id: str) -> list[str]:
    """The detractor decisions the stack logged for the survey (followups/detractors.py)."""
    return re.findall(rf"survey {survey_id}: detractor decision: ([a-z ]+)", local_stack.output())


def final(outcomes: list[str]) -> list[str]:
    """The decisions taken: a busy survey or an unwritten response puts a decision off to later."""
    return [o for o in outcomes if o not in ("survey still busy", "response not written yet")]


def alerts_about(local_stack, interaction_id: str) -> list[dict]:
    return [m for m in local_stack.outbox()
            if m["channel"] in ("alert", "webhook") and interaction_id in (m["text"] or "")]


def test_a_scanner_browsing_the_links_one_by_one_counts_nothing_and_alerts_nobody(local_stack, browser):
    survey_id, links, _ = new_email_survey(local_stack, survey="nps")
    interaction_id = local_stack.survey(survey_id)["interaction_id"]
    context = browser.new_context()
    scanner = context.new_page()
    for score in sorted(links):
        scanner.goto(links[score])
        scanner.wait_for_timeout(LINGER_MS)  # the scanner's behaviour, not a wait for the app
    context.close()


    # Two decisions were queued: the first score's, which fell due mid-sweep and waited for the
    # survey to be quiet, and the withdrawal's. Both are taken, and neither alerted.
    local_stack.wait_for(lambda: len(final(decisions(local_stack, survey_id))) >= 2, timeout=40,
                         what="both detractor decisions")
    assert final(decisions(local_stack, survey_id)) == ["not a detractor", "not a detractor"]
    assert "survey still busy" in decisions(local_stack, survey_id)
    state = local_stack.survey(survey_id)
    assert state["score"] is None and state["status"] == "sent"
    assert alerts_about(local_stack, interaction_id) == []


def test_a_person_who_changes_their_mind_twice_is_counted_and_alerted_once(local_stack, page):
    survey_id, links, _ = new_email_survey(local_stack, survey="nps")
    interaction_id = local_stack.survey(survey_id)["interaction_id"]
    for score in (2, 6, 4):
        page.goto(links[score])
        local_stack.wait_for(lambda: local_stack.survey(survey_id)["score"] == score, timeout=15,
                             what=f"score {score} counted")

    local_stack.wait_for(lambda: "alerted" in decisions(local_stack, survey_id), timeout=40, what="the alert")
    found = alerts_about(local_stack, interaction_id)
    assert sorted(m["channel"] for m in found) == ["alert", "webhook"]
    assert "NPS 4" in next(m for m in found if m["channel"] == "alert")["text"]
    state = local_stack.survey(survey_id)
    assert state["score"] == 4 and state["status"] == "responded"
    assert decisions(local_stack, survey_id).count("alerted") == 1
