"""Helpdesk webhooks: Zendesk, Intercom and Freshdesk, signed by the product, no API key."""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.functional.helpers import assert_nothing_stored_or_sent, queued_messages, stored_items, survey

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "helpdesks"
ZENDESK_SECRET = "dGhpcyBpcyBhIHplbmRlc2sgc2lnbmluZyBzZWNyZXQ="
INTERCOM_SECRET = "intercom-client-secret-0123456789"
FRESHDESK_SECRET = "fd-shared-secret-9f8e7d6c5b4a"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def hooks(api, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_ZENDESK_WEBHOOK_SECRET", ZENDESK_SECRET)
    monkeypatch.setenv("CLOSELOOP_INTERCOM_CLIENT_SECRET", INTERCOM_SECRET)
    monkeypatch.setenv("CLOSELOOP_FRESHDESK_WEBHOOK_SECRET", FRESHDESK_SECRET)
    from chalicelib.platform import settings as config

    config.reset_settings()
    return api


def _stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_headers(body: bytes, at: datetime, secret: str = ZENDESK_SECRET) -> dict:
    timestamp = _stamp(at)
    signature = base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest())
    return {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature": signature.decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp, "X-Zendesk-Webhook-Id": "01HZWEBHOOK",
            "X-Zendesk-Webhook-Invocation-Id": "8350205582"}


