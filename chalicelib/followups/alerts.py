"""Alerts to support leads about a detractor: the SNS alert topic and an optional webhook (Slack).

An alert whose response later proves to be a scanner's sweep is taken back on the channels it went
to, once, by a short retraction (followups/detractors.py). Escalations of overdue follow-ups
(followups/escalation.py) go out the same way, to the escalation topic and webhook. Every webhook
POST is signed when the webhook signing secret is set (chalicelib/platform/secrets.py):
`X-Closeloop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (see `verify`);
while a rotation's window lasts, a second `v1=` made with the previous secret.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional

from chalicelib.followups.model import FollowUp, FollowUpStatus
from chalicelib.platform import aws, clock, inert
from chalicelib.platform import secrets as stage_secrets
from chalicelib.platform import telemetry
from chalicelib.platform.rendering import render
from chalicelib.platform.settings import Settings
from chalicelib.surveys import scoring
from chalicelib.why import reason_label, theme_label

WEBHOOK_TIMEOUT_SECONDS = 5
SIGNATURE_HEADER = "X-Closeloop-Signature"
TIMESTAMP_HEADER = "X-Closeloop-Timestamp"
# Receivers refuse signatures whose timestamp is further than this from their clock (replays).
SIGNATURE_TOLERANCE_SECONDS = 300


class WebhookError(Exception):
    pass


@dataclass(frozen=True)
class AlertChannel:
    name: str
    send: Callable[[FollowUp, Settings], str]
    retract: Optional[Callable[[FollowUp, Settings], str]] = None  # takes back what `send` said


def configured_channels(settings: Settings) -> list[AlertChannel]:
    channels = []
    if settings.alert_topic_arn:
        channels.append(AlertChannel("topic", publish_to_topic, retract_on_topic))
    if settings.alert_webhook_url:
        channels.append(AlertChannel("webhook", post_to_webhook, retract_on_webhook))
    return channels


def escalation_channels(settings: Settings, now: datetime) -> list[AlertChannel]:
    """The escalation topic and webhook; with neither configured, the alert topic and webhook, so
    that an escalation is never silent."""
    topic = settings.escalation_topic_arn
    url = settings.escalation_webhook_url
    if not topic and not url:
        topic, url = settings.alert_topic_arn, settings.alert_webhook_url
    channels = []
    if topic:
        channels.append(AlertChannel("topic", lambda f, s: publish_escalation(f, s, topic, now)))
    if url:
        channels.append(AlertChannel("webhook", lambda f, s: post_escalation(f, s, url, now)))
    return channels


def followup_link(followup: FollowUp, settings: Settings) -> Optional[str]:
    """The follow-up in the admin API: the stage's public URL, else the URL its survey was made at."""
    base = settings.public_url or followup.base_url
    return f"{base.rstrip('/')}/v1/followups/{followup.followup_id}" if base else None


def _context(followup: FollowUp, settings: Settings) -> dict:
    low, high = scoring.scale(followup.kind)[0], scoring.scale(followup.kind)[-1]
    return {"f": followup, "company": settings.company_name, "kind": followup.kind.value.upper(),
            "scale": f"{low}-{high}", "agent": _agent(followup), "owner": followup.owner or "unassigned",
            "due": clock.iso(followup.due_at), "link": followup_link(followup, settings), **why_labels(followup)}


def why_labels(followup: FollowUp) -> dict:
    """Why, as leads read it (English, like the rest of the alert): labels of the reasons ticked and
    the comment's themes, the "resolved?" answer as yes/no; empty or None when not given. Labels are
    ours, never the customer's words; each destination still escapes them like any other text."""
    resolved = None if followup.resolved is None else ("yes" if followup.resolved else "no")
    return {"reasons": ", ".join(reason_label(key) for key in followup.reasons),
            "themes": ", ".join(theme_label(key) for key in followup.themes), "resolved": resolved}


def why_keys(followup: FollowUp) -> dict:
    """Why, for a receiver's code: the keys (why/reasons.py, why/themes.py) and the answer."""
    return {"reasons": list(followup.reasons), "themes": list(followup.themes), "resolved": followup.resolved}


def _agent(followup: FollowUp) -> str:
    return (followup.agent.name or followup.agent.id) if followup.agent else "unassigned"


def alert_text(followup: FollowUp, settings: Settings) -> str:
    return render("alerts/detractor.txt", **_context(followup, settings)).strip()


def slack_message(followup: FollowUp, settings: Settings) -> dict:
    """An incoming-webhook body: `text` for notifications, blocks for the message itself; customer
    text escaped in both (a notification is rendered as mrkdwn too)."""
    text = inert.slack(alert_text(followup, settings))
    header = f"Unhappy customer: {followup.kind.value.upper()} {followup.score}"
    return {"text": text, "blocks": [*_blocks(followup, settings, header, "is open"), _actions(followup, settings)],
            **why_keys(followup)}


