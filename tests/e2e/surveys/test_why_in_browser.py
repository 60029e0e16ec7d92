"""A detractor says why in a real (headless) Chromium: two reasons, "not resolved" and a comment about
a refund; then the survey, the alert, the follow-up and the reports each show all three."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import requests

from tests.e2e.surveys.test_survey_in_browser import score_links


def why_report(local_stack, group_by: str) -> dict:
    """GET /v1/reports/summary of CSAT around today: {key: group} (or the one group of "all")."""
    today = datetime.now(timezone.utc).date()
    response = requests.get(f"{local_stack.app_url}/v1/reports/summary", headers=local_stack.headers, timeout=10,
                            params={"survey": "csat", "from": (today - timedelta(days=1)).isoformat(),
                                    "to": (today + timedelta(days=1)).isoformat(), "group_by": group_by})
    assert response.status_code == 200, response.text
    return {group["key"]: group for group in response.json()["groups"]}


def counted(group: dict | None, *path: str) -> int:
    for name in path:
        group = (group or {}).get(name)
    return group or 0


def test_a_detractor_ticks_two_reasons_answers_no_and_comments(local_stack, page):
    address = f"w{uuid.uuid4().hex[:8]}@example.com"
    created = local_stack.post_interaction(
        interaction_id=f"why-{uuid.uuid4().hex[:10]}", survey="csat", ask_resolved=True,
        customer={"id": f"cus_{address[:9]}", "email": address, "name": "Grace Hopper", "locale": "en"},
        agent={"id": "agt_7", "name": "Sam"}, team="billing")
    survey_id = created["survey_id"]
    links = score_links(local_stack.message_to(address)["text"])
    # The session's stack serves other tests too: the reports are compared before and after.
    before = {by: why_report(local_stack, by) for by in ("reason", "theme", "all")}

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

    assert "billing" in state["themes"]

    # The alert (after the comment wait, once the survey is quiet) names all three.
    alert = local_stack.wait_for(lambda: next((m for m in local_stack.outbox() if m["channel"] == "alert"
                                               and f"Interaction: {state['interaction_id']}" in m["text"]), None),
                                 timeout=40, what="the detractor alert")
    assert "Reasons: Waited too long, Had to repeat myself" in alert["text"]
    assert "Resolved: no" in alert["text"] and "Refunds and billing" in alert["text"]

    # The follow-up it opened carries them.
    followup = requests.get(f"{local_stack.app_url}/v1/followups/fu_{survey_id}", headers=local_stack.headers,
                            timeout=10).json()
    assert followup["reasons"] == ["waited", "repeated"] and followup["resolved"] is False
    assert "billing" in followup["themes"]

    # The reports count the response once under each reason and theme, and in the FCR.
    after = {by: why_report(local_stack, by) for by in ("reason", "theme", "all")}
    for by, key in (("reason", "waited"), ("reason", "repeated"), ("theme", "billing")):
        assert counted(after[by].get(key), "responses") == counted(before[by].get(key), "responses") + 1, key
        assert after[by][key]["label"] and after[by][key]["share"] is not None
    assert counted(after["reason"].get("not_solved"), "responses") == counted(before["reason"].get("not_solved"),
                                                                             "responses")
    assert counted(after["all"]["all"], "fcr", "answered") == counted(before["all"]["all"], "fcr", "answered") + 1
    assert counted(after["all"]["all"], "fcr", "resolved") == counted(before["all"]["all"], "fcr", "resolved")
