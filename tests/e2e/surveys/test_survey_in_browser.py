"""A person in a real (headless) Chromium, against the whole local stack."""
from __future__ import annotations

import re
import time
import uuid

import requests


def score_links(text: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d+) - [^:]+: (\S+)$", text, re.M)}


def new_email_survey(local_stack, survey: str = "csat", locale: str = "en") -> tuple[str, dict[int, str], str]:
    address = f"p{uuid.uuid4().hex[:8]}@example.com"
    created = local_stack.post_interaction(
        interaction_id=f"br-{uuid.uuid4().hex[:10]}", survey=survey,
        customer={"id": f"cus_{address[:9]}", "email": address, "name": "Grace Hopper", "locale": locale},
        agent={"id": "agt_7", "name": "Sam"}, team="billing")
    email = local_stack.message_to(address)
    return created["survey_id"], score_links(email["text"]), email["html"]


def test_a_click_from_the_email_is_recorded_then_the_comment_is_saved(local_stack, page):
    survey_id, links, html = new_email_survey(local_stack)
    assert set(links) == {1, 2, 3, 4, 5}

    page.goto(links[2])
    assert page.locator("#chosen-score").inner_text() == "2"
    # No further click: staying on the page records the score within 10 s.
    recorded = local_stack.wait_for(lambda: local_stack.survey(survey_id)["score"] == 2, timeout=10,
                                    what="the score to be recorded")
    assert recorded
    page.wait_for_selector("text=Your answer is saved")

    page.fill("textarea[name=comment]", "The refund took three weeks.")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Thank you for your feedback")
    state = local_stack.survey(survey_id)
    assert state["score"] == 2 and state["comment"] == "The refund took three weeks."
    assert state["status"] == "responded"


def test_a_spanish_page_speaks_spanish_in_its_script_too(local_stack, page):
    survey_id, links, _ = new_email_survey(local_stack, locale="es-AR")
    page.goto(links[4])
    assert page.locator("html").get_attribute("lang") == "es"
    page.wait_for_selector("text=Su respuesta está guardada")  # written by the page's script once confirmed
    assert local_stack.survey(survey_id)["score"] == 4
    page.click("button[type=submit]")
    page.wait_for_selector("text=¡Gracias por su opinión!")


def test_a_detractor_gives_exactly_one_alert_and_one_webhook_post(local_stack, page):
    survey_id, links, _ = new_email_survey(local_stack)
    interaction_id = local_stack.survey(survey_id)["interaction_id"]
    page.goto(links[1])
    local_stack.wait_for(lambda: local_stack.survey(survey_id)["score"] == 1, timeout=10, what="score 1")
    page.fill("textarea[name=comment]", "Nobody called back.")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Thank you for your feedback")

    def alerts():
        found = [m for m in local_stack.outbox() if interaction_id in (m["text"] or "")
                 and m["channel"] in ("alert", "webhook")]
        return found if len(found) >= 2 else None

    found = local_stack.wait_for(alerts, timeout=20, what="the alert and the webhook post")
    time.sleep(2)  # anything duplicated would have arrived by now
    found = [m for m in local_stack.outbox() if interaction_id in (m["text"] or "")
             and m["channel"] in ("alert", "webhook")]  # its lifecycle events name it too
    assert sorted(m["channel"] for m in found) == ["alert", "webhook"]
    alert = next(m for m in found if m["channel"] == "alert")
    assert "Nobody called back." in alert["text"] and "Sam" in alert["text"] and "billing" in alert["text"]


def test_changing_ones_mind_with_another_link_changes_the_score(local_stack, page):
    survey_id, links, _ = new_email_survey(local_stack, survey="nps")
    page.goto(links[3])
    local_stack.wait_for(lambda: local_stack.survey(survey_id)["score"] == 3, timeout=10, what="score 3")
    page.goto(links[9])
    local_stack.wait_for(lambda: local_stack.survey(survey_id)["score"] == 9, timeout=10, what="score 9")


def test_a_scanner_that_runs_scripts_and_opens_every_link_records_nothing(local_stack, browser):
    survey_id, links, html = new_email_survey(local_stack)
    honeypot = re.search(r'href="([^"]+/h/[^"]+)"', html).group(1)
    # Link checkers: HEAD then GET of every link, then a headless browser opening every page.
    for url in [*links.values(), honeypot]:
        requests.head(url, timeout=5, headers={"User-Agent": "Mozilla/5.0 (compatible; SafeLinks)"})
        requests.get(url, timeout=5)
    context = browser.new_context()
    pages = []
    for url in links.values():
        scanner_page = context.new_page()
        scanner_page.goto(url)
        pages.append(scanner_page)
    time.sleep(8)  # well past the page's confirmation delay, every page still open
    context.close()
    state = local_stack.survey(survey_id)
    assert state["score"] is None and state["status"] == "sent"
    opens = requests.get(f"{local_stack.app_url}/v1/surveys/{survey_id}/opens", headers=local_stack.headers,
                         timeout=5).json()["opens"]
    assert opens and all(o["verdict"] == "automated" and o["reason"] for o in opens)


def test_an_sms_survey_fits_one_segment_and_its_page_offers_every_score(local_stack, page):
    phone = "+1415555" + str(uuid.uuid4().int)[:4]
    created = local_stack.post_interaction(
        interaction_id=f"sms-{uuid.uuid4().hex[:8]}", survey="nps", channel="sms",
        customer={"id": f"cus_{phone[1:]}", "phone": phone, "name": "Ada"}, agent={"id": "agt_7", "name": "Sam"})
    sms = local_stack.message_to(phone, channel="sms")
    urls = re.findall(r"https?://\S+", sms["text"])
    assert len(urls) == 1 and len(sms["text"]) <= 160
    page.goto(urls[0])
    buttons = page.locator("button[name=score]")
    assert [buttons.nth(i).inner_text() for i in range(buttons.count())] == [str(s) for s in range(11)]
    page.click("button[name=score][value='10']")
    page.wait_for_selector("text=Thank you for your feedback")
    assert local_stack.survey(created["survey_id"])["score"] == 10


def test_unknown_and_truncated_links_get_a_friendly_404(local_stack, page):
    response = page.goto(f"{local_stack.app_url}/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/3")
    assert response.status == 404
    assert "couldn't find this survey" in page.content()
    response = page.goto(f"{local_stack.app_url}/s/short/3")
    assert response.status == 404
