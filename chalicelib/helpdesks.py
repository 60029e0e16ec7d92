"""Helpdesk webhooks: Zendesk, Intercom and Freshdesk tell us a ticket was solved or reopened.

Each product has one small adapter:
- `verify(headers, raw_body, secret, now)` checks the product's signature over the exact raw body
  (and its timestamp, where the product sends one) and raises Refused (401) otherwise;
- `check_fresh(payload, now)` refuses a signed body whose own timestamp is stale (Intercom);
- `delivery_key(headers, payload)` names the delivery for the replay marker;
- `to_event(payload)` maps the body to an Event: "solved" (with an InteractionIn), "reopened"
  (with the interaction id) or "ignored";
- `signed_headers(secret, raw_body, now)` is what the product sends with a body: the one place
  each signature is computed, used by `verify` and by `python -m devstack.sign`, which plays the
  helpdesk against the local stack.

Order of checks (nothing is parsed before the signature holds, nothing is written before every
check passed): not configured 404 -> signature, timestamp 401 -> JSON, fields 400 -> replay 401
-> side effect. A delivery's once-only marker (pk=HOOK#<product>#<sha256 of its key>, sk=HOOK,
with an `expires_ttl` epoch attribute for DynamoDB TTL) is written just before the side effect
and removed again if the side effect fails, so the helpdesk's retry is not taken for a replay.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal, Optional

from chalice import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from chalicelib import clock, edge, surveys
from chalicelib import secrets as stage_secrets
from chalicelib.models import Channel, Email, InteractionIn, Phone, SurveyStatus, _locale
from chalicelib.scoring import SurveyKind
from chalicelib.storage import get_store

log = logging.getLogger(__name__)

TOLERANCE_SECONDS = 5 * 60
# A marker must outlive every timestamp still accepted; Freshdesk has none, so its markers stay longer.
MARKER_TTL = {"zendesk": timedelta(days=1), "intercom": timedelta(days=1), "freshdesk": timedelta(days=30)}
MAX_BODY_BYTES = 1024 * 1024  # Intercom sends the whole conversation


class Refused(Exception):
    """401: unsigned, badly signed, stale or replayed. The reason is logged, never answered."""


class Mismatch(Refused):
    """401: the signature (or shared secret) is well formed but matches no accepted secret, so
    another accepted secret (a rotation's new or old one) may still verify it."""


class NotConfigured(Exception):
    """404: the product's secret is not set, so nothing it sends can be verified."""


@dataclass(frozen=True)
class Event:
    kind: Literal["solved", "reopened", "ignored"]
    interaction_id: Optional[str] = None
    interaction: Optional[InteractionIn] = None
    detail: str = ""


# --- payload field types: helpdesk placeholders render absent values as "" ---------------------

def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Id = Annotated[str, BeforeValidator(_id_text),
               StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
OptId = Annotated[Optional[Id], BeforeValidator(_blank_is_none)]
OptEmail = Annotated[Optional[Email], BeforeValidator(_blank_is_none)]
# A phone as the helpdesk stores it ("+1 (415) 555-0123", "0049 30 1234567"); see readable_phone.
OptPhone = Annotated[Optional[Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]],
                     BeforeValidator(_blank_is_none)]
OptName = Annotated[Optional[Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]],
                    BeforeValidator(_blank_is_none)]
OptText = Annotated[Optional[Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]],
                    BeforeValidator(_blank_is_none)]


_PHONE = TypeAdapter(Phone)


def readable_phone(value: Optional[str]) -> Optional[str]:
    """The phone in E.164, or None: agents type numbers in any format, and one we cannot read
    unambiguously (no country code) must not cost the customer an email survey."""
    if not value:
        return None
    compact = re.sub(r"[\s().\-/]", "", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    try:
        return _PHONE.validate_python(compact)
    except ValidationError:
        return None


def _tag_or_none(value: Optional[str]) -> Optional[str]:
    """A language tag, or None: a helpdesk's language name ("English") is dropped, not an error."""
    try:
        return _locale(value) if value else None
    except ValueError:
        return None


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _clean(data: dict) -> dict:
    """Drop None values, recursively, so InteractionIn sees only what the helpdesk sent."""
    return {k: (_clean(v) if isinstance(v, dict) else v) for k, v in data.items() if v is not None}


# --- Zendesk -------------------------------------------------------------------------------

class ZendeskPerson(_Payload):
    id: OptId = None
    email: OptEmail = None
    name: OptName = None
    phone: OptPhone = None
    locale: OptText = None


class ZendeskTicket(_Payload):
    id: Id
    status: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=32)]
    requester: Optional[ZendeskPerson] = None
    assignee: Optional[ZendeskPerson] = None
    group: OptName = None


