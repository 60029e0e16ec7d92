"""Contacts and privacy on the table: the suppression ledger, erasure receipts, SMS records.

Items
- suppression: pk=SUPPRESSION              sk=<kind>#<value>   (the ledger: one partition, listable;
               an erased customer's entries as <kind>#sha256:<hex> or <kind>#hmac-sha256:<hex>, never expiring)
- erasure receipt: pk=ERASURE#<receipt_id>  sk=ERASURE  (counts and the hashed customer id; kept for good)
- latest SMS:  pk=PHONE#<e164>             sk=LATESTSMS        (the survey an SMS reply answers)
- SMS markers: pk=SMSIN#<inboundMessageId> sk=SMSIN (a reply handled once); SURVEY#<id>/SMSHELP,
               SURVEY#<id>/SMSCLOSED, PHONE#<e164>/SMSNOSURVEY (a help reply sent at most once)
The latest SMS and the markers expire a retention period after their time; the ledger and the
receipts never do.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional, Sequence

from chalicelib.contacts.model import ErasureReceipt, Suppression
from chalicelib.platform import clock
from chalicelib.storage.repository import Repository
from chalicelib.storage.table import TTL_ATTRIBUTE, ConditionFailed, ItemKey, expiry_of
from chalicelib.surveys import Contact, ContactKind, survey_key

# For items written before retention existed (contacts/retention.py): sort key -> the time it counts from.
RETENTION_CLOCKS = {"LATESTSMS": "sent_at", "SMSIN": "at", "SMSNOSURVEY": "at", "SMSHELP": "at", "SMSCLOSED": "at"}


def suppression_key(kind: ContactKind, value: str) -> ItemKey:
    """A ledger entry's item (its once-only steps, e.g. the SMS STOP confirmation, live on it)."""
    return ItemKey("SUPPRESSION", f"{ContactKind(kind).value}#{value}")


class SuppressionRepository(Repository):

    def add(self, entry: Suppression) -> bool:
        """Record a suppression; False if the contact was already suppressed (the first one stays)."""
        return self.table.create({**suppression_key(entry.kind, entry.value)._asdict(),
                                  **entry.model_dump(mode="json")})

    def find(self, contacts: Sequence[Contact]) -> list[Suppression]:
        """The ledger entries of these contacts, in one BatchGetItem."""
        return self._all(self.table.batch_get([suppression_key(kind, value) for kind, value in contacts]), Suppression)

    def remove(self, kind: ContactKind, value: str) -> Optional[Suppression]:
        """Lift a suppression; returns what was lifted, None if there was none."""
        old = self.table.delete(suppression_key(kind, value))
        return Suppression.model_validate(old) if old else None

    def list(self, kind: Optional[ContactKind] = None) -> list[Suppression]:
        return self._all(self.table.query_prefix("SUPPRESSION", f"{kind.value}#" if kind else ""), Suppression)

    def replace_by_hash(self, kind: ContactKind, value: str, hashed: str) -> bool:
        """Replace the clear ledger entry of a contact by the same entry (reason, source, time, step
        marks) under `hashed`; False if there was no clear entry. An existing hashed entry stays."""
        clear = suppression_key(kind, value)
        item = self.table.get(clear)
        if not item:
            return False
        try:
            self.table.transact([
                self.table.put_write({**item, **suppression_key(kind, hashed)._asdict(), "value": hashed},
                                     condition="attribute_not_exists(pk)"),
                self.table.delete_write(clear)])
        except ConditionFailed:
            self.table.delete(clear)  # hashed before: the first entry stays
        return True


class ErasureReceipts(Repository):

    def put(self, receipt: ErasureReceipt, customer_hash: str) -> None:
        """Keep the receipt for good (no `expires_ttl`): it holds counts and a hash, nothing personal."""
        self.table.put({"pk": f"ERASURE#{receipt.receipt_id}", "sk": "ERASURE", "customer_hash": customer_hash,
                        **receipt.model_dump(mode="json")})

    def get(self, receipt_id: str) -> Optional[tuple[ErasureReceipt, str]]:
        """(the receipt, the hash of its customer id), or None."""
        item = self.table.get(ItemKey(f"ERASURE#{receipt_id}", "ERASURE"))
        if not item:
            return None
        return (ErasureReceipt.model_validate({k: v for k, v in item.items() if k in ErasureReceipt.model_fields}),
                item["customer_hash"])


def _latest_sms_key(phone: str) -> ItemKey:
    return ItemKey(f"PHONE#{phone}", "LATESTSMS")


class SmsRecords(Repository):
    """Which survey a number was last texted, and the markers that make each SMS reply act once."""

    def note_latest(self, phone: str, survey_id: str, sent_at: datetime) -> None:
        """Remember the survey most recently texted to a number (an SMS reply answers it)."""
        try:
            self.table.put({**_latest_sms_key(phone)._asdict(), "survey_id": survey_id, "sent_at": clock.iso(sent_at),
                            TTL_ATTRIBUTE: expiry_of(sent_at)},
                           condition="attribute_not_exists(pk) OR sent_at <= :at", values={":at": clock.iso(sent_at)})
        except ConditionFailed:
            pass  # a later survey was texted meanwhile: it stays

    def latest(self, phone: str) -> Optional[str]:
        item = self.table.get(_latest_sms_key(phone))
        return item["survey_id"] if item else None

    def forget_latest(self, phone: str, survey_ids: set[str]) -> bool:
        """Delete the number's latest-SMS record if it points at one of `survey_ids` (erasure)."""
        return self.table.delete_if_in(_latest_sms_key(phone), "survey_id", survey_ids)

    # Markers: each names something done once; written before acting, False if it was done before.

    def mark_inbound(self, inbound_message_id: str, at: datetime) -> bool:
        # No phone on the marker: it only has to exist, and an erasure could not find it by number.
        return self._mark(ItemKey(f"SMSIN#{inbound_message_id}", "SMSIN"), at)

    def unmark_inbound(self, inbound_message_id: str) -> None:
        """Let SNS's retry of a reply whose handling failed act again."""
        self.table.delete(ItemKey(f"SMSIN#{inbound_message_id}", "SMSIN"))

    def mark_survey_reply(self, survey_id: str, reply: str, at: datetime) -> bool:
        """A once-per-survey reply ("SMSHELP", "SMSCLOSED")."""
        return self._mark(ItemKey(survey_key(survey_id).pk, reply), at)

    def mark_no_survey(self, phone: str, at: datetime) -> bool:
        """The once-per-number reply to a number with no open survey."""
        return self._mark(_no_survey_key(phone), at)

    def forget_no_survey(self, phone: str) -> bool:
        """Delete the number's no-survey marker (erasure); True if it existed."""
        return self.table.delete(_no_survey_key(phone)) is not None

    def _mark(self, item_key: ItemKey, at: datetime) -> bool:
        return self.table.create({**item_key._asdict(), "at": clock.iso(at), TTL_ATTRIBUTE: expiry_of(at)})


def _no_survey_key(phone: str) -> ItemKey:
    return ItemKey(f"PHONE#{phone}", "SMSNOSURVEY")
