"""Acting from Slack: the detractor message's buttons, Slack's signed interaction requests
(POST /v1/slack/actions), the presser recorded as their lead or Slack username, the message
replaced through the press's response_url, and the retraction replacing it too.

Requests are made as Slack makes them (devstack/sign.py: the recorded block_actions payload of
tests/fixtures/slack/, form-encoded, signed with v0 HMAC-SHA256); the response_url is a real HTTP
endpoint on loopback (tests/conftest.py WebhookReceiver)."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from chalicelib.followups.jobs import HandleResponse
from chalicelib.followups.model import FollowUpStatus
from chalicelib.platform import settings as config
from devstack.sign import SLACK_FIXTURE, slack_body, slack_headers
from tests.conftest import WebhookReceiver
from tests.functional.followups.test_escalation import detractor
from tests.functional.helpers import deliver, queued_messages, stored_items
from tests.repos import Repositories

SECRET = "slack-signing-secret-for-the-functional-tests"
LEAD, LEAD_SLACK_ID = "kim@example.com", "U024BE7LH"


@pytest.fixture
def slack(stack, monkeypatch):
    """Slack's signing secret set, and a response_url that records what is posted to it."""
    monkeypatch.setenv("CLOSELOOP_SLACK_SIGNING_SECRET", SECRET)
    config.reset_settings()
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def press(api, slack, followup_id, action, *, clock, user_id="U0UNLINKED", username="ada.lead", secret=SECRET,
          signed_at=None, raw=None, headers=None):
    raw = raw if raw is not None else slack_body(followup_id, action, slack.url, clock.now, user_id, username)
    headers = headers if headers is not None else slack_headers(raw, secret, signed_at or clock.now)
    return api.http.post("/v1/slack/actions", headers=headers, body=raw)


def followups():
    return Repositories().followups


def slack_markers(stack) -> list[dict]:
    return [item for item in stored_items(stack) if item["pk"]["S"].startswith("SLACKREQ#")]


def buttons(message: dict) -> dict[str, dict]:
    actions = [block for block in message["blocks"] if block["type"] == "actions"]
    return {element["action_id"]: element for block in actions for element in block["elements"]}


def linked_lead():
    from chalicelib.leads import add_lead, link_slack_user

    add_lead(LEAD, owner="kim")
    assert link_slack_user(LEAD, LEAD_SLACK_ID).slack_user_id == LEAD_SLACK_ID


# --- the message -------------------------------------------------------------------------------

def test_the_detractor_message_carries_claim_contacted_resolved_and_a_link_to_the_follow_up(
        api, stack, webhook, clock):
    followup_id = detractor(api, stack, clock, comment="<!channel> <https://evil.example|click>")
    (message,) = webhook.bodies
    found = buttons(message)
    assert list(found) == ["closeloop_claim", "closeloop_contacted", "closeloop_resolved", "closeloop_open"]
    for action_id in ("closeloop_claim", "closeloop_contacted", "closeloop_resolved"):
        assert found[action_id]["type"] == "button" and found[action_id]["value"] == followup_id
    base = followups().get(followup_id).base_url
    assert found["closeloop_open"]["url"] == f"{base}/dashboard/followups/{followup_id}"
    text = json.dumps(message)
    assert "<!channel>" not in text and "&lt;!channel&gt; &lt;https://evil.example|click&gt;" in text


# --- presses -----------------------------------------------------------------------------------

def test_a_signed_claim_claims_as_the_linked_lead_and_replaces_the_message(api, stack, webhook, slack, clock):
    followup_id = detractor(api, stack, clock)
    linked_lead()
    answer = press(api, slack, followup_id, "claim", clock=clock, user_id=LEAD_SLACK_ID)
    assert answer.status_code == 200 and answer.body in (b"", "")

    claimed = followups().get(followup_id)
    assert claimed.status is FollowUpStatus.CLAIMED and claimed.owner == LEAD
    assert claimed.history[-1].by == LEAD and claimed.history[-1].action == "claimed"
    shown = api.http.get(f"/v1/followups/{followup_id}", headers=api.headers)
    assert shown.status_code == 200 and slack.url not in shown.body.decode()  # the response_url stays inside

    assert stack.run_jobs() == 1
    (update,) = slack.bodies
    # Slack's response_url body: replace_original with the new text and blocks.
    assert update["replace_original"] is True and isinstance(update["text"], str)
    assert f"is claimed by {LEAD}" in json.dumps(update["blocks"])
    assert list(buttons(update)) == ["closeloop_contacted", "closeloop_resolved", "closeloop_open"]
    assert slack.headers[0]["Content-Type"] == "application/json"


