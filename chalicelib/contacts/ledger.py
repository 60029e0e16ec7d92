"""The suppression ledger: who must not be surveyed, and why. Checked before every send.

Opt-outs, bounces and complaints are recorded per contact: the customer id (suppresses every
address of the customer), an email address, or a phone number. Recording is idempotent: a
notification delivered several times suppresses once, and the first reason and time stay.

An erased customer's entries (contacts/erasure.py) stay, since an opt-out must outlive the
data, but only as a hash of the contact (`sha256:<hex>`, or `hmac-sha256:<hex>` keyed with the
suppression hash key, chalicelib/platform/secrets.py): every check looks up the clear and the hashed forms.

This is the ledger half of send eligibility; surveys/intake.py (at acceptance: the ledger, an open
follow-up, the throttle window) and delivery/sending.py (before every send) apply it.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Optional

from chalicelib.contacts.model import Suppression, SuppressionReason
from chalicelib.contacts.repository import SuppressionRepository
from chalicelib.platform import clock
from chalicelib.platform import secrets as stage_secrets
from chalicelib.platform import telemetry
from chalicelib.storage.named_counters import NamedCounters
from chalicelib.surveys import Channel, Contact, ContactKind, Customer


def normalize(kind: ContactKind, value: str) -> str:
    """One spelling per contact: addresses compare case-insensitively."""
    return value.strip().lower() if ContactKind(kind) is ContactKind.EMAIL else value.strip()


def hashed_value(kind: ContactKind, value: str) -> str:
    """The ledger value an erasure leaves for a contact. Plain SHA-256 by default: it keeps the
    value out of sight, but a dictionary of likely addresses reverses it; with a key (HMAC) it
    cannot be reversed without the key."""
    return _hashed(normalize(kind, value), stage_secrets.secret("suppression_hash_key"))


def _hashed(normalized: str, key: str) -> str:
    if key:
        return "hmac-sha256:" + hmac.new(key.encode(), normalized.encode(), hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(normalized.encode()).hexdigest()


def is_hashed(value: str) -> bool:
    return value.startswith(("sha256:", "hmac-sha256:"))


def _forms(kind: ContactKind, value: str) -> list[Contact]:
    """Every spelling a contact may have in the ledger: clear, hashed with each accepted key (the
    current one, and the previous one while a rotation's window lasts), and plain-hashed (an entry
    hashed before a key was set)."""
    value = normalize(kind, value)
    keys = stage_secrets.accepted("suppression_hash_key") + [""]
    return list(dict.fromkeys([(kind, value)] + [(kind, _hashed(value, key)) for key in keys]))


def suppress(kind: ContactKind, value: str, reason: SuppressionReason, source: str,
             at: Optional[datetime] = None) -> bool:
    """Suppress a contact; True if this is new, False if it already was (nothing changes)."""
    entry = Suppression(kind=kind, value=normalize(kind, value), reason=reason, source=source, at=at or clock.now())
    return SuppressionRepository().add(entry)


def suppression_for(customer: Customer) -> Optional[Suppression]:
    """The ledger entry that stops surveying this customer, if any (one request)."""
    contacts = [form for kind, value in customer.contacts() for form in _forms(kind, value)]
    found = SuppressionRepository().find(contacts)
    order = {kind: index for index, (kind, _) in enumerate(customer.contacts())}
    return min(found, key=lambda entry: order[entry.kind]) if found else None


def lift_suppression(kind: ContactKind, value: str) -> Optional[Suppression]:
    """Lift every form of the contact's entry (clear or hashed); returns one lifted, or None."""
    ledger = SuppressionRepository()
    lifted = [ledger.remove(*form) for form in _forms(ContactKind(kind), value)]
    return next((entry for entry in lifted if entry is not None), None)


def get_suppression(kind: ContactKind, value: str) -> Optional[Suppression]:
    """The contact's entry, clear or hashed (a hashed one shows only its hash)."""
    found = SuppressionRepository().find(_forms(ContactKind(kind), value))
    return min(found, key=lambda entry: is_hashed(entry.value)) if found else None  # the clear one first


def hash_entry(kind: ContactKind, value: str) -> bool:
    """Keep a contact's entry only as a hash (erasure); True if a clear entry was replaced."""
    return SuppressionRepository().replace_by_hash(kind, normalize(kind, value), hashed_value(kind, value))


def suppression_for_survey(customer: Customer, channel: Channel) -> Optional[Suppression]:
    """The ledger entry that stops a survey by `channel`: the customer id, or the address that
    channel uses (a STOP by SMS does not stop email surveys, an email bounce does not stop SMS)."""
    used = customer.model_copy(update={"phone": None} if Channel(channel) is Channel.EMAIL else {"email": None})
    return suppression_for(used)


def describe_suppression(entry: Suppression) -> str:
    """The reason a suppressed survey answers with: what and which contact, nothing more."""
    return f"{entry.reason.value}: {entry.kind.value} {entry.value}"


# --- the ledger API (admins) ---------------------------------------------------------------

def suppression_view(entry: Suppression) -> dict:
    return entry.model_dump(mode="json")


def suppressions_view(kind: Optional[ContactKind] = None) -> dict:
    """GET /v1/suppressions: the whole ledger, or one kind of contact, ordered by kind and value."""
    return {"suppressions": [suppression_view(entry) for entry in SuppressionRepository().list(kind)]}


def add_manual(kind: ContactKind, value: str, by: str) -> tuple[Suppression, bool]:
    """An admin suppresses a contact: (the entry, True) if new; (the earlier entry, False) if it was."""
    created = suppress(kind, value, SuppressionReason.MANUAL, source=by)
    entry = get_suppression(kind, value)
    if entry is None:  # lifted again in between: record it once more
        suppress(kind, value, SuppressionReason.MANUAL, source=by)
        entry, created = get_suppression(kind, value), True
    return entry, created


# --- counting suppressed surveys -------------------------------------------------------------

OPEN_FOLLOWUP = "open_followup"     # the customer has a recovery follow-up that is not closed
THROTTLED = "throttled"             # surveyed within the throttle window
COUNTED_REASONS = [reason.value for reason in SuppressionReason] + [OPEN_FOLLOWUP, THROTTLED]


def _counter(reason: str) -> str:
    return f"suppressed:{reason}"


def count_suppressed(reason: str) -> None:
    """One more survey suppressed for `reason` (a SuppressionReason value, OPEN_FOLLOWUP or THROTTLED)."""
    NamedCounters().add(_counter(reason))
    telemetry.count("SurveysSuppressed", reason=reason)


def suppression_stats() -> dict:
    """How many surveys were suppressed, by reason, since the stage began."""
    counts = NamedCounters().values([_counter(reason) for reason in COUNTED_REASONS])
    by_reason = {reason: counts[_counter(reason)] for reason in COUNTED_REASONS}
    return {"suppressed": sum(by_reason.values()), "by_reason": by_reason}
