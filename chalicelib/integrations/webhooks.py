"""Helpdesk webhooks: Zendesk, Intercom and Freshdesk tell us a ticket was solved or reopened;
a solved one surveys its customer, a reopened one cancels the survey not sent yet.

Order of checks (nothing is parsed before the signature holds, nothing is written before every
check passed): not configured 404 -> signature, timestamp 401 -> JSON, fields 400 -> replay 401
-> side effect. A delivery's once-only marker (pk=HOOK#<product>#<sha256 of its key>, sk=HOOK,
with an `expires_ttl` epoch attribute for DynamoDB TTL) is written just before the side effect
and removed again if the side effect fails, so the helpdesk's retry is not taken for a replay.
The route is chalicelib/api/webhooks.py; each product's adapter is its own module (base.py says
what an adapter does).
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Callable

from chalicelib.integrations.base import Event, Mismatch, NotConfigured, Refused, Unauthorized
from chalicelib.integrations.freshdesk import Freshdesk
from chalicelib.integrations.intercom import Intercom
from chalicelib.integrations.zendesk import Zendesk
from chalicelib.platform import clock
from chalicelib.platform import secrets as stage_secrets
from chalicelib.platform.errors import InvalidInput
from chalicelib.platform.validation import read_json
from chalicelib.storage.repository import Repository
from chalicelib.storage.table import TTL_ATTRIBUTE, ItemKey
from chalicelib.surveys import CannotCancel, SurveyStatus, accept_interaction, cancel_interaction

log = logging.getLogger(__name__)

ADAPTERS = {adapter.name: adapter for adapter in (Zendesk, Intercom, Freshdesk)}
# A marker must outlive every timestamp still accepted; Freshdesk has none, so its markers stay longer.
MARKER_TTL = {"zendesk": timedelta(days=1), "intercom": timedelta(days=1), "freshdesk": timedelta(days=30)}
MAX_BODY_BYTES = 1024 * 1024  # Intercom sends the whole conversation

Answer = tuple[int, dict]  # the status and JSON body a webhook is answered with


class Deliveries(Repository):
    """The replay markers of helpdesk deliveries (see the module docstring)."""

    def take(self, product: str, delivery_key: str, now: datetime) -> bool:
        """Mark the delivery taken; False when it was taken before (a replay)."""
        return self.table.create({**self._key(product, delivery_key)._asdict(), "at": clock.iso(now),
                                  TTL_ATTRIBUTE: int((now + MARKER_TTL[product]).timestamp())})

    def give_back(self, product: str, delivery_key: str) -> None:
        self.table.delete(self._key(product, delivery_key))

    @staticmethod
    def _key(product: str, delivery_key: str) -> ItemKey:
        return ItemKey(f"HOOK#{product}#{hashlib.sha256(delivery_key.encode()).hexdigest()}", "HOOK")


def receive(product: str, headers: dict, raw: bytes, base_url: str) -> Answer:
    """One delivery: 200/202 with what happened; NotConfigured (404), Unauthorized (401) or
    InvalidInput (400, naming the field) otherwise."""
    adapter = ADAPTERS[product]
    accepted = stage_secrets.accepted(adapter.secret_setting)
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    now = clock.now()
    if not accepted:
        raise NotConfigured(product)
    try:
        if len(raw) > MAX_BODY_BYTES:
            raise Refused("body too large")  # never signed by a real helpdesk
        _verify(adapter, headers, raw, accepted, now)
        payload = _json_object(raw)
        adapter.check_fresh(payload, now)
        event = adapter.to_event(payload)
        if event.kind == "ignored":
            return 200, {"status": "ignored", "reason": event.detail}
        return _once(adapter, adapter.delivery_key(headers, payload), now, lambda: _apply(adapter, event, base_url))
    except Refused as refusal:
        log.warning("%s webhook refused: %s", product, refusal)
        raise Unauthorized() from None


def _json_object(raw: bytes) -> dict:
    payload = read_json(raw)  # the edge's one reader: depth, duplicate keys, numbers, UTF-8
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be a JSON object",
                           [{"field": "body", "message": "must be a JSON object", "type": "dict_type"}])
    return payload


def _verify(adapter, headers: dict, raw: bytes, accepted: list[str], now: datetime) -> None:
    """Verified if the signature holds with any accepted secret: during a rotation's window the
    helpdesk may sign with the old or the new one. A signature that matches none makes a warm
    Lambda re-read its secrets once (platform/secrets.py limits how often), so a new value the
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


def _once(adapter, delivery_key: str, now: datetime, action: Callable[[], Answer]) -> Answer:
    deliveries = Deliveries()
    if not deliveries.take(adapter.name, delivery_key, now):
        raise Refused("replayed delivery")
    try:
        return action()
    except BaseException:
        deliveries.give_back(adapter.name, delivery_key)  # the helpdesk's retry must not look like a replay
        raise


def _apply(adapter, event: Event, base_url: str) -> Answer:
    if event.kind == "solved":
        accepted = accept_interaction(event.interaction, base_url)
        return 202 if accepted.created else 200, {"interaction_id": event.interaction_id, **accepted.view()}
    try:
        survey = cancel_interaction(event.interaction_id, by=adapter.name)
    except CannotCancel as refusal:
        # Too late (sent, failed, or being sent): a 2xx, so the helpdesk does not retry in vain.
        return 200, {"interaction_id": event.interaction_id, "survey_id": refusal.survey.survey_id,
                     "status": refusal.survey.status.value, "cancelled": False, "reason": str(refusal)}
    if survey is None:
        return 200, {"interaction_id": event.interaction_id, "status": "not_found", "cancelled": False,
                     "reason": "no survey for this interaction"}
    return 200, {"interaction_id": event.interaction_id, "survey_id": survey.survey_id,
                 "status": survey.status.value, "cancelled": survey.status is SurveyStatus.SUPPRESSED,
                 "reason": survey.suppressed_reason}
