"""Intercom: conversation.admin.closed / conversation.admin.opened notifications.

Signed as Intercom signs: X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, body)>; Intercom sends
no timestamp header, so the signed notification's `created_at` must be within 5 minutes. The
interaction id is "ic-<conversation id>".
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Any, Literal, Optional

from pydantic import StringConstraints

from chalicelib.integrations.base import (
    TOLERANCE_SECONDS, Event, Id, Mismatch, OptEmail, OptId, OptName, OptText, Payload, Refused, clean, input_error,
)
from chalicelib.platform.validation import validate
from chalicelib.surveys import InteractionIn


class IntercomAuthor(Payload):
    type: OptText = None
    id: OptId = None
    name: OptName = None
    email: OptEmail = None


class IntercomSource(Payload):
    author: Optional[IntercomAuthor] = None


class IntercomContact(Payload):
    id: OptId = None
    external_id: OptId = None


class IntercomContacts(Payload):
    contacts: list[IntercomContact] = []


class IntercomConversation(Payload):
    id: Id
    source: Optional[IntercomSource] = None
    contacts: Optional[IntercomContacts] = None
    admin_assignee_id: OptId = None
    team_assignee_id: OptId = None


class IntercomData(Payload):
    item: IntercomConversation


class IntercomTopic(Payload):
    type: Literal["notification_event"]
    topic: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    id: Id


class IntercomNotification(IntercomTopic):
    data: IntercomData


class Intercom:
    name = "intercom"
    prefix = "ic-"
    secret_setting = "intercom_client_secret"
    SOLVED, REOPENED = {"conversation.admin.closed"}, {"conversation.admin.opened"}

    @staticmethod
    def signature(secret: str, raw: bytes) -> str:
        """hex HMAC-SHA1(client secret, raw body), sent as X-Hub-Signature: sha1=<this>."""
        return hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()

    @classmethod
    def signed_headers(cls, secret: str, raw: bytes, now: datetime) -> dict:
        return {"X-Hub-Signature": "sha1=" + cls.signature(secret, raw)}  # the body's created_at dates it

    @classmethod
    def verify(cls, headers: dict, raw: bytes, secret: str, now: datetime) -> None:
        header = headers.get("x-hub-signature", "").strip()
        scheme, _, signature = header.partition("=")
        if scheme != "sha1" or not signature:
            raise Refused("missing X-Hub-Signature")
        expected = cls.signature(secret, raw).encode()
        if not hmac.compare_digest(expected, signature.lower().encode("utf-8", "replace")):
            raise Mismatch("bad signature")

    @staticmethod
    def check_fresh(payload: Any, now: datetime) -> None:
        # Intercom sends no timestamp header: the signed notification's created_at (unix seconds).
        created_at = payload.get("created_at") if isinstance(payload, dict) else None
        if not isinstance(created_at, int) or isinstance(created_at, bool):
            raise Refused("no created_at in the notification")
        if abs(now.timestamp() - created_at) > TOLERANCE_SECONDS:
            raise Refused("stale notification")

    @staticmethod
    def delivery_key(headers: dict, payload: Any) -> str:
        return str(payload["id"])  # the notification id (validated by to_event)

    @classmethod
    def to_event(cls, payload: Any) -> Event:
        topic = validate(IntercomTopic, payload)
        if topic.topic not in cls.SOLVED | cls.REOPENED:
            return Event("ignored", detail=f"topic {topic.topic}")
        conversation = validate(IntercomNotification, payload).data.item
        interaction_id = cls.prefix + conversation.id
        if topic.topic in cls.REOPENED:
            return Event("reopened", interaction_id)
        author = (conversation.source.author if conversation.source else None) or IntercomAuthor()
        is_customer = author.type in (None, "user", "lead", "contact")
        contacts = conversation.contacts.contacts if conversation.contacts else []
        customer_id = next((c.external_id or c.id for c in contacts if c.external_id or c.id), None)
        customer_id = customer_id or (author.id if is_customer else None)
        if customer_id is None:
            raise input_error("data.item.contacts.contacts", "the conversation names no contact")
        email = author.email if is_customer else None
        if not email:
            raise input_error("data.item.source.author.email", "the conversation's customer has no email address")
        data = {
            "interaction_id": interaction_id,
            "customer": {"id": customer_id, "email": email, "name": author.name if is_customer else None},
            "agent": {"id": conversation.admin_assignee_id} if conversation.admin_assignee_id not in (None, "0") else None,
            "team": conversation.team_assignee_id if conversation.team_assignee_id not in (None, "0") else None,
            "properties": {"helpdesk": "intercom"},
            "ticket": {"helpdesk": "intercom", "id": conversation.id},  # the result is written back to it
        }
        return Event("solved", interaction_id, validate(InteractionIn, clean(data)))
