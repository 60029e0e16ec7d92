"""`make run`: a customer texts back through the outbox's /sms/inbound; the app answers and acts."""
from __future__ import annotations

import random
import uuid

import requests


def _text(local_stack, sender: str, body: str) -> dict:
    response = requests.post(local_stack.outbox_url + "/sms/inbound", json={"from": sender, "body": body}, timeout=5)
    assert response.status_code == 202, response.text
    return response.json()


def _texts_to(local_stack, phone: str) -> list[dict]:
    return [m for m in local_stack.outbox() if m["channel"] == "sms" and m["to"] == phone]


def test_a_score_by_sms_is_recorded_and_stop_suppresses_the_next_survey(local_stack):
    phone = f"+1415{random.randint(2000000, 9999999)}"
    accepted = local_stack.post_interaction(
        interaction_id=f"sms-{uuid.uuid4().hex[:8]}", survey="nps", channel="sms",
        customer={"id": f"cus_{uuid.uuid4().hex[:6]}", "phone": phone, "name": "Ada"})
    local_stack.message_to(phone, channel="sms")

    assert _text(local_stack, phone, "8")["originationNumber"] == phone
    local_stack.wait_for(lambda: local_stack.survey(accepted["survey_id"])["score"] == 8, what="the score 8")
    local_stack.wait_for(lambda: len(_texts_to(local_stack, phone)) == 2, what="the thank-you text")

    _text(local_stack, phone, "STOP")
    confirmation = local_stack.wait_for(
        lambda: next((m for m in _texts_to(local_stack, phone) if "START" in m["text"]), None),
        what="the STOP confirmation")
    assert len(confirmation["text"]) <= 160

    # A new customer id (the throttle counts per customer too); the number itself opted out.
    response = requests.post(local_stack.app_url + "/v1/interactions", headers=local_stack.headers, timeout=10, json={
        "interaction_id": f"sms-{uuid.uuid4().hex[:8]}", "survey": "nps", "channel": "sms",
        "customer": {"id": f"cus_{uuid.uuid4().hex[:6]}", "phone": phone}})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "suppressed" and response.json()["reason"].startswith("sms_stop")
    assert len(_texts_to(local_stack, phone)) == 3  # survey, thank-you, confirmation: nothing more


def test_the_inbound_endpoint_names_a_bad_field(local_stack):
    url = local_stack.outbox_url + "/sms/inbound"
    response = requests.post(url, json={"from": "4155550123", "body": "STOP"}, timeout=5)
    assert response.status_code == 400 and response.json()["field"] == "from"
    response = requests.post(url, json={"from": "+14155550123"}, timeout=5)
    assert response.status_code == 400 and response.json()["field"] == "body"
