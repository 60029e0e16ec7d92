"""A detractor says why in a real (headless) Chromium: two reasons, "not resolved" and a comment."""
from __future__ import annotations

import uuid

from tests.e2e.surveys.test_survey_in_browser import score_links


def test_a_detractor_ticks_two_reasons_answers_no_and_comments(local_stack, page):
    address = f"w{uuid.uuid4().hex[:8]}@example.com"
    created = local_stack.post_interaction(
        interaction_id=f"why-{uuid.uuid4().hex[:10]}", survey="csat", ask_resolved=True,
        customer={"id": f"cus_{address[:9]}", "email": address, "name": "Grace Hopper", "locale": "en"},
        agent={"id": "agt_7", "name": "Sam"}, team="billing")
    survey_id = created["survey_id"]
    links = score_links(local_stack.message_to(address)["text"])

    page.goto(links[1])
    reasons = page.locator("#reasons")
    assert reasons.is_visible()
    # The page's script hides the reasons for a promoter's score and shows them again for a low one.
    page.click("summary")
    page.click("label[for=score-5]")
    reasons.wait_for(state="hidden")
    page.click("label[for=score-1]")
    reasons.wait_for(state="visible")

    page.check("#reason-waited")
    page.check("#reason-repeated")
    page.click("label[for=resolved-no]")
    page.fill("textarea[name=comment]", "Still waiting for my refund after three calls.")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Thank you for your feedback")
    page.wait_for_selector("text=What went wrong: Waited too long, Had to repeat myself")

    state = local_stack.survey(survey_id)  # the thanks page answers after the write
    assert state["score"] == 1 and state["reasons"] == ["waited", "repeated"]
    assert state["resolved"] is False and state["comment"] == "Still waiting for my refund after three calls."
