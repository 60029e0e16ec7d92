"""Slack's interactivity requests (POST /v1/slack/actions): a lead pressed Claim, Contacted or
Resolved on a detractor message (followups/alerts.py makes the buttons).

Order of checks, as for the helpdesk webhooks (nothing is parsed before the signature holds,
nothing is written before every check passed): not configured 404 -> signature, timestamp 401 ->
form, payload 400 -> replay 401 -> the change. Slack signs `v0:<X-Slack-Request-Timestamp>:<raw
body>` with the app's signing secret (HMAC-SHA256, `X-Slack-Signature: v0=<hex>`); a timestamp more
than 5 minutes from our clock is stale. Each accepted signature is taken once (pk=SLACKREQ#<sha256
of the signature>, sk=SLACKREQ, expiring after the window), so a replay within the window is
refused. The change is made as the presser: the lead who linked their Slack user id, else
`slack:<username>`. Slack wants a 200 within 3 seconds, so the message update goes on the queue
(followups/slack_replies.py posts it to the payload's response_url); a refused change is answered
there too, as an ephemeral message to the presser.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import datetime, timedelta
from typing import Annotated, Optional
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

import chalicelib.followups as followups
import chalicelib.leads as leads
from chalicelib.integrations.base import TOLERANCE_SECONDS, NotConfigured, Refused, Unauthorized
from chalicelib.platform import clock, jobs
from chalicelib.platform import secrets as stage_secrets
from chalicelib.platform.errors import Conflict, InvalidInput, NotFound, bad_field
from chalicelib.platform.validation import read_json, validate
from chalicelib.storage.repository import Repository
from chalicelib.storage.table import TTL_ATTRIBUTE, ItemKey

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
MAX_BODY_BYTES = 64 * 1024
# A marker outlives every timestamp still accepted, on either side of our clock.
_MARKER_TTL = timedelta(seconds=2 * TOLERANCE_SECONDS + 60)
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
_NOT_USERNAME = re.compile(r"[^A-Za-z0-9._-]")

Text = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class SlackUser(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: Text
    username: Optional[Text] = None
    name: Optional[Text] = None   # older payloads carry `name` as well as, or instead of, `username`


class SlackAction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action_id: Text
    value: Optional[Annotated[str, StringConstraints(max_length=2000)]] = None


class BlockActions(BaseModel):
    """The `payload` of a block_actions interaction: only what closeloop reads of it."""
    model_config = ConfigDict(extra="ignore")
    type: Text
    user: SlackUser
    actions: list[SlackAction] = Field(min_length=1)
    response_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2048)]


class SlackActionsForm(BaseModel):
    """The body Slack posts (application/x-www-form-urlencoded): one field, the payload as JSON."""
    payload: str = Field(description="a block_actions payload (JSON) from a button of a detractor message")


class SlackRequests(Repository):
    """The replay markers of Slack requests (see the module docstring)."""

    def take(self, signature: str, now: datetime) -> bool:
        """Mark the signed request taken; False when it was taken before (a replay)."""
        return self.table.create({**self._key(signature)._asdict(), "at": clock.iso(now),
                                  TTL_ATTRIBUTE: int((now + _MARKER_TTL).timestamp())})

    def give_back(self, signature: str) -> None:
        self.table.delete(self._key(signature))

    @staticmethod
    def _key(signature: str) -> ItemKey:
        return ItemKey(f"SLACKREQ#{hashlib.sha256(signature.encode()).hexdigest()}", "SLACKREQ")


def sign(secret: str, timestamp: str, raw: bytes) -> str:
    """The X-Slack-Signature of `raw` sent at `timestamp` (unix seconds): the one place it is computed."""
    base = b"v0:" + timestamp.encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_signed_headers(secret: str, raw: bytes, now: datetime) -> dict:
    """What Slack sends with `raw` at `now` (python -m devstack.sign slack, tests)."""
    timestamp = str(int(now.timestamp()))
    return {"Content-Type": "application/x-www-form-urlencoded", TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, raw)}


def receive_slack(headers: dict, raw: bytes) -> None:
    """One interaction: None (answer 200 at once) once it is acted on; NotConfigured (404),
    Unauthorized (401) or InvalidInput (400, naming the field) otherwise."""
    accepted = stage_secrets.accepted("slack_signing_secret")
    if not accepted:
        raise NotConfigured("slack")
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    now = clock.now()
    try:
        if len(raw) > MAX_BODY_BYTES:
            raise Refused("body too large")  # never signed by Slack
        signature = _verify(headers, raw, accepted, now)
        payload = _payload(raw)
        if not SlackRequests().take(signature, now):
            raise Refused("replayed request")
    except Refused as refusal:
        log.warning("slack request refused: %s", refusal)
        raise Unauthorized() from None
    try:
        _act(payload)
    except BaseException:
        SlackRequests().give_back(signature)  # Slack's retry must not look like a replay
        raise


def _verify(headers: dict, raw: bytes, accepted: list[str], now: datetime) -> str:
    """The request's signature, if it holds with an accepted secret (either side of a rotation) and
    its timestamp is fresh; a mismatch re-reads the secrets once, as the helpdesk webhooks do."""
    timestamp, signature = headers.get(TIMESTAMP_HEADER.lower(), ""), headers.get(SIGNATURE_HEADER.lower(), "")
    if not timestamp.isdigit() or not _SIGNATURE.match(signature):
        raise Refused("missing or malformed signature headers")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        raise Refused("stale timestamp")
    for attempt in (1, 2):
        if any(hmac.compare_digest(sign(secret, timestamp, raw), signature) for secret in accepted):
            return signature
        if attempt == 2 or not stage_secrets.refresh():
            break
        accepted = stage_secrets.accepted("slack_signing_secret")
    raise Refused("signature matches no accepted secret")


def _payload(raw: bytes) -> BlockActions:
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeError, ValueError):
        raise bad_field("body", "must be a UTF-8 form post") from None
    if not form.get("payload"):
        raise bad_field("payload", "is required: Slack's interaction payload as JSON")
    try:
        data = read_json(form["payload"][-1].encode())  # the edge's one reader: depth, duplicates, numbers
    except InvalidInput:
        raise bad_field("payload", "must be JSON") from None
    if not isinstance(data, dict):
        raise bad_field("payload", "must be a JSON object")
    try:
        payload = validate(BlockActions, data)
    except InvalidInput as problem:
        for field in problem.fields:
            field["field"] = f"payload.{field['field']}"
        raise
    if payload.type != "block_actions":
        raise bad_field("payload.type", "must be block_actions")
    action = payload.actions[0]
    if action.action_id != followups.SLACK_OPEN_ACTION:
        if action.action_id not in followups.SLACK_ACTIONS:
            raise bad_field("payload.actions.0.action_id", "is not a closeloop button")
        if not action.value:
            raise bad_field("payload.actions.0.value", "must name the follow-up")
    return payload


def presser(user: SlackUser) -> str:
    """Who pressed: the linked lead's email, else `slack:<username>` (recorded in the history)."""
    lead = leads.lead_for_slack_user(user.id)
    if lead is not None:
        return lead.email
    return "slack:" + (_NOT_USERNAME.sub("-", user.username or user.name or user.id)[:64])


def _act(payload: BlockActions) -> None:
    action = payload.actions[0]
    if action.action_id == followups.SLACK_OPEN_ACTION:
        return  # the link button: Slack opened the page; nothing to change
    followup_id, status, by = action.value, followups.SLACK_ACTIONS[action.action_id], presser(payload.user)
    refusal = None
    try:
        _change(followup_id, status, by)
    except (Conflict, NotFound) as problem:
        refusal = problem.message
    else:
        followups.remember_response_url(followup_id, payload.response_url)
    log.info("slack press %s on %s by %s: %s", action.action_id, followup_id, by, refusal or "done")
    jobs.enqueue(followups.RespondInSlack(followup_id=followup_id, response_url=payload.response_url,
                                          refusal=refusal))


def _change(followup_id: str, status, by: str) -> None:
    """Claim as the presser; Contacted or Resolved on an open follow-up claims it for them first."""
    current = followups.get(followup_id)
    if status is followups.FollowUpStatus.CLAIMED or current.status is followups.FollowUpStatus.OPEN:
        followups.claim(followup_id, owner=by, by=by)
    if status is not followups.FollowUpStatus.CLAIMED:
        followups.change(followup_id, followups.Change(status=status), by=by)
