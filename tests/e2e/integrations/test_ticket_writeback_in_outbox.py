"""`make run`: a response to a survey whose interaction names its ticket is written back to that
ticket through the fake helpdesk API, and the outbox shows it as channel "helpdesk"."""
from __future__ import annotations

import random
import uuid

import requests


def test_a_response_is_written_back_to_its_ticket_and_shown_in_the_outbox(local_stack):
    phone = f"+1415{random.randint(2000000, 9999999)}"
    ticket_id = str(random.randint(10**6, 10**9))
    accepted = local_stack.post_interaction(
        interaction_id=f"zd-{ticket_id}", survey="nps", channel="sms", ticket={"helpdesk": "zendesk", "id": ticket_id},
        customer={"id": f"cus_{uuid.uuid4().hex[:6]}", "phone": phone, "name": "Ada"})
    local_stack.message_to(phone, channel="sms")
    response = requests.post(local_stack.outbox_url + "/sms/inbound", json={"from": phone, "body": "9"}, timeout=5)
    assert response.status_code == 202, response.text

    note = local_stack.message_to(f"zendesk:{ticket_id}", channel="helpdesk")
    assert note["to"] == f"zendesk:{ticket_id}"
    assert "Score: 9 (NPS)" in note["text"]
    assert note["headers"] == {"tags": "closeloop_nps_9"}
    assert local_stack.survey(accepted["survey_id"])["writeback_error"] is None
