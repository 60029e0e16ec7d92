"""Owners are people: a follow-up's owner is a lead, named by their email address.

The one place that says who may own a follow-up, by which name it is stored, and when its owner
is reminded of the deadline. A lead also has a short owner name (`ops leads add ... --owner sam`,
the names routing and the API took before owners were addresses): a short name is taken for its
lead's address on input, and follow-ups stored with a short name match both forms (no migration).
A stage with CLOSELOOP_OWNERS_ANY_ADDRESS=true takes any address or name as given.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Optional

from chalicelib.followups.model import CLOSED_STATUSES, FollowUp
from chalicelib.followups.routing import get_routing, routing_team
from chalicelib.leads import Lead, get_lead, list_leads
from chalicelib.platform.errors import bad_field
from chalicelib.platform.settings import get_settings

log = logging.getLogger(__name__)

# Without CLOSELOOP_OWNER_REMINDER_BEFORE_SECONDS: remind when this share of the team's SLA is gone.
REMINDER_SHARE = 0.75


def lead_named(name: str) -> Optional[Lead]:
    """The lead an owner names: by their address, or by their short owner name; None when no lead."""
    name = name.strip()
    if "@" in name:
        return get_lead(name.lower())
    return next((lead for lead in list_leads() if lead.owner == name), None)


def resolve_owner(name: str, field: str = "owner") -> str:
    """The owner to store for `name` as given to the API: its lead's address; 400 naming `field`
    when no lead has it, unless the stage takes any address."""
    lead = lead_named(name)
    if lead is not None:
        return lead.email
    if get_settings().owners_any_address:
        return name.strip().lower() if "@" in name else name.strip()
    raise bad_field(field, "no lead has this address or owner name (an operator adds leads: python -m ops leads add)")


def routed(name: str) -> str:
    """The owner routing's configured name stands for: its lead's address where one exists, else the
    name as configured (a detractor's follow-up is never refused for the configuration's sake)."""
    lead = lead_named(name)
    if lead is None:
        log.warning("CLOSELOOP_ROUTING names owner %r, who is no lead: assigned as written", name)
    return lead.email if lead else name


def names_of(name: str) -> list[str]:
    """Every form a follow-up of this owner may be stored under: the lead's address and short name."""
    lead = lead_named(name)
    return sorted({lead.email, lead.owner}) if lead else [name.strip()]


def address_of(owner: str) -> Optional[str]:
    """Where an owner's emails go: their lead's address, or the owner itself when it is an address."""
    lead = lead_named(owner)
    return lead.email if lead else (owner if "@" in owner else None)


def remind_at(followup: FollowUp) -> Optional[datetime]:
    """When the owner of an open, owned follow-up is reminded of its deadline (None: never)."""
    if not followup.owner or followup.status in CLOSED_STATUSES or followup.escalated_at is not None:
        return None
    before = get_settings().owner_reminder_before_seconds
    if before:
        return followup.due_at - timedelta(seconds=before)
    # The team's SLA, not the time since opening: a reopened follow-up gets a fresh deadline.
    return followup.due_at - get_routing().sla(routing_team(followup)) * (1 - REMINDER_SHARE)
