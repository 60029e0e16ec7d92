"""Alerts to support leads about a detractor: the SNS alert topic and an optional webhook (Slack)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable

from chalicelib import aws, scoring
from chalicelib.config import Settings
from chalicelib.models import FollowUp
from chalicelib.rendering import render

WEBHOOK_TIMEOUT_SECONDS = 5


class WebhookError(Exception):
    pass


@dataclass(frozen=True)
class AlertChannel:
    name: str
    send: Callable[[FollowUp, Settings], str]


def configured_channels(settings: Settings) -> list[AlertChannel]:
    channels = []
    if settings.alert_topic_arn:
        channels.append(AlertChannel("topic", publish_to_topic))
    if settings.alert_webhook_url:
        channels.append(AlertChannel("webhook", post_to_webhook))
    return channels


def _context(followup: FollowUp, settings: Settings) -> dict:
    low, high = scoring.scale(followup.kind)[0], scoring.scale(followup.kind)[-1]
    return {"f": followup, "company": settings.company_name, "kind": followup.kind.value.upper(),
            "scale": f"{low}-{high}"}


def alert_text(followup: FollowUp, settings: Settings) -> str:
    return render("alerts/detractor.txt", **_context(followup, settings)).strip()


def slack_message(followup: FollowUp, settings: Settings) -> dict:
    """An incoming-webhook body: `text` for notifications, blocks for the message itself."""
    text = alert_text(followup, settings)
    agent = followup.agent.name or followup.agent.id if followup.agent else "unassigned"
    fields = [("Score", f"{followup.score} ({followup.kind.value.upper()})"), ("Agent", agent),
              ("Team", followup.team or "none"), ("Interaction", followup.interaction_id),
              ("Customer", followup.customer_name or followup.customer_id)]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Unhappy customer: {followup.kind.value.upper()} {followup.score}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{_mrkdwn_escape(value)}"}
                                       for name, value in fields]},
    ]
    if followup.comment:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "> " + _mrkdwn_escape(followup.comment).replace("\n", "\n> ")}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Follow-up {followup.followup_id} is open"}]})
    return {"text": text, "blocks": blocks}


def publish_to_topic(followup: FollowUp, settings: Settings) -> str:
    subject = f"{settings.company_name}: detractor {followup.kind.value.upper()} {followup.score} on {followup.interaction_id}"
    response = aws.client("sns").publish(
        TopicArn=settings.alert_topic_arn, Subject=_subject(subject), Message=alert_text(followup, settings),
        MessageAttributes={"followup_id": {"DataType": "String", "StringValue": followup.followup_id}},
    )
    return response["MessageId"]


def post_to_webhook(followup: FollowUp, settings: Settings) -> str:
    body = json.dumps(slack_message(followup, settings)).encode()
    request = urllib.request.Request(settings.alert_webhook_url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "closeloop"})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return str(response.status)
    except urllib.error.HTTPError as error:
        # The URL holds the webhook's secret: never put it in an error message.
        raise WebhookError(f"alert webhook answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise WebhookError(f"alert webhook unreachable: {type(error).__name__}") from None


def _subject(text: str) -> str:
    """SNS subjects: at most 100 printable ASCII characters, no line breaks."""
    ascii_text = text.encode("ascii", "replace").decode().replace("\n", " ")
    return ascii_text[:100]


def _mrkdwn_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
