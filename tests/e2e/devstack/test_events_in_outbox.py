"""`make run` publishes the lifecycle events to its local bus: the outbox shows each as channel
"event", subject its detail-type, text its detail as JSON (CONTRACT.md)."""
from __future__ import annotations

import json
import re
import uuid

import jsonschema
import requests

from chalicelib.events import detail_schemas


def _events(local_stack, survey_id: str) -> list[dict]:
    return [m for m in local_stack.outbox()
            if m["channel"] == "event" and json.loads(m["text"]).get("survey_id") == survey_id]


def test_a_sent_survey_and_an_unsubscribe_show_up_as_events(local_stack):
    address = f"ev{uuid.uuid4().hex[:8]}@example.com"
    created = local_stack.post_interaction(interaction_id=f"ev-{uuid.uuid4().hex[:10]}",
                                           customer={"id": f"cus_{address[:10]}", "email": address})
    email = local_stack.message_to(address)
    sent = local_stack.wait_for(lambda: _events(local_stack, created["survey_id"]), what="the survey.sent event")
    assert [m["subject"] for m in sent] == ["closeloop.survey.sent"]
    assert sent[0]["to"] == "closeloop-local-events" and address not in sent[0]["text"]

    unsubscribe = re.search(r"https?://\S+/u/[A-Za-z0-9_-]+", email["text"]).group(0)
    answer = requests.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert answer.status_code == 200, answer.text
    both = local_stack.wait_for(lambda: (lambda found: found if len(found) == 2 else None)(
        _events(local_stack, created["survey_id"])), what="the unsubscribed event")
    assert [m["subject"] for m in both] == ["closeloop.survey.sent", "closeloop.contact.unsubscribed"]
    schemas = detail_schemas()
    for message in both:
        jsonschema.validate(json.loads(message["text"]), schemas[message["subject"]])