def test_contacted_and_resolved_by_an_unmapped_user_are_recorded_by_their_slack_username(
        api, stack, webhook, slack, clock):
    followup_id = detractor(api, stack, clock)
    assert press(api, slack, followup_id, "contacted", clock=clock, username="ada.lead").status_code == 200
    contacted = followups().get(followup_id)
    # Contacted on an open follow-up claims it for the presser first.
    assert contacted.status is FollowUpStatus.CONTACTED and contacted.owner == "slack:ada.lead"
    assert [(e.action, e.by) for e in contacted.history[-2:]] == [("claimed", "slack:ada.lead"),
                                                                  ("contacted", "slack:ada.lead")]
    assert stack.run_jobs() == 1
    clock.advance(60)
    assert press(api, slack, followup_id, "resolved", clock=clock, username="bo").status_code == 200
    resolved = followups().get(followup_id)
    assert resolved.status is FollowUpStatus.RESOLVED and resolved.history[-1].by == "slack:bo"

    assert stack.run_jobs() == 1
    assert list(buttons(slack.bodies[0])) == ["closeloop_resolved", "closeloop_open"]
    assert list(buttons(slack.bodies[1])) == ["closeloop_open"]  # nothing left to press
    assert "is resolved by slack:ada.lead" in json.dumps(slack.bodies[1]["blocks"])


def test_a_refused_change_is_answered_with_an_ephemeral_message_saying_why(api, stack, webhook, slack, clock):
    followup_id = detractor(api, stack, clock)
    assert press(api, slack, followup_id, "claim", clock=clock, username="first").status_code == 200
    before = followups().get(followup_id)
    clock.advance(1)
    answer = press(api, slack, followup_id, "claim", clock=clock, username="second")
    assert answer.status_code == 200  # Slack shows an error on anything else
    assert followups().get(followup_id).version == before.version

    assert stack.run_jobs() == 2
    refusal = slack.bodies[1]
    assert refusal == {"response_type": "ephemeral", "replace_original": False,
                       "text": "Not changed: already claimed by slack:first"}


# --- refused requests: 401 and nothing changes -------------------------------------------------

@pytest.mark.parametrize("forgery", ["wrong secret", "stale", "no signature", "no timestamp", "tampered body"])
def test_a_forged_or_stale_request_gets_401_and_changes_nothing(api, stack, webhook, slack, clock, forgery):
    followup_id = detractor(api, stack, clock)
    before = followups().get(followup_id)
    raw = slack_body(followup_id, "resolved", slack.url, clock.now)
    headers = slack_headers(raw, "not-the-secret" if forgery == "wrong secret" else SECRET,
                            clock.now - timedelta(minutes=6) if forgery == "stale" else clock.now)
    if forgery == "no signature":
        del headers["X-Slack-Signature"]
    if forgery == "no timestamp":
        del headers["X-Slack-Request-Timestamp"]
    if forgery == "tampered body":
        raw = raw.replace(b"ada.lead", b"eve.lead")
    answer = press(api, slack, followup_id, "resolved", clock=clock, raw=raw, headers=headers)

    assert answer.status_code == 401 and json.loads(answer.body)["error"] == "unauthorized"
    assert followups().get(followup_id) == before
    assert slack_markers(stack) == [] and queued_messages(stack) == 0 and slack.bodies == []


def test_a_replayed_request_gets_401_and_changes_nothing_more(api, stack, webhook, slack, clock):
    followup_id = detractor(api, stack, clock)
    raw = slack_body(followup_id, "claim", slack.url, clock.now)
    headers = slack_headers(raw, SECRET, clock.now)
    assert press(api, slack, followup_id, "claim", clock=clock, raw=raw, headers=headers).status_code == 200
    after = followups().get(followup_id)
    clock.advance(30)
    answer = press(api, slack, followup_id, "claim", clock=clock, raw=raw, headers=headers)
    assert answer.status_code == 401
    assert followups().get(followup_id) == after and len(slack_markers(stack)) == 1
    assert stack.run_jobs() == 1


def test_without_a_signing_secret_the_route_answers_404(api, stack, clock, monkeypatch):
    monkeypatch.delenv("CLOSELOOP_SLACK_SIGNING_SECRET", raising=False)
    config.reset_settings()
    raw = urlencode({"payload": SLACK_FIXTURE.read_text()}).encode()
    answer = api.http.post("/v1/slack/actions", headers=slack_headers(raw, SECRET, clock.now), body=raw)
    assert answer.status_code == 404 and json.loads(answer.body)["error"] == "not_configured"


