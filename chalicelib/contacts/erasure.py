"""Erasure of one customer's personal data (DELETE /v1/customers/{id}), with a receipt.

What goes: on every survey of the customer (found through the CUSTOMER#<id>/SURVEY#<id> index
items written with each survey) the customer's name, addresses, locale, time zone, the
interaction's properties, the comment and the token hashes (its links stop working); its page
views (times, user agents); on its follow-up the customer's name, the comment and the notes people
wrote; the throttle stamps and SMS records of the customer's id, addresses and number. What stays:
the survey's kind, channel, score, agent, team and times, so reports and their counters do not
move; the follow-up's status, owner and times; and the suppression ledger's entries, since an
opt-out must outlive the data, but only as a hash of the contact (contacts/ledger.py).

Order matters for a retry after a crash: unsent surveys are stopped first, then the contacts read
from the surveys are hashed and forgotten, and only then are the surveys stripped of them. Every
step is idempotent: a repeat finds nothing left and answers a receipt of zeros.
"""
from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime
from typing import Optional

from chalicelib.contacts.ledger import hash_entry, hashed_value
from chalicelib.contacts.model import ErasureReceipt
from chalicelib.contacts.repository import ErasureReceipts, SmsRecords
from chalicelib.events import customer_erased
from chalicelib.followups import FollowUp, FollowUpRepository, followup_id_for
from chalicelib.platform import clock
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import ContactKind, Survey, SurveyRepository, SurveyStatus

log = logging.getLogger(__name__)

ERASED = "erased"  # the suppressed_reason of a survey stopped before it was sent
RECEIPT_PREFIX = "er_"
_RECEIPT_ID = re.compile(r"er_[0-9a-f]{16}")
# Notes closeloop writes itself (deadlines, re-surveys, escalations) quote nobody: they stay.
_MACHINE_AUTHORS = ("closeloop", "routing")
_CUSTOMER_FIELDS = ("email", "phone", "name", "locale", "timezone")


def erase_customer(customer_id: str) -> ErasureReceipt:
    """Erase the customer's personal data and store the receipt (never the id, only its hash)."""
    surveys, now = SurveyRepository(), clock.now()
    found = [s for s in (surveys.get(i, include_expired=True) for i in surveys.customer_survey_ids(customer_id))
             if s is not None]
    counts = dict(cancelled=sum(_stop_unsent(survey, now, surveys) for survey in found))
    contacts = {(ContactKind.CUSTOMER, customer_id)}
    for survey in found:
        contacts.update(survey.customer.contacts())
    counts["suppressions_hashed"] = sum(hash_entry(kind, value) for kind, value in contacts)
    counts["contact_records"] = _forget_contacts(contacts, {s.survey_id for s in found}, surveys)
    counts.update(surveys=0, comments=0, page_views=0, followups=0)
    for survey in found:
        old = surveys.erase(survey.survey_id, customer_id, now, _redacted_reasons(survey, contacts)) or {}
        counts["surveys"] += _held_personal_data(old)
        counts["comments"] += "comment" in old
        counts["page_views"] += surveys.delete_opens(survey.survey_id)
        counts["followups"] += _erase_followup(followup_id_for(survey.survey_id))
    receipt = ErasureReceipt(receipt_id=RECEIPT_PREFIX + secrets.token_hex(8), erased_at=now, **counts)
    ErasureReceipts().put(receipt, hashed_value(ContactKind.CUSTOMER, customer_id))
    customer_erased(customer_id, receipt.receipt_id, now)
    log.info("erasure %s: %s", receipt.receipt_id, receipt.model_dump(exclude={"receipt_id", "erased_at"}))
    return receipt


def is_receipt_id(text: str) -> bool:
    return _RECEIPT_ID.fullmatch(text) is not None


def find_receipt(receipt_id: str) -> Optional[tuple[ErasureReceipt, str]]:
    """(the receipt, the hash of its customer id), or None; a malformed id is never looked up."""
    return ErasureReceipts().get(receipt_id) if is_receipt_id(receipt_id) else None


def receipt_view(receipt: ErasureReceipt, customer_id: Optional[str] = None,
                 customer_hash: Optional[str] = None) -> dict:
    """The answer to DELETE /v1/customers/{id} (with the id the caller gave) or GET /v1/erasures/{id}
    (with the stored hash instead)."""
    named = {"customer_id": customer_id} if customer_id is not None else {"customer_hash": customer_hash}
    return {**named, **receipt.model_dump(mode="json")}


def _stop_unsent(survey: Survey, at: datetime, surveys: SurveyRepository) -> bool:
    """End a survey that was not sent yet, so nothing goes to the customer after the erasure. One
    being sent this very moment (a live lease) cannot be stopped; its send job, if it runs again,
    finds the survey erased and suppresses it (delivery/sending.py)."""
    if survey.status is not SurveyStatus.SCHEDULED:
        return False
    try:
        surveys.mark_suppressed(survey.survey_id, ERASED, at)
    except ConditionFailed:
        return False
    return True


def _redacted_reasons(survey: Survey, contacts: set) -> dict[str, str]:
    """The survey's reasons with the customer's addresses taken out ("unsubscribed: email ada@..."
    and "surveyed within ...: phone +1..." name one); only those that named one."""
    addresses = [value for kind, value in contacts if kind is not ContactKind.CUSTOMER]
    redacted = {}
    for name in ("suppressed_reason", "failure_reason"):
        text = getattr(survey, name) or ""
        cleaned = text
        for address in addresses:  # a provider's error may spell an address in another case
            cleaned = re.sub(re.escape(address), "[erased]", cleaned, flags=re.IGNORECASE)
        if cleaned != text:
            redacted[name] = cleaned
    return redacted


def _held_personal_data(old: dict) -> bool:
    customer = old.get("customer") or {}
    return any(customer.get(name) for name in _CUSTOMER_FIELDS) or bool(old.get("properties")) \
        or "comment" in old or bool(old.get("secret_hashes"))


def _forget_contacts(contacts: set, survey_ids: set[str], surveys: SurveyRepository) -> int:
    """Delete the throttle stamps and SMS records of the customer's contacts; returns how many.
    A stamp or latest-SMS record that points at another customer's survey (a shared address) stays."""
    deleted = sum(surveys.forget_throttle(kind, value, survey_ids) for kind, value in contacts)
    records = SmsRecords()
    for kind, phone in contacts:
        if kind is ContactKind.PHONE:
            deleted += records.forget_latest(phone, survey_ids)
            deleted += records.forget_no_survey(phone)
    return deleted


def _erase_followup(followup_id: str) -> bool:
    """Strip a follow-up of the customer's name, the comment and the notes people wrote (they may
    quote the customer); status, owner and times stay. True if there was anything to strip."""
    followups = FollowUpRepository()
    for _ in range(3):
        current = followups.get(followup_id, include_expired=True)
        if current is None:
            return False
        erased = _without_personal_data(current)
        if erased is None:
            return False
        try:
            followups.save(erased, current.version)
            return True
        except ConditionFailed:
            continue  # a lead changed it meanwhile: strip the new version
    raise ConditionFailed(f"follow-up {followup_id} kept changing during the erasure")


def _without_personal_data(followup: FollowUp) -> Optional[FollowUp]:
    history = [event if event.note is None or event.by in _MACHINE_AUTHORS
               else event.model_copy(update={"note": None}) for event in followup.history]
    if followup.customer_name is None and followup.comment is None and history == followup.history:
        return None
    return followup.model_copy(update={"customer_name": None, "comment": None, "history": history,
                                       "version": followup.version + 1})