# The buttons of a detractor message (POST /v1/slack/actions, integrations/slack.py): action_id ->
# the status a press moves the follow-up to; the button's value is the follow-up's id.
SLACK_ACTIONS = {"closeloop_claim": FollowUpStatus.CLAIMED, "closeloop_contacted": FollowUpStatus.CONTACTED,
                 "closeloop_resolved": FollowUpStatus.RESOLVED}
SLACK_OPEN_ACTION = "closeloop_open"  # the link button: Slack reports its press too, and it changes nothing
_BUTTONS = {"closeloop_claim": "Claim", "closeloop_contacted": "Contacted", "closeloop_resolved": "Resolved"}
# The buttons that still apply in each status (a press on an open follow-up claims it for the presser first).
_BUTTONS_IN = {FollowUpStatus.OPEN: ("closeloop_claim", "closeloop_contacted", "closeloop_resolved"),
               FollowUpStatus.CLAIMED: ("closeloop_contacted", "closeloop_resolved"),
               FollowUpStatus.CONTACTED: ("closeloop_resolved",)}


def dashboard_link(followup: FollowUp, settings: Settings) -> Optional[str]:
    """The follow-up's page on the leads' dashboard (a lead signs in there): what the link button opens."""
    base = settings.public_url or followup.base_url
    return f"{base.rstrip('/')}/dashboard/followups/{followup.followup_id}" if base else None


def _actions(followup: FollowUp, settings: Settings) -> dict:
    """The actions block: the buttons that apply to the follow-up's status, and the link to it."""
    elements = [{"type": "button", "action_id": action_id, "value": followup.followup_id,
                 "text": {"type": "plain_text", "text": _BUTTONS[action_id]},
                 **({"style": "primary"} if action_id == "closeloop_resolved" else {})}
                for action_id in _BUTTONS_IN.get(followup.status, ())]
    link = dashboard_link(followup, settings)
    if link:
        elements.append({"type": "button", "action_id": SLACK_OPEN_ACTION, "url": link,
                         "text": {"type": "plain_text", "text": "Open follow-up"}})
    return {"type": "actions", "block_id": f"closeloop_{followup.followup_id}"[:255], "elements": elements}


def slack_state_message(followup: FollowUp, settings: Settings) -> dict:
    """The detractor message as it stands after a change from Slack: what `response_url` replaces
    the original with (`replace_original`), its state and the buttons that still apply."""
    state = f"is {followup.status.value}" + (f" by {followup.owner}" if followup.owner else "")
    header = f"Unhappy customer: {followup.kind.value.upper()} {followup.score}"
    text = inert.slack(f"{header}: follow-up {followup.followup_id} {state}")
    blocks = _blocks(followup, settings, header, state)
    actions = _actions(followup, settings)
    return {"replace_original": True, "text": text, "blocks": [*blocks, actions] if actions["elements"] else blocks}


def _blocks(followup: FollowUp, settings: Settings, header: str, state: str,
            extra_fields: tuple[tuple[str, str], ...] = ()) -> list[dict]:
    fields = [("Score", f"{followup.score} ({followup.kind.value.upper()})"), ("Agent", _agent(followup)),
              ("Team", followup.team or "none"), ("Interaction", followup.interaction_id),
              ("Customer", followup.customer_name or followup.customer_id),
              ("Owner", followup.owner or "unassigned"), ("Due", clock.iso(followup.due_at)), *extra_fields]
    labels = why_labels(followup)
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{inert.slack(value)}"}
                                       for name, value in fields]},
    ]
    why = [(name, value) for name, value in (("Reasons", labels["reasons"]), ("Themes", labels["themes"]),
                                             ("Resolved", labels["resolved"])) if value]
    if why:  # a section of its own: Slack takes at most 10 fields in one
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{inert.slack(value)}"}
                                                     for name, value in why]})
    if followup.comment:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "> " + inert.slack(followup.comment).replace("\n", "\n> ")}})
    link = followup_link(followup, settings)
    name = f"<{link}|{followup.followup_id}>" if link else followup.followup_id
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Follow-up {name} {state}"}]})
    return blocks


def escalation_text(followup: FollowUp, settings: Settings, now: datetime) -> str:
    return render("alerts/escalation.txt", overdue=overdue_for(now - followup.due_at),
                  **_context(followup, settings)).strip()


def escalation_slack_message(followup: FollowUp, settings: Settings, now: datetime) -> dict:
    overdue = overdue_for(now - followup.due_at)
    header = f"Overdue follow-up: {followup.kind.value.upper()} {followup.score}, {overdue} late"
    return {"text": inert.slack(escalation_text(followup, settings, now)),
            "blocks": _blocks(followup, settings, header, f"is overdue by {overdue}", (("Overdue", overdue),)),
            **why_keys(followup)}


