"""The allowed list of the dashboard's sign-in: the support leads who may sign in, by email.

Managed by an operator (`python -m ops leads add|list|remove`). Taking a lead off the list ends
their sessions at their next request (leads/sessions.py checks the lead on every request).
"""
from __future__ import annotations

import re
from typing import Optional

from chalicelib.leads.model import Lead
from chalicelib.leads.repository import LeadRepository
from chalicelib.platform import clock


def add_lead(email: str, name: Optional[str] = None, owner: Optional[str] = None) -> Lead:
    """Put a lead on the list (idempotent: an address already on it keeps its entry as it is).

    `name` defaults to the address's local part, and so does `owner` (who routing assigns
    follow-ups to: sam@example.com is "sam", as in CLOSELOOP_ROUTING). Raises pydantic's
    ValidationError for a malformed address, name or owner.
    """
    repository = LeadRepository()
    email = email.strip().lower()
    local_part = email.partition("@")[0]
    lead = Lead(email=email, name=name or local_part, owner=owner or _owner_name(local_part), added_at=clock.now())
    if repository.put_lead(lead):
        return lead
    return repository.get_lead(lead.email) or lead


def _owner_name(local_part: str) -> str:
    # An owner is an identifier (A-Za-z0-9._:-), as in the follow-ups API; "kim+cs" becomes "kim-cs".
    return re.sub(r"[^A-Za-z0-9._:-]", "-", local_part)[:128]


def get_lead(email: str) -> Optional[Lead]:
    return LeadRepository().get_lead(email.strip())


def remove_lead(email: str) -> Optional[Lead]:
    """Take a lead off the list; their sessions stop working. None when the address was not on it."""
    return LeadRepository().remove_lead(email.strip())


def list_leads() -> list[Lead]:
    """Every lead on the list, by address."""
    return LeadRepository().list_leads()
