"""Freshdesk: an automation's webhook says a ticket was resolved (or closed) or reopened.

Freshdesk cannot sign its webhooks: the automation sends a shared secret in a header of ours,
X-Closeloop-Freshdesk-Secret, and replays are refused by the delivery's own key (ticket, status,
updated_at). The interaction id is "fd-<ticket id>".
"""
from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any, Optional

from pydantic import StringConstraints

from chalicelib.integrations.base import (
    Event, Id, Mismatch, OptEmail, OptId, OptName, OptPhone, Payload, Refused, ticket_event,
)
from chalicelib.platform.validation import validate
from chalicelib.surveys import Channel, SurveyKind


class FreshdeskPerson(Payload):
    id: OptId = None
    email: OptEmail = None
    name: OptName = None
    phone: OptPhone = None


class FreshdeskTicket(Payload):
    id: Id
    status: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=32)]
    updated_at: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    requester: Optional[FreshdeskPerson] = None
    agent: Optional[FreshdeskPerson] = None
    group: OptName = None


class FreshdeskBody(Payload):
    ticket: FreshdeskTicket
    survey: Optional[SurveyKind] = None
    channel: Optional[Channel] = None


class Freshdesk:
    name = "freshdesk"
    prefix = "fd-"
    secret_setting = "freshdesk_webhook_secret"
    HEADER = "x-closeloop-freshdesk-secret"
    SOLVED, REOPENED = {"resolved", "closed"}, {"open", "reopened"}

    @staticmethod
    def signed_headers(secret: str, raw: bytes, now: datetime) -> dict:
        return {"X-Closeloop-Freshdesk-Secret": secret}  # Freshdesk cannot sign: the shared secret itself

    @classmethod
    def verify(cls, headers: dict, raw: bytes, secret: str, now: datetime) -> None:
        given = headers.get(cls.HEADER, "").strip()
        if not given:
            raise Refused("missing X-Closeloop-Freshdesk-Secret")
        if not hmac.compare_digest(secret.encode(), given.encode("utf-8", "replace")):
            raise Mismatch("wrong secret")

    @staticmethod
    def check_fresh(payload: Any, now: datetime) -> None:
        pass  # Freshdesk sends no timestamp it signs; replays are refused by delivery_key

    @staticmethod
    def delivery_key(headers: dict, payload: Any) -> str:
        ticket = payload["ticket"]
        return f"{ticket['id']}|{str(ticket['status']).strip().lower()}|{str(ticket['updated_at']).strip()}"

    @classmethod
    def to_event(cls, payload: Any) -> Event:
        body = validate(FreshdeskBody, payload)
        return ticket_event(cls, body, body.ticket.agent)