def overdue_for(late: timedelta) -> str:
    """'2 d 3 h', '5 h 12 min', '7 min': how late, to the minute."""
    minutes = max(0, int(late.total_seconds() // 60))
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def publish_to_topic(followup: FollowUp, settings: Settings) -> str:
    subject = f"{settings.company_name}: detractor {followup.kind.value.upper()} {followup.score} on {followup.interaction_id}"
    message_id = _publish(settings.alert_topic_arn, subject, alert_text(followup, settings), followup)
    telemetry.count("Alerts", channel="topic")
    return message_id


def post_to_webhook(followup: FollowUp, settings: Settings) -> str:
    status = _post_json(settings.alert_webhook_url, slack_message(followup, settings), settings, "alert webhook")
    telemetry.count("Alerts", channel="webhook")
    return status


def retraction_text(followup: FollowUp, settings: Settings) -> str:
    return render("alerts/retraction.txt", **_context(followup, settings)).strip()


def retract_on_topic(followup: FollowUp, settings: Settings) -> str:
    subject = f"{settings.company_name}: retracted: detractor alert on {followup.interaction_id}"
    message_id = _publish(settings.alert_topic_arn, subject, retraction_text(followup, settings), followup)
    telemetry.count("AlertsRetracted", channel="topic")
    return message_id


def retraction_message(followup: FollowUp, settings: Settings) -> dict:
    """The retraction's webhook body; with `replace_original`, what the detractor message becomes."""
    text = inert.slack(retraction_text(followup, settings))
    link = followup_link(followup, settings)
    name = f"<{link}|{followup.followup_id}>" if link else followup.followup_id
    return {"text": text, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": text.split("\n")[0]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Follow-up {name} closed as automated"}]}]}


def retract_on_webhook(followup: FollowUp, settings: Settings) -> str:
    payload = retraction_message(followup, settings)
    status = _post_json(settings.alert_webhook_url, payload, settings, "alert webhook")
    telemetry.count("AlertsRetracted", channel="webhook")
    return status


def publish_escalation(followup: FollowUp, settings: Settings, topic_arn: str, now: datetime) -> str:
    subject = (f"{settings.company_name}: overdue follow-up {followup.followup_id} "
               f"({followup.kind.value.upper()} {followup.score}, {followup.team or 'no team'})")
    return _publish(topic_arn, subject, escalation_text(followup, settings, now), followup)


def post_escalation(followup: FollowUp, settings: Settings, url: str, now: datetime) -> str:
    return _post_json(url, escalation_slack_message(followup, settings, now), settings, "escalation webhook")


def _publish(topic_arn: str, subject: str, text: str, followup: FollowUp) -> str:
    response = aws.client("sns").publish(
        TopicArn=topic_arn, Subject=_subject(subject), Message=text,
        MessageAttributes={"followup_id": {"DataType": "String", "StringValue": followup.followup_id}},
    )
    return response["MessageId"]


def _post_json(url: str, payload: dict, settings: Settings, what: str) -> str:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "closeloop"}
    signing_secrets = stage_secrets.accepted("webhook_signing_secret")
    if signing_secrets:
        t = int(clock.now().timestamp())
        headers.update({SIGNATURE_HEADER: sign_all(body, signing_secrets, t), TIMESTAMP_HEADER: str(t)})
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return str(response.status)
    except urllib.error.HTTPError as error:
        # The URL holds the webhook's secret: never put it in an error message.
        raise WebhookError(f"{what} answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise WebhookError(f"{what} unreachable: {type(error).__name__}") from None


def sign(body: bytes, secret: str, t: int) -> str:
    """The X-Closeloop-Signature value of a webhook body sent at unix time `t`."""
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def sign_all(body: bytes, secrets: list[str], t: int) -> str:
    """One `v1=` per secret, the current one first: during a rotation's window a receiver still
    holding the previous secret verifies the post, as does one that has moved to the new secret."""
    return ",".join([f"t={t}"] + [sign(body, secret, t).partition(",")[2] for secret in secrets])


def verify(body: bytes, header: Optional[str], secret: str, now: float,
           tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """True if `header` (X-Closeloop-Signature) signs exactly `body` with `secret`, and its
    timestamp is within `tolerance` seconds of `now` (unix seconds). What a receiver runs."""
    t, candidates = None, []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            t = int(value)
        elif name == "v1":
            candidates.append(value)
    if t is None or not candidates or abs(now - t) > tolerance:
        return False
    expected = sign(body, secret, t).partition(",v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def _subject(text: str) -> str:
    """SNS subjects: at most 100 printable ASCII characters, no line breaks."""
    ascii_text = text.encode("ascii", "replace").decode().replace("\n", " ")
    return ascii_text[:100]

