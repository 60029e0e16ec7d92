"""The suppression ledger: who must not be surveyed, and why. Checked before every send.

Opt-outs, bounces and complaints are recorded per contact: the customer id (suppresses every
address of the customer), an email address, or a phone number. Recording is idempotent: a
notification delivered several times suppresses once, and the first reason and time stay.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from chalicelib import clock
from chalicelib.models import Channel, ContactKind, Customer, Suppression, SuppressionReason
from chalicelib.storage import Store, get_store


def normalize(kind: ContactKind, value: str) -> str:
    """One spelling per contact: addresses compare case-insensitively."""
    return value.strip().lower() if ContactKind(kind) is ContactKind.EMAIL else value.strip()


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
    found = (store or get_store()).find_suppressions(contacts_of(customer))
    order = {kind: index for index, (kind, _) in enumerate(contacts_of(customer))}
    return min(found, key=lambda entry: order[entry.kind]) if found else None


def lift(kind: ContactKind, value: str, store: Optional[Store] = None) -> Optional[Suppression]:
    return (store or get_store()).remove_suppression(kind, normalize(kind, value))


def get(kind: ContactKind, value: str, store: Optional[Store] = None) -> Optional[Suppression]:
    found = (store or get_store()).find_suppressions([(ContactKind(kind), normalize(kind, value))])
    return found[0] if found else None


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


def stats(store: Optional[Store] = None) -> dict:
    """How many surveys were suppressed, by reason, since the stage began."""
    counts = (store or get_store()).counts([_counter(reason) for reason in COUNTED_REASONS])
    by_reason = {reason: counts[_counter(reason)] for reason in COUNTED_REASONS}
    return {"suppressed": sum(by_reason.values()), "by_reason": by_reason}
