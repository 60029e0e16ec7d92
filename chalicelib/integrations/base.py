"""What every helpdesk adapter shares: the refusals, the event a webhook maps to, the payload field
types (helpdesk placeholders render absent values as ""), and the mapping of a solved ticket.

An adapter (zendesk.py, intercom.py, freshdesk.py) is a class with
- `verify(headers, raw_body, secret, now)`: the product's signature over the exact raw body (and
  its timestamp, where the product sends one), raising Refused (401) otherwise;
- `check_fresh(payload, now)`: refuses a signed body whose own timestamp is stale (Intercom);
- `delivery_key(headers, payload)`: names the delivery for the replay marker;
- `to_event(payload)`: the body as an Event: "solved" (with an InteractionIn), "reopened" (with the
  interaction id) or "ignored";
- `signed_headers(secret, raw_body, now)`: what the product sends with a body: the one place each
  signature is computed, used by `verify` and by `python -m devstack.sign`, which plays the
  helpdesk against the local stack.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from chalicelib.platform.errors import InvalidInput, NotFound, Problem, invalid_fields
from chalicelib.platform.fields import Email, Phone, language_tag
from chalicelib.platform.validation import validate
from chalicelib.surveys import InteractionIn

# A signed timestamp (or Intercom's created_at) further than this from our clock is refused.
TOLERANCE_SECONDS = 5 * 60


class Refused(Exception):
    """Unsigned, badly signed, stale or replayed: answered as Unauthorized; the reason is only logged."""


class Mismatch(Refused):
    """The signature (or shared secret) is well formed but matches no accepted secret, so
    another accepted secret (a rotation's new or old one) may still verify it."""


class NotConfigured(NotFound):
    """404: the product's secret is not set, so nothing it sends can be verified."""

    def __init__(self, product: str):
        super().__init__(f"the {product} webhook is not configured", error="not_configured")


class Unauthorized(Problem):
    """401, the same answer for every refusal: a forger learns nothing of why."""
    status, error = 401, "unauthorized"

    def __init__(self):
        super().__init__("the webhook signature is missing, wrong, stale or replayed")


@dataclass(frozen=True)
class Event:
    kind: Literal["solved", "reopened", "ignored"]
    interaction_id: Optional[str] = None
    interaction: Optional[InteractionIn] = None
    detail: str = ""


# --- payload field types: helpdesk placeholders render absent values as "" ---------------------

def blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Id = Annotated[str, BeforeValidator(_id_text),
               StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
OptId = Annotated[Optional[Id], BeforeValidator(blank_is_none)]
OptEmail = Annotated[Optional[Email], BeforeValidator(blank_is_none)]
# A phone as the helpdesk stores it ("+1 (415) 555-0123", "0049 30 1234567"); see readable_phone.
OptPhone = Annotated[Optional[Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]],
                     BeforeValidator(blank_is_none)]
OptName = Annotated[Optional[Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]],
                    BeforeValidator(blank_is_none)]
OptText = Annotated[Optional[Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]],
                    BeforeValidator(blank_is_none)]


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


def tag_or_none(value: Optional[str]) -> Optional[str]:
    """A language tag, or None: a helpdesk's language name ("English") is dropped, not an error."""
    try:
        return language_tag(value) if value else None
    except ValueError:
        return None


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


def clean(data: dict) -> dict:
    """Drop None values, recursively, so InteractionIn sees only what the helpdesk sent."""
    return {k: (clean(v) if isinstance(v, dict) else v) for k, v in data.items() if v is not None}


def ticket_event(adapter, body, agent) -> Event:
    """Zendesk and Freshdesk tickets: solved surveys the requester, reopened cancels, else ignored."""
    ticket = body.ticket
    interaction_id = adapter.prefix + ticket.id
    if ticket.status in adapter.REOPENED:
        return Event("reopened", interaction_id)
    if ticket.status not in adapter.SOLVED:
        return Event("ignored", interaction_id, detail=f"ticket status {ticket.status}")
    requester = ticket.requester
    if requester is None or requester.id is None:
        raise input_error("ticket.requester.id", "the requester's id is required")
    phone = readable_phone(requester.phone)
    if not requester.email and not phone:
        if requester.phone:
            raise input_error("ticket.requester.phone", "must be a phone number with its country code, "
                                                         "such as +14155550123", "value_error")
        raise input_error("ticket.requester.email", "ticket.requester.email or ticket.requester.phone is required")
    data = {
        "interaction_id": interaction_id, "survey": body.survey, "channel": body.channel,
        "customer": {"id": requester.id, "email": requester.email, "phone": phone,
                     "name": requester.name, "locale": tag_or_none(getattr(requester, "locale", None))},
        "agent": {"id": agent.id, "name": agent.name} if agent and agent.id else None,
        "team": ticket.group, "properties": {"helpdesk": adapter.name},
        "ticket": {"helpdesk": adapter.name, "id": ticket.id},  # the result is written back to it
    }
    return Event("solved", interaction_id, validate(InteractionIn, clean(data)))


def input_error(field: str, message: str, kind: str = "missing") -> InvalidInput:
    return invalid_fields({"field": field, "message": message, "type": kind})
