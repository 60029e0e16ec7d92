"""The suppression ledger: who must not be surveyed, and why. Checked before every send.

Opt-outs, bounces and complaints are recorded per contact: the customer id (suppresses every
address of the customer), an email address, or a phone number. Recording is idempotent: a
notification delivered several times suppresses once, and the first reason and time stay.

An erased customer's entries (chalicelib/erasure.py) stay, since an opt-out must outlive the
data, but only as a hash of the contact (`sha256:<hex>`, or `hmac-sha256:<hex>` keyed with the
suppression hash key, chalicelib/secrets.py): every check looks up the clear and the hashed forms.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Optional

from chalicelib import clock, telemetry
from chalicelib import secrets as stage_secrets
from chalicelib.models import Channel, ContactKind, Customer, Suppression, SuppressionReason
from chalicelib.storage import Store, get_store


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


def _forms(kind: ContactKind, value: str) -> list[tuple[ContactKind, str]]:
    """Every spelling a contact may have in the ledger: clear, hashed with each accepted key (the
    current one, and the previous one while a rotation's window lasts), and plain-hashed (an entry
    hashed before a key was set)."""
    value = normalize(kind, value)
    keys = stage_secrets.accepted("suppression_hash_key") + [""]
    return list(dict.fromkeys([(kind, value)] + [(kind, _hashed(value, key)) for key in keys]))


def contacts_of(customer: Customer) -> list[tuple[ContactKind, str]]:
    contacts = [(ContactKind.CUSTOMER, customer.id)]
    if customer.email:
        contacts.append((ContactKind.EMAIL, normalize(ContactKind.EMAIL, customer.email)))
    if customer.phone:
        contacts.append((ContactKind.PHONE, customer.phone))
    return contacts


def suppress(kind: ContactKind, value: str, reason: SuppressionReason, source: str,
             store: Optional[Store] = None, at: Optional[datetime] = None) -> bool:
    """Suppress a contact; True if this is new, False if it already was (nothing changes)."""
    entry = Suppression(kind=kind, value=normalize(kind, value), reason=reason, source=source, at=at or clock.now())
    return (store or get_store()).add_suppression(entry)


def suppression_for(customer: Customer, store: Optional[Store] = None) -> Optional[Suppression]:
    """The ledger entry that stops surveying this customer, if any (one request)."""
    contacts = [form for kind, value in contacts_of(customer) for form in _forms(kind, value)]
    found = (store or get_store()).find_suppressions(contacts)
    order = {kind: index for index, (kind, _) in enumerate(contacts_of(customer))}
    return min(found, key=lambda entry: order[entry.kind]) if found else None


def lift(kind: ContactKind, value: str, store: Optional[Store] = None) -> Optional[Suppression]:
    """Lift every form of the contact's entry (clear or hashed); returns one lifted, or None."""
    store = store or get_store()
    lifted = [store.remove_suppression(*form) for form in _forms(ContactKind(kind), value)]
    return next((entry for entry in lifted if entry is not None), None)


def get(kind: ContactKind, value: str, store: Optional[Store] = None) -> Optional[Suppression]:
    """The contact's entry, clear or hashed (a hashed one shows only its hash)."""
    found = (store or get_store()).find_suppressions(_forms(ContactKind(kind), value))
    return min(found, key=lambda entry: is_hashed(entry.value)) if found else None  # the clear one first


def hash_entry(kind: ContactKind, value: str, store: Optional[Store] = None) -> bool:
    """Keep a contact's entry only as a hash (erasure); True if a clear entry was replaced."""
    return (store or get_store()).hash_suppression(kind, normalize(kind, value), hashed_value(kind, value))


def suppression_for_survey(customer: Customer, channel: Channel, store: Optional[Store] = None) -> Optional[Suppression]:
    """The ledger entry that stops a survey by `channel`: the customer id, or the address that
    channel uses (a STOP by SMS does not stop email surveys, an email bounce does not stop SMS)."""
    used = customer.model_copy(update={"phone": None} if Channel(channel) is Channel.EMAIL else {"email": None})
    return suppression_for(used, store)


def describe(entry: Suppression) -> str:
    """The reason a suppressed survey answers with: what and which contact, nothing more."""
    return f"{entry.reason.value}: {entry.kind.value} {entry.value}"


# --- the ledger API (admins) ---------------------------------------------------------------

def view(entry: Suppression) -> dict:
    return entry.model_dump(mode="json")


def list_view(kind: Optional[ContactKind] = None, store: Optional[Store] = None) -> dict:
    """GET /v1/suppressions: the whole ledger, or one kind of contact, ordered by kind and value."""
    return {"suppressions": [view(entry) for entry in (store or get_store()).list_suppressions(kind)]}


def add_manual(kind: ContactKind, value: str, by: str, store: Optional[Store] = None) -> tuple[Suppression, bool]:
    """An admin suppresses a contact: (the entry, True) if new; (the earlier entry, False) if it was."""
    store = store or get_store()
    created = suppress(kind, value, SuppressionReason.MANUAL, source=by, store=store)
    entry = get(kind, value, store)
    if entry is None:  # lifted again in between: record it once more
        suppress(kind, value, SuppressionReason.MANUAL, source=by, store=store)
        entry, created = get(kind, value, store), True
    return entry, created


# --- counting suppressed surveys -------------------------------------------------------------

OPEN_FOLLOWUP = "open_followup"     # the customer has a recovery follow-up that is not closed
THROTTLED = "throttled"             # surveyed within the throttle window
COUNTED_REASONS = [reason.value for reason in SuppressionReason] + [OPEN_FOLLOWUP, THROTTLED]


def _counter(reason: str) -> str:
    return f"suppressed:{reason}"


def count(reason: str, store: Optional[Store] = None) -> None:
    """One more survey suppressed for `reason` (a SuppressionReason value, OPEN_FOLLOWUP or THROTTLED)."""
    (store or get_store()).count(_counter(reason))
    telemetry.count("SurveysSuppressed", reason=reason)


def stats(store: Optional[Store] = None) -> dict:
    """How many surveys were suppressed, by reason, since the stage began."""
    counts = (store or get_store()).counts([_counter(reason) for reason in COUNTED_REASONS])
    by_reason = {reason: counts[_counter(reason)] for reason in COUNTED_REASONS}
    return {"suppressed": sum(by_reason.values()), "by_reason": by_reason}
