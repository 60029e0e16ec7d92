"""The suppression ledger: who must not be surveyed, and why. Checked before every send.

Opt-outs, bounces and complaints are recorded per contact: the customer id (suppresses every
address of the customer), an email address, or a phone number. Recording is idempotent: a
notification delivered several times suppresses once, and the first reason and time stay.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from chalicelib import clock
from chalicelib.models import ContactKind, Customer, Suppression, SuppressionReason
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