@pytest.mark.parametrize("body, field", [
    ({}, "payload"),
    ({"payload": "{not json"}, "payload"),
    ({"payload": json.dumps({"type": "view_submission", "user": {"id": "U1"}, "actions": [{"action_id": "x"}],
                             "response_url": "https://hooks.slack.com/actions/1"})}, "payload.type"),
    ({"payload": json.dumps({**json.loads(SLACK_FIXTURE.read_text()), "actions": []})}, "payload.actions"),
])
def test_a_signed_request_with_a_bad_payload_gets_400_naming_the_field(api, stack, slack, clock, body, field):
    raw = urlencode(body).encode()
    answer = api.http.post("/v1/slack/actions", headers=slack_headers(raw, SECRET, clock.now), body=raw)
    assert answer.status_code == 400
    assert field in [f["field"] for f in json.loads(answer.body)["fields"]]
    assert slack_markers(stack) == [] and queued_messages(stack) == 0


# --- the retraction ----------------------------------------------------------------------------

def withdraw_response(survey_id: str) -> None:
    """The response proved a scanner's sweep: the survey keeps no score (as surveys/responses.py leaves it)."""
    from chalicelib.storage.table import ItemKey, Table

    Table().update(ItemKey(f"SURVEY#{survey_id}", "SURVEY"), "REMOVE score, #c", names={"#c": "comment"})


def test_the_retraction_also_replaces_a_pressed_message_through_its_response_url(api, stack, webhook, slack, clock):
    followup_id = detractor(api, stack, clock)
    assert press(api, slack, followup_id, "claim", clock=clock).status_code == 200
    assert stack.run_jobs() == 1
    clock.advance(60)
    withdraw_response(followups().get(followup_id).survey_id)
    deliver(HandleResponse(survey_id=followups().get(followup_id).survey_id, expected_version=1))

    assert followups().get(followup_id).status is FollowUpStatus.AUTOMATED
    assert webhook.bodies[-1]["text"].startswith("Retracted:")  # the retraction post stands
    replaced = slack.bodies[-1]
    assert len(slack.bodies) == 2 and replaced["replace_original"] is True
    assert replaced["text"].startswith("Retracted:") and "closed as automated" in json.dumps(replaced["blocks"])


def test_a_response_url_older_than_30_minutes_is_not_used_by_the_retraction(api, stack, webhook, slack, clock):
    followup_id = detractor(api, stack, clock)
    assert press(api, slack, followup_id, "claim", clock=clock).status_code == 200
    assert stack.run_jobs() == 1
    clock.advance(31 * 60)
    withdraw_response(followups().get(followup_id).survey_id)
    deliver(HandleResponse(survey_id=followups().get(followup_id).survey_id, expected_version=1))
    assert webhook.bodies[-1]["text"].startswith("Retracted:") and len(slack.bodies) == 1


def test_during_a_rotation_a_press_signed_with_the_previous_secret_still_counts(
        api, stack, webhook, slack, clock, monkeypatch):
    followup_id = detractor(api, stack, clock)
    rotation = {"current": "the-new-slack-secret", "previous": SECRET,
                "previous_until": (clock.now + timedelta(hours=1)).isoformat()}
    monkeypatch.setenv("CLOSELOOP_SLACK_SIGNING_SECRET", json.dumps(rotation))
    config.reset_settings()
    assert press(api, slack, followup_id, "claim", clock=clock, username="old").status_code == 200
    clock.advance(2 * 3600)  # the window is over: only the new secret verifies
    assert press(api, slack, followup_id, "contacted", clock=clock, username="old").status_code == 401
    assert press(api, slack, followup_id, "contacted", clock=clock, secret="the-new-slack-secret").status_code == 200
    assert followups().get(followup_id).status is FollowUpStatus.CONTACTED


def test_ops_links_a_lead_to_a_slack_user_and_their_press_acts_as_them(api, stack, webhook, slack, clock,
                                                                       monkeypatch, capsys):
    import ops.__main__ as ops

    monkeypatch.setattr(ops, "_use_stage", lambda stage: None)  # the test's table, not a stage's
    assert ops.main(["leads", "add", LEAD, "--owner", "kim"]) == 0
    assert ops.main(["leads", "link-slack", LEAD, LEAD_SLACK_ID]) == 0
    assert f"linked {LEAD} to Slack user {LEAD_SLACK_ID}" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="not a Slack user id|must be a Slack user id"):
        ops.main(["leads", "link-slack", LEAD, "not-an-id"])
    with pytest.raises(SystemExit, match="not on the list"):
        ops.main(["leads", "link-slack", "nobody@example.com", LEAD_SLACK_ID])

    followup_id = detractor(api, stack, clock)
    assert press(api, slack, followup_id, "claim", clock=clock, user_id=LEAD_SLACK_ID).status_code == 200
    assert followups().get(followup_id).owner == LEAD

    assert ops.main(["leads", "link-slack", LEAD, "--unlink"]) == 0
    clock.advance(1)
    assert press(api, slack, followup_id, "contacted", clock=clock, user_id=LEAD_SLACK_ID,
                 username="kim.s").status_code == 200
    assert followups().get(followup_id).history[-1].by == "slack:kim.s"
