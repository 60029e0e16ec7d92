"""Zendesk: a trigger's webhook says a ticket was solved (or closed) or reopened.

Signed as Zendesk signs: X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, timestamp + body)),
with X-Zendesk-Webhook-Signature-Timestamp within 5 minutes. The interaction id is "zd-<ticket id>".
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Annotated, Any, Optional

from pydantic import StringConstraints

from chalicelib.integrations.base import (
    TOLERANCE_SECONDS, Event, Id, Mismatch, OptEmail, OptId, OptName, OptPhone, OptText, Payload, Refused, ticket_event,
)
from chalicelib.platform import clock
from chalicelib.platform.validation import validate
from chalicelib.surveys import Channel, SurveyKind


class ZendeskPerson(Payload):
    id: OptId = None
    email: OptEmail = None
    name: OptName = None
    phone: OptPhone = None
    locale: OptText = None


class ZendeskTicket(Payload):
    id: Id
    status: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=32)]
    requester: Optional[ZendeskPerson] = None
    assignee: Optional[ZendeskPerson] = None
    group: OptName = None


class ZendeskBody(Payload):
    ticket: ZendeskTicket
    survey: Optional[SurveyKind] = None
    channel: Optional[Channel] = None


class Zendesk:
    name = "zendesk"
    prefix = "zd-"
    secret_setting = "zendesk_webhook_secret"
    SOLVED, REOPENED = {"solved", "closed"}, {"open"}

    @staticmethod
    def signature(secret: str, timestamp: str, raw: bytes) -> str:
        """base64(HMAC-SHA256(secret, X-Zendesk-Webhook-Signature-Timestamp + raw body))."""
        return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + raw, hashlib.sha256).digest()).decode()

    @classmethod
    def signed_headers(cls, secret: str, raw: bytes, now: datetime) -> dict:
        timestamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"X-Zendesk-Webhook-Signature": cls.signature(secret, timestamp, raw),
                "X-Zendesk-Webhook-Signature-Timestamp": timestamp}

    @classmethod
    def verify(cls, headers: dict, raw: bytes, secret: str, now: datetime) -> None:
        signature = headers.get("x-zendesk-webhook-signature", "").strip()
        timestamp = headers.get("x-zendesk-webhook-signature-timestamp", "").strip()
        if not signature or not timestamp:
            raise Refused("missing X-Zendesk-Webhook-Signature or -Timestamp")
        expected = cls.signature(secret, timestamp, raw).encode()
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            raise Mismatch("bad signature")
        try:
            signed_at = clock.parse_iso(timestamp)
            if signed_at.tzinfo is None:
                raise ValueError("no time zone")
        except ValueError:
            raise Refused("unreadable timestamp") from None
        if abs((now - signed_at).total_seconds()) > TOLERANCE_SECONDS:
            raise Refused("stale timestamp")

    @staticmethod
    def check_fresh(payload: Any, now: datetime) -> None:
        pass  # the signed header timestamp was checked in verify

    @staticmethod
    def delivery_key(headers: dict, payload: Any) -> str:
        # The signature covers timestamp and body; X-Zendesk-Webhook-Invocation-Id is not signed,
        # so a replayer could change it: the signature itself names the delivery.
        return headers["x-zendesk-webhook-signature"].strip()

    @classmethod
    def to_event(cls, payload: Any) -> Event:
        body = validate(ZendeskBody, payload)
        return ticket_event(cls, body, body.ticket.assignee)
