"""Signed-in leads: the dashboard's sessions.

The session cookie holds 32 random bytes; the table keeps only their SHA-256 (as with API keys),
with the lead's address, a CSRF token for the session's forms and the expiry. A session works
while it is unexpired and its lead is still on the allowed list (checked on every request, so
removing a lead signs them out everywhere). The cookie itself and the guards of the dashboard's
pages and forms are the HTTP edge's (chalicelib/api/sessions.py).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from chalicelib.leads.model import Lead, SessionRecord
from chalicelib.leads.repository import LeadRepository
from chalicelib.platform import clock
from chalicelib.platform.settings import get_settings

# What secrets.token_urlsafe(32) makes: anything else is not worth a database read.
SESSION_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class LeadSession:
    email: str        # the lead (recorded as `by` in follow-up history)
    name: str         # display name
    owner: str        # the owner name follow-ups are assigned to by routing
    csrf_token: str
    expires_at: datetime


def hash_value(value: str) -> str:
    """How a session's cookie value (and a sign-in link's token) is stored: 32 random bytes need no
    password stretching, so SHA-256 is enough, as for API keys."""
    return hashlib.sha256(value.encode()).hexdigest()


def start_session(lead: Lead) -> tuple[str, LeadSession]:
    """A new session for `lead`; returns the cookie's value (shown only to the browser) and the session."""
    value, now = secrets.token_urlsafe(32), clock.now()
    record = SessionRecord(email=lead.email, csrf_token=secrets.token_urlsafe(32), created_at=now,
                           expires_at=now + timedelta(hours=get_settings().session_hours), lead_added_at=lead.added_at)
    LeadRepository().put_session(hash_value(value), record)
    return value, _session(lead, record)


def current_session(value: Optional[str]) -> Optional[LeadSession]:
    """The session of a cookie value; None when there is none, or it is forged, expired or its lead removed."""
    if value is None or not SESSION_VALUE.fullmatch(value):
        return None
    repository = LeadRepository()
    record = repository.get_session(hash_value(value))
    # DynamoDB deletes expired items only eventually: the expiry is checked here.
    if record is None or record.expires_at <= clock.now():
        return None
    lead = repository.get_lead(record.email)
    if lead is None or lead.added_at != record.lead_added_at:
        return None
    return _session(lead, record)


def end_session(value: Optional[str]) -> None:
    """Sign out: the session's item is deleted, so its cookie stops working even if a copy survives."""
    if value is not None:
        LeadRepository().delete_session(hash_value(value))


def _session(lead: Lead, record: SessionRecord) -> LeadSession:
    return LeadSession(email=lead.email, name=lead.name, owner=lead.owner, csrf_token=record.csrf_token,
                       expires_at=record.expires_at)
