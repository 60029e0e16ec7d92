"""Issue 12's case: 3,000 nested arrays (6 KB) on the JSON routes answered 500 with a RecursionError.
Each now answers 400 naming `body` (type too_deep), and nothing is written."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.functional.followup_helpers import open_followup
from tests.functional.helpers import queued_messages, stored_items

DEEP = b"[" * 3000 + b"]" * 3000


@pytest.mark.parametrize("method, path", [("POST", "/v1/interactions"), ("POST", "/v1/suppressions"),
                                          ("POST", "/v1/followups/{id}/claim"), ("PATCH", "/v1/followups/{id}")])
def test_3000_nested_arrays_are_refused_naming_the_body_and_write_nothing(api, stack, method, path):
    followup_id = open_followup(datetime.now(timezone.utc))
    before = stored_items(stack)
    assert len(DEEP) == 6000
    response = api.http.request(method, path.format(id=followup_id), headers=api.headers, body=DEEP)
    assert response.status_code == 400, response.body[:300]
    body = json.loads(response.body)
    assert body["error"] == "invalid_json"
    assert body["fields"] == [{"field": "body", "message": "must not nest arrays and objects more than 32 deep",
                               "type": "too_deep"}]
    assert stored_items(stack) == before and queued_messages(stack) == 0


def test_a_signed_helpdesk_webhook_of_3000_nested_arrays_is_refused_naming_the_body(api, stack, monkeypatch):
    from chalicelib.integrations.webhooks import ADAPTERS
    from chalicelib.platform import clock, settings

    secret = "fd-shared-secret-9f8e7d6c5b4a"
    monkeypatch.setenv("CLOSELOOP_FRESHDESK_WEBHOOK_SECRET", secret)
    settings.reset_settings()
    headers = {"Content-Type": "application/json", **ADAPTERS["freshdesk"].signed_headers(secret, DEEP, clock.now())}
    response = api.http.post("/v1/webhooks/freshdesk", headers=headers, body=DEEP)
    assert response.status_code == 400, response.body[:300]
    assert json.loads(response.body)["fields"][0]["type"] == "too_deep"
    assert stored_items(stack) == [] and queued_messages(stack) == 0


def test_an_ses_notice_of_3000_nested_arrays_is_dropped_not_retried(api, stack):
    from chalice.test import Client

    from app import app
    from tests.conftest import ROOT

    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        event = client.events.generate_sns_event(message=DEEP.decode())
        client.lambda_.invoke("handle_ses_notice", event)  # raises if the handler crashes
    assert stored_items(stack) == []
