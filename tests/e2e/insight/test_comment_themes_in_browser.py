"""The comments page's theme filter in a real (headless) Chromium against the local stack: two
customers comment on their surveys in the browser, a lead signs in from the emailed link, clicks the
"Refunds and billing" theme and sees only the refund comment, tagged with its theme."""
from __future__ import annotations

import re
import uuid

from tests.e2e.insight.test_dashboard_in_browser import _signin_link
from tests.e2e.surveys.test_survey_in_browser import new_email_survey

LEAD = "sam@example.com"  # a routing owner of the local stage: on the leads' list (devstack/resources.py)


def _comment(local_stack, page, score: int, comment: str) -> str:
    survey_id, links, _html = new_email_survey(local_stack)
    page.goto(links[score])
    local_stack.wait_for(lambda: local_stack.survey(survey_id)["score"] == score, timeout=15, what="the score")
    page.wait_for_selector("text=Your answer is saved")
    page.fill("textarea[name=comment]", comment)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Thank you for your feedback")
    return survey_id


def signin_emails(local_stack) -> list[dict]:
    return [m for m in local_stack.outbox() if m["channel"] == "email" and LEAD in m["to"]
            and "/signin/" in (m["text"] or "")]


def test_a_lead_filters_the_comments_by_theme(local_stack, browser):
    context = browser.new_context()
    page = context.new_page()
    marker = uuid.uuid4().hex[:6]
    refund, rude = f"Where is my refund {marker}", f"The agent was rude {marker}"
    refund_id = _comment(local_stack, page, 2, refund)
    _comment(local_stack, page, 1, rude)
    assert local_stack.survey(refund_id)["themes"] == ["billing"]

    # The lead also gets email from routing (the detractors above are assigned to them): the
    # sign-in link is the first new email to the lead that holds one.
    earlier = len(signin_emails(local_stack))
    page.goto(local_stack.app_url + "/dashboard")
    page.fill("input[name=email]", LEAD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your email")
    email = local_stack.wait_for(lambda: signin_emails(local_stack)[earlier:], timeout=60, what="the sign-in email")[0]
    page.goto(_signin_link(email["text"], local_stack.app_url))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard$"))

    page.goto(local_stack.app_url + "/dashboard/comments")
    assert page.locator(f"text={rude}").count() == 1 and page.locator(f"text={refund}").count() == 1
    chip = page.locator("nav[aria-label=Themes] a", has_text="Refunds and billing")
    assert re.search(r"\((\d+)\)", chip.inner_text())  # its count over the range
    chip.click()
    page.wait_for_url(re.compile(r".*theme=billing.*"))
    assert page.locator(f"text={refund}").count() == 1 and page.locator(f"text={rude}").count() == 0
    card = page.locator("li.card", has_text=refund)
    assert card.locator(".flag.theme", has_text="Refunds and billing").count() == 1
    assert page.locator("nav[aria-label=Themes] a[aria-current=page]").inner_text().startswith("Refunds and billing")
    context.close()