class ZendeskBody(_Payload):
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
        body = edge.validate(ZendeskBody, payload)
        return _ticket_event(cls, body, body.ticket.assignee)


# --- Intercom ------------------------------------------------------------------------------

class IntercomAuthor(_Payload):
    type: OptText = None
    id: OptId = None
    name: OptName = None
    email: OptEmail = None


class IntercomSource(_Payload):
    author: Optional[IntercomAuthor] = None


class IntercomContact(_Payload):
    id: OptId = None
    external_id: OptId = None


class IntercomContacts(_Payload):
    contacts: list[IntercomContact] = []


class IntercomConversation(_Payload):
    id: Id
    source: Optional[IntercomSource] = None
    contacts: Optional[IntercomContacts] = None
    admin_assignee_id: OptId = None
    team_assignee_id: OptId = None


class IntercomData(_Payload):
    item: IntercomConversation


class IntercomTopic(_Payload):
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
        topic = edge.validate(IntercomTopic, payload)
        if topic.topic not in cls.SOLVED | cls.REOPENED:
            return Event("ignored", detail=f"topic {topic.topic}")
        conversation = edge.validate(IntercomNotification, payload).data.item
        interaction_id = cls.prefix + conversation.id
        if topic.topic in cls.REOPENED:
            return Event("reopened", interaction_id)
        author = (conversation.source.author if conversation.source else None) or IntercomAuthor()
        is_customer = author.type in (None, "user", "lead", "contact")
        contacts = conversation.contacts.contacts if conversation.contacts else []
        customer_id = next((c.external_id or c.id for c in contacts if c.external_id or c.id), None)
        customer_id = customer_id or (author.id if is_customer else None)
        if customer_id is None:
            raise _input_error("data.item.contacts.contacts", "the conversation names no contact")
        email = author.email if is_customer else None
        if not email:
            raise _input_error("data.item.source.author.email", "the conversation's customer has no email address")
        data = {
            "interaction_id": interaction_id,
            "customer": {"id": customer_id, "email": email, "name": author.name if is_customer else None},
            "agent": {"id": conversation.admin_assignee_id} if conversation.admin_assignee_id not in (None, "0") else None,
            "team": conversation.team_assignee_id if conversation.team_assignee_id not in (None, "0") else None,
            "properties": {"helpdesk": "intercom"},
        }
        return Event("solved", interaction_id, edge.validate(InteractionIn, _clean(data)))


# --- Freshdesk -----------------------------------------------------------------------------

class FreshdeskPerson(_Payload):
    id: OptId = None
    email: OptEmail = None
    name: OptName = None
    phone: OptPhone = None


class FreshdeskTicket(_Payload):
    id: Id
    status: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=32)]
    updated_at: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    requester: Optional[FreshdeskPerson] = None
    agent: Optional[FreshdeskPerson] = None
    group: OptName = None


class FreshdeskBody(_Payload):
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
        body = edge.validate(FreshdeskBody, payload)
        return _ticket_event(cls, body, body.ticket.agent)


ADAPTERS = {adapter.name: adapter for adapter in (Zendesk, Intercom, Freshdesk)}


def _ticket_event(adapter, body, agent) -> Event:
    """Zendesk and Freshdesk tickets: solved surveys the requester, reopened cancels, else ignored."""
    ticket = body.ticket
    interaction_id = adapter.prefix + ticket.id
    if ticket.status in adapter.REOPENED:
        return Event("reopened", interaction_id)
    if ticket.status not in adapter.SOLVED:
        return Event("ignored", interaction_id, detail=f"ticket status {ticket.status}")
    requester = ticket.requester
    if requester is None or requester.id is None:
        raise _input_error("ticket.requester.id", "the requester's id is required")
    phone = readable_phone(requester.phone)
    if not requester.email and not phone:
        if requester.phone:
            raise _input_error("ticket.requester.phone", "must be a phone number with its country code, "
                                                         "such as +14155550123", "value_error")
        raise _input_error("ticket.requester.email", "ticket.requester.email or ticket.requester.phone is required")
    data = {
        "interaction_id": interaction_id, "survey": body.survey, "channel": body.channel,
        "customer": {"id": requester.id, "email": requester.email, "phone": phone,
                     "name": requester.name, "locale": _tag_or_none(getattr(requester, "locale", None))},
        "agent": {"id": agent.id, "name": agent.name} if agent and agent.id else None,
        "team": ticket.group, "properties": {"helpdesk": adapter.name},
    }
    return Event("solved", interaction_id, edge.validate(InteractionIn, _clean(data)))


