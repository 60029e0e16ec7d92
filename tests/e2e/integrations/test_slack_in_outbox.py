"""`make run` with Slack: the detractor's webhook message in the outbox carries the buttons, a
press signed with the local signing secret (as `python -m devstack.sign slack` makes it) claims the
follow-up, and the message update posted to the press's response_url lands in the outbox."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import requests

from devstack import LOCAL_SLACK_SECRET
from devstack.outbox import SLACK_RESPONSE_PATH
from devstack.sign import slack_body, slack_headers
from tests.e2e.followups.test_escalation_in_outbox import detractor


def test_a_press_in_slack_claims_the_follow_up_and_the_update_lands_in_the_outbox(local_stack):
    assert LOCAL_SLACK_SECRET in local_stack.output()  # the banner shows the local signing secret
    survey_id, interaction_id = detractor(local_stack)
    followup_id = f"fu_{survey_id}"

    def alert():
        return next((m for m in local_stack.outbox() if m["channel"] == "webhook"
                     and m["to"].endswith("/webhooks/alerts") and interaction_id in (m["text"] or "")), None)

    message = json.loads(local_stack.wait_for(alert, timeout=20, what="the detractor's webhook message")["text"])
    actions = [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["closeloop_claim", "closeloop_contacted", "closeloop_resolved", "closeloop_open"]

    now = datetime.now(timezone.utc)
    raw = slack_body(followup_id, "claim", local_stack.outbox_url + SLACK_RESPONSE_PATH, now, username="ada.lead")
    pressed = requests.post(f"{local_stack.app_url}/v1/slack/actions", data=raw,
                            headers=slack_headers(raw, LOCAL_SLACK_SECRET, now), timeout=10)
    assert pressed.status_code == 200, pressed.text
    followup = requests.get(f"{local_stack.app_url}/v1/followups/{followup_id}", headers=local_stack.headers,
                            timeout=10).json()
    assert followup["status"] == "claimed" and followup["owner"] == "slack:ada.lead"

    def update():
        return next((m for m in local_stack.outbox() if m["channel"] == "webhook"
                     and m["to"].endswith(SLACK_RESPONSE_PATH) and followup_id in (m["text"] or "")), None)

    replaced = json.loads(local_stack.wait_for(update, timeout=10, what="the message update in the outbox")["text"])
    assert replaced["replace_original"] is True and "is claimed by slack:ada.lead" in json.dumps(replaced["blocks"])
    forged = requests.post(f"{local_stack.app_url}/v1/slack/actions", data=raw,
                           headers=slack_headers(raw, "not-" + LOCAL_SLACK_SECRET, now), timeout=10)
    assert forged.status_code == 401