def intercom_headers(body: bytes, secret: str = INTERCOM_SECRET) -> dict:
    return {"Content-Type": "application/json",
            "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def freshdesk_headers(secret: str = FRESHDESK_SECRET) -> dict:
    return {"Content-Type": "application/json", "X-Closeloop-Freshdesk-Secret": secret}


def send(api, product: str, body: bytes, headers: dict):
    return api.http.post(f"/v1/webhooks/{product}", headers=headers, body=body)


def zendesk(api, clock, payload: dict, at: datetime | None = None):
    body = json.dumps(payload).encode()
    return send(api, "zendesk", body, zendesk_headers(body, at or clock.now))


def intercom(api, clock, payload: dict, created_at: datetime | None = None):
    payload = copy.deepcopy(payload)
    payload["created_at"] = payload["first_sent_at"] = int((created_at or clock.now).timestamp())
    body = json.dumps(payload).encode()
    return send(api, "intercom", body, intercom_headers(body))


def freshdesk(api, payload: dict):
    return send(api, "freshdesk", json.dumps(payload).encode(), freshdesk_headers())


def answer(response) -> dict:
    return json.loads(response.body)


def interaction_items(stack, interaction_id: str) -> list:
    return [item for item in stored_items(stack) if item["pk"]["S"] == f"INTERACTION#{interaction_id}"]


# --- Zendesk -------------------------------------------------------------------------------

def test_zendesk_solved_creates_a_survey_for_the_ticket(hooks, stack, clock):
    response = zendesk(hooks, clock, fixture("zendesk-solved.json"))
    assert response.status_code == 202, response.body
    body = answer(response)
    assert body["interaction_id"] == "zd-48213" and body["status"] == "scheduled"
    shown = survey(hooks, body["survey_id"])
    assert shown["interaction_id"] == "zd-48213" and shown["channel"] == "email"
    assert shown["customer_id"] == "381726354"
    assert shown["agent"] == {"id": "90210", "name": "Sam Agent"} and shown["team"] == "Billing"
    stack.run_jobs()
    assert len(stack.emails()) == 1 and "ada@example.com" in stack.emails()[0].to


def test_a_new_delivery_for_the_same_ticket_answers_200_with_the_same_survey(hooks, stack, clock):
    first = answer(zendesk(hooks, clock, fixture("zendesk-solved.json")))
    clock.advance(30)  # a new timestamp: a new signature, not a replay
    again = zendesk(hooks, clock, fixture("zendesk-solved.json"))
    assert again.status_code == 200, again.body
    assert answer(again)["survey_id"] == first["survey_id"]


def _refused(response):
    assert response.status_code == 401, response.body
    assert answer(response)["error"] == "unauthorized"


@pytest.mark.parametrize("tamper", ["wrong-secret", "body-changed", "no-signature", "no-timestamp",
                                    "timestamp-changed", "garbage-signature"])
def test_zendesk_bad_signatures_and_missing_headers_get_401_and_store_nothing(hooks, stack, clock, tamper):
    body = json.dumps(fixture("zendesk-solved.json")).encode()
    headers = zendesk_headers(body, clock.now, secret="other" if tamper == "wrong-secret" else ZENDESK_SECRET)
    if tamper == "body-changed":
        body = body.replace(b"ada@example.com", b"eve@example.com")
    elif tamper == "no-signature":
        del headers["X-Zendesk-Webhook-Signature"]
    elif tamper == "no-timestamp":
        del headers["X-Zendesk-Webhook-Signature-Timestamp"]
    elif tamper == "timestamp-changed":
        headers["X-Zendesk-Webhook-Signature-Timestamp"] = _stamp(clock.now + timedelta(seconds=1))
    elif tamper == "garbage-signature":
        headers["X-Zendesk-Webhook-Signature"] = "ü" * 44
    _refused(send(hooks, "zendesk", body, headers))
    assert_nothing_stored_or_sent(stack)


def test_an_unsigned_body_is_401_before_it_is_parsed(hooks, stack):
    _refused(send(hooks, "zendesk", b"{not json", {"Content-Type": "application/json"}))
    _refused(send(hooks, "intercom", b"{not json", {"Content-Type": "application/json"}))
    _refused(send(hooks, "freshdesk", b"{not json", {"Content-Type": "application/json"}))
    assert_nothing_stored_or_sent(stack)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_zendesk_stale_or_future_timestamps_get_401(hooks, stack, clock, offset):
    _refused(zendesk(hooks, clock, fixture("zendesk-solved.json"), at=clock.now + timedelta(seconds=offset)))
    assert_nothing_stored_or_sent(stack)


def test_zendesk_timestamp_within_five_minutes_is_accepted(hooks, stack, clock):
    response = zendesk(hooks, clock, fixture("zendesk-solved.json"), at=clock.now - timedelta(seconds=290))
    assert response.status_code == 202


def test_a_replayed_zendesk_delivery_gets_401_and_changes_nothing(hooks, stack, clock):
    body = json.dumps(fixture("zendesk-solved.json")).encode()
    headers = zendesk_headers(body, clock.now)
    assert send(hooks, "zendesk", body, headers).status_code == 202
    before, queued = stored_items(stack), queued_messages(stack)
    clock.advance(10)
    replay = dict(headers, **{"X-Zendesk-Webhook-Invocation-Id": "forged-new-id"})  # the id is not signed
    _refused(send(hooks, "zendesk", body, replay))
    assert stored_items(stack) == before and queued_messages(stack) == queued


def test_the_replay_marker_carries_a_ttl(hooks, stack, clock):
    assert zendesk(hooks, clock, fixture("zendesk-solved.json")).status_code == 202
    (marker,) = [item for item in stored_items(stack) if item["pk"]["S"].startswith("HOOK#zendesk#")]
    assert int(marker["expires_ttl"]["N"]) > clock.now.timestamp()
    from chalicelib.platform import aws

    ttl = aws.client("dynamodb").describe_time_to_live(TableName=stack.table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_ttl" and ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")


def test_zendesk_reopened_before_the_send_cancels_the_survey(hooks, stack, clock):
    survey_id = answer(zendesk(hooks, clock, fixture("zendesk-solved.json")))["survey_id"]
    from tests.functional.helpers import take_jobs

    jobs = take_jobs(stack)  # the send has not run yet
    clock.advance(60)
    response = zendesk(hooks, clock, fixture("zendesk-reopened.json"))
    assert response.status_code == 200, response.body
    body = answer(response)
    assert body["cancelled"] is True and body["survey_id"] == survey_id
    assert survey(hooks, survey_id)["status"] == "suppressed"
    from tests.functional.helpers import deliver

    for job in jobs:
        deliver(job)  # the queued send finds the survey cancelled
    assert stack.emails() == []


def test_zendesk_reopened_after_the_send_is_200_not_cancelled(hooks, stack, clock):
    survey_id = answer(zendesk(hooks, clock, fixture("zendesk-solved.json")))["survey_id"]
    stack.run_jobs()
    clock.advance(60)
    response = zendesk(hooks, clock, fixture("zendesk-reopened.json"))
    assert response.status_code == 200
    assert answer(response)["cancelled"] is False
    assert survey(hooks, survey_id)["status"] == "sent"


def test_zendesk_reopened_for_an_unknown_ticket_stores_no_survey(hooks, stack, clock):
    response = zendesk(hooks, clock, fixture("zendesk-reopened.json"))
    assert response.status_code == 200 and answer(response)["status"] == "not_found"
    assert interaction_items(stack, "zd-48213") == []


@pytest.mark.parametrize("status", ["New", "Pending", "Hold"])
def test_zendesk_other_statuses_are_ignored(hooks, stack, clock, status):
    payload = fixture("zendesk-solved.json")
    payload["ticket"]["status"] = status
    response = zendesk(hooks, clock, payload)
    assert response.status_code == 200 and answer(response)["status"] == "ignored"
    assert_nothing_stored_or_sent(stack)


def test_zendesk_requester_without_email_or_phone_is_400_naming_the_field(hooks, stack, clock):
    payload = fixture("zendesk-solved.json")
    payload["ticket"]["requester"].update(email="", phone="")
    response = zendesk(hooks, clock, payload)
    assert response.status_code == 400
    assert [f["field"] for f in answer(response)["fields"]] == ["ticket.requester.email"]
    assert_nothing_stored_or_sent(stack)


def test_zendesk_invalid_field_is_400_naming_it(hooks, stack, clock):
    payload = fixture("zendesk-solved.json")
    payload["ticket"]["requester"]["email"] = "not-an-address"
    response = zendesk(hooks, clock, payload)
    assert response.status_code == 400
    assert "ticket.requester.email" in [f["field"] for f in answer(response)["fields"]]
    del payload["ticket"]["id"]
    response = zendesk(hooks, clock, payload)
    assert "ticket.id" in [f["field"] for f in answer(response)["fields"]]
    assert_nothing_stored_or_sent(stack)


def test_zendesk_phone_only_requester_is_surveyed_by_sms(hooks, stack, clock):
    payload = fixture("zendesk-solved.json")
    payload["ticket"]["requester"]["email"] = ""
    response = zendesk(hooks, clock, payload)
    assert response.status_code == 202, response.body
    assert survey(hooks, answer(response)["survey_id"])["channel"] == "sms"


@pytest.mark.parametrize("typed,stored", [("+1 (415) 555-0123", "+14155550123"), ("0049 30 1234-5678", "+493012345678"),
                                          ("+44 20.7946.0958", "+442079460958")])
def test_zendesk_a_phone_typed_with_spaces_or_00_is_read_as_e164(hooks, stack, clock, typed, stored):
    payload = fixture("zendesk-solved.json")
    payload["ticket"]["requester"].update(email="", phone=typed)
    response = zendesk(hooks, clock, payload)
    assert response.status_code == 202, response.body
    stack.run_jobs()
    assert [to for to, _ in stack.sms()] == [stored]


def test_zendesk_a_phone_without_country_code_is_left_out_and_the_email_still_surveys(hooks, stack, clock):
    payload = fixture("zendesk-solved.json")
    payload["ticket"]["requester"]["phone"] = "(415) 555-0123"
    response = zendesk(hooks, clock, payload)
    assert response.status_code == 202, response.body
    stack.run_jobs()
    assert len(stack.emails()) == 1 and not stack.sms()


def test_zendesk_an_unreadable_phone_and_no_email_is_400_naming_the_phone(hooks, stack, clock):
    payload = fixture("zendesk-solved.json")
    payload["ticket"]["requester"].update(email="", phone="ask for Ada")
    response = zendesk(hooks, clock, payload)
    assert response.status_code == 400
    (field,) = answer(response)["fields"]
    assert field["field"] == "ticket.requester.phone" and "country code" in field["message"]
    assert_nothing_stored_or_sent(stack)


# --- Intercom ------------------------------------------------------------------------------

def test_intercom_closed_creates_a_survey(hooks, stack, clock):
    response = intercom(hooks, clock, fixture("intercom-closed.json"))
    assert response.status_code == 202, response.body
    body = answer(response)
    assert body["interaction_id"] == "ic-215467439203812"
    shown = survey(hooks, body["survey_id"])
    assert shown["customer_id"] == "cus_19" and shown["agent"] == {"id": "5017691"} and shown["team"] == "6207140"
    stack.run_jobs()
    assert len(stack.emails()) == 1 and "ada@example.com" in stack.emails()[0].to


def test_intercom_a_new_notification_for_the_same_conversation_is_200_same_survey(hooks, stack, clock):
    first = answer(intercom(hooks, clock, fixture("intercom-closed.json")))
    payload = fixture("intercom-closed.json")
    payload["id"] = "notif_another"
    again = intercom(hooks, clock, payload)
    assert again.status_code == 200 and answer(again)["survey_id"] == first["survey_id"]


@pytest.mark.parametrize("tamper", ["wrong-secret", "body-changed", "no-header", "sha256-scheme", "bare-hex"])
def test_intercom_bad_signatures_get_401_and_store_nothing(hooks, stack, clock, tamper):
    payload = fixture("intercom-closed.json")
    payload["created_at"] = int(clock.now.timestamp())
    body = json.dumps(payload).encode()
    headers = intercom_headers(body, secret="other" if tamper == "wrong-secret" else INTERCOM_SECRET)
    if tamper == "body-changed":
        body = body.replace(b"ada@example.com", b"eve@example.com")
    elif tamper == "no-header":
        del headers["X-Hub-Signature"]
    elif tamper == "sha256-scheme":
        headers["X-Hub-Signature"] = headers["X-Hub-Signature"].replace("sha1=", "sha256=")
    elif tamper == "bare-hex":
        headers["X-Hub-Signature"] = headers["X-Hub-Signature"][len("sha1="):]
    _refused(send(hooks, "intercom", body, headers))
    assert_nothing_stored_or_sent(stack)


def test_intercom_stale_notification_gets_401(hooks, stack, clock):
    _refused(intercom(hooks, clock, fixture("intercom-closed.json"), created_at=clock.now - timedelta(minutes=6)))
    assert_nothing_stored_or_sent(stack)


def test_intercom_replayed_notification_gets_401_and_changes_nothing(hooks, stack, clock):
    payload = fixture("intercom-closed.json")
    payload["created_at"] = int(clock.now.timestamp())
    body = json.dumps(payload).encode()
    assert send(hooks, "intercom", body, intercom_headers(body)).status_code == 202
    before = stored_items(stack)
    _refused(send(hooks, "intercom", body, intercom_headers(body)))
    assert stored_items(stack) == before


def test_intercom_reopened_before_the_send_cancels_the_survey(hooks, stack, clock):
    survey_id = answer(intercom(hooks, clock, fixture("intercom-closed.json")))["survey_id"]
    from tests.functional.helpers import take_jobs

    take_jobs(stack)
    response = intercom(hooks, clock, fixture("intercom-reopened.json"))
    assert response.status_code == 200, response.body
    assert answer(response)["cancelled"] is True
    assert survey(hooks, survey_id)["status"] == "suppressed"


@pytest.mark.parametrize("topic", ["ping", "conversation.user.replied", "contact.created"])
def test_intercom_other_topics_are_ignored(hooks, stack, clock, topic):
    payload = fixture("intercom-closed.json")
    payload["topic"] = topic
    if topic == "ping":
        payload["data"] = {"type": "notification_event_data", "item": {"type": "ping", "message": "hi"}}
    response = intercom(hooks, clock, payload)
    assert response.status_code == 200 and answer(response)["status"] == "ignored"
    assert_nothing_stored_or_sent(stack)


def test_intercom_customer_without_email_is_400_naming_the_field(hooks, stack, clock):
    payload = fixture("intercom-closed.json")
    del payload["data"]["item"]["source"]["author"]["email"]
    response = intercom(hooks, clock, payload)
    assert response.status_code == 400
    assert [f["field"] for f in answer(response)["fields"]] == ["data.item.source.author.email"]
    assert_nothing_stored_or_sent(stack)


# --- Freshdesk -----------------------------------------------------------------------------

def test_freshdesk_resolved_creates_a_survey(hooks, stack, clock):
    response = freshdesk(hooks, fixture("freshdesk-resolved.json"))
    assert response.status_code == 202, response.body
    shown = survey(hooks, answer(response)["survey_id"])
    assert shown["interaction_id"] == "fd-1207" and shown["customer_id"] == "43018822"
    assert shown["agent"] == {"id": "7001", "name": "Riley"} and shown["team"] == "Tier 1"


@pytest.mark.parametrize("headers", [{"Content-Type": "application/json"},
                                     freshdesk_headers("wrong"), freshdesk_headers(FRESHDESK_SECRET + "x")],
                         ids=["no-header", "wrong-secret", "secret-with-suffix"])
def test_freshdesk_wrong_or_missing_secret_gets_401(hooks, stack, headers):
    _refused(send(hooks, "freshdesk", json.dumps(fixture("freshdesk-resolved.json")).encode(), headers))
    assert_nothing_stored_or_sent(stack)


def test_freshdesk_replay_of_the_same_update_gets_401_a_new_update_is_200(hooks, stack, clock):
    first = answer(freshdesk(hooks, fixture("freshdesk-resolved.json")))
    before = stored_items(stack)
    _refused(freshdesk(hooks, fixture("freshdesk-resolved.json")))
    assert stored_items(stack) == before
    payload = fixture("freshdesk-resolved.json")
    payload["ticket"]["updated_at"] = "2026-11-24T10:05:00Z"
    again = freshdesk(hooks, payload)
    assert again.status_code == 200 and answer(again)["survey_id"] == first["survey_id"]


def test_freshdesk_reopened_cancels_and_missing_updated_at_is_400(hooks, stack, clock):
    survey_id = answer(freshdesk(hooks, fixture("freshdesk-resolved.json")))["survey_id"]
    from tests.functional.helpers import take_jobs

    take_jobs(stack)
    payload = fixture("freshdesk-resolved.json")
    payload["ticket"].update(status="Open", updated_at="2026-11-24T11:00:00Z")
    assert answer(freshdesk(hooks, payload))["cancelled"] is True
    assert survey(hooks, survey_id)["status"] == "suppressed"
    del payload["ticket"]["updated_at"]
    response = freshdesk(hooks, payload)
    assert response.status_code == 400 and answer(response)["fields"][0]["field"] == "ticket.updated_at"


# --- configuration ------------------------------------------------------------------------

def test_a_webhook_without_its_secret_configured_answers_404_and_stores_nothing(api, stack, clock, monkeypatch):
    for name in ("ZENDESK_WEBHOOK_SECRET", "INTERCOM_CLIENT_SECRET", "FRESHDESK_WEBHOOK_SECRET"):
        monkeypatch.delenv(f"CLOSELOOP_{name}", raising=False)
    from chalicelib.platform import settings as config

    config.reset_settings()
    body = json.dumps(fixture("zendesk-solved.json")).encode()
    response = send(api, "zendesk", body, zendesk_headers(body, clock.now, secret=""))
    assert response.status_code == 404 and answer(response)["error"] == "not_configured"
    assert send(api, "freshdesk", body, freshdesk_headers("")).status_code == 404
    assert_nothing_stored_or_sent(stack)