def _input_error(field: str, message: str, kind: str = "missing") -> edge.InputError:
    return edge.InputError(400, "validation_error", "the request has invalid fields",
                           [{"field": field, "message": message, "type": kind}])


# --- the route -----------------------------------------------------------------------------

def receive(product: str, request) -> Response:
    """The whole webhook route: 404 not configured, 401 refused, 400 naming a field, 200/202."""
    adapter = ADAPTERS[product]
    accepted = stage_secrets.accepted(adapter.secret_setting)
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    raw = request.raw_body or b""
    now = clock.now()
    try:
        if not accepted:
            raise NotConfigured(product)
        if len(raw) > MAX_BODY_BYTES:
            raise Refused("body too large")  # never signed by a real helpdesk
        _verify(adapter, headers, raw, accepted, now)
        try:
            payload = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise edge.InputError(400, "invalid_json", "the body is not valid JSON",
                                  [{"field": "body", "message": "must be valid JSON", "type": "invalid_json"}]) from None
        if not isinstance(payload, dict):
            raise edge.InputError(400, "validation_error", "the body must be a JSON object",
                                  [{"field": "body", "message": "must be a JSON object", "type": "dict_type"}])
        adapter.check_fresh(payload, now)
        event = adapter.to_event(payload)
        if event.kind == "ignored":
            return _answer(200, {"status": "ignored", "reason": event.detail})
        return _once(adapter, headers, payload, now, lambda: _apply(adapter, event, request))
    except NotConfigured:
        return _answer(404, {"error": "not_configured", "message": f"the {product} webhook is not configured"})
    except Refused as refusal:
        log.warning("%s webhook refused: %s", product, refusal)
        return _answer(401, {"error": "unauthorized", "message": "the webhook signature is missing, wrong, stale or replayed"})
    except edge.InputError as error:
        return error.response()


def _verify(adapter, headers: dict, raw: bytes, accepted: list[str], now: datetime) -> None:
    """Verified if the signature holds with any accepted secret: during a rotation's window the
    helpdesk may sign with the old or the new one. A signature that matches none makes a warm
    Lambda re-read its secrets once (chalicelib/secrets.py limits how often), so a new value the
    helpdesk generated and signs with at once is not refused until the cache expires."""
    for attempt in (1, 2):
        mismatch = Mismatch("no accepted secret")
        for secret in accepted:
            try:
                adapter.verify(headers, raw, secret, now)
                return
            except Mismatch as error:
                mismatch = error
        if attempt == 2 or not stage_secrets.refresh():
            raise mismatch
        accepted = stage_secrets.accepted(adapter.secret_setting)


def _once(adapter, headers: dict, payload: dict, now: datetime, action) -> Response:
    store = get_store()
    digest = hashlib.sha256(adapter.delivery_key(headers, payload).encode()).hexdigest()
    marker = (f"HOOK#{adapter.name}#{digest}", "HOOK")
    expires = int((now + MARKER_TTL[adapter.name]).timestamp())
    if not store.put_marker(*marker, now, expires_ttl=expires):
        raise Refused("replayed delivery")
    try:
        return action()
    except BaseException:
        store.delete_marker(*marker)  # the helpdesk's retry must not look like a replay
        raise


def _apply(adapter, event: Event, request) -> Response:
    if event.kind == "solved":
        accepted = surveys.accept_interaction(event.interaction, edge.base_url(request))
        return _answer(202 if accepted.created else 200, {"interaction_id": event.interaction_id, **accepted.view()})
    cancel = getattr(surveys, "cancel_interaction", None)
    if cancel is None:
        return _answer(200, {"interaction_id": event.interaction_id, "status": "ignored",
                             "reason": "cancelling is not available"})
    try:
        survey = cancel(event.interaction_id, by=adapter.name)
    except surveys.CannotCancel as refusal:
        # Too late (sent, failed, or being sent): a 2xx, so the helpdesk does not retry in vain.
        return _answer(200, {"interaction_id": event.interaction_id, "survey_id": refusal.survey.survey_id,
                             "status": refusal.survey.status.value, "cancelled": False, "reason": str(refusal)})
    if survey is None:
        return _answer(200, {"interaction_id": event.interaction_id, "status": "not_found", "cancelled": False,
                             "reason": "no survey for this interaction"})
    return _answer(200, {"interaction_id": event.interaction_id, "survey_id": survey.survey_id,
                         "status": survey.status.value, "cancelled": survey.status is SurveyStatus.SUPPRESSED,
                         "reason": survey.suppressed_reason})


def _answer(status: int, body: dict) -> Response:
    return Response(status_code=status, body=body, headers={"Content-Type": "application/json"})
