"""A lead's weekly digest: when it is due, and the preferences that say so.

Each lead chooses a weekday, an hour and a time zone (default: Monday, 8 o'clock, the stage's
reporting time zone), or switches the digest off (`python -m ops leads digest`). The digest is due
while the lead's local time is within that hour of that weekday; it is named by the ISO week of that
local day (`2026-W49`), and sent once per lead and week (insight/digest.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo

from chalicelib.leads.model import WEEKDAYS, DigestForm, DigestPreferences, Lead
from chalicelib.leads.repository import LeadRepository
from chalicelib.platform.settings import get_settings
from chalicelib.platform.validation import validate


def digest_zone(lead: Lead) -> ZoneInfo:
    return ZoneInfo(lead.digest_timezone or get_settings().reporting_timezone)


def iso_week(day) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_week_due(lead: Lead, now: datetime) -> Optional[str]:
    """The ISO week whose digest is due for `lead` at `now`, or None (switched off, or not their hour)."""
    if not lead.digest_enabled:
        return None
    local = now.astimezone(digest_zone(lead))
    if WEEKDAYS[local.weekday()] != lead.digest_weekday or local.hour != lead.digest_hour:
        return None
    return iso_week(local.date())


def set_digest(email: str, **changes) -> Optional[Lead]:
    """Change a lead's digest preferences (enabled, weekday, hour, timezone; those given, not None).
    None when the address is not on the list; pydantic's ValidationError names a bad field."""
    given = DigestPreferences.model_validate(
        {f"digest_{name}": value for name, value in changes.items() if value is not None})
    fields = given.model_dump(exclude_none=True)
    repository = LeadRepository()
    if not fields:
        return repository.get_lead(email.strip())
    return repository.set_digest(email.strip(), fields)


def change_digest_from_form(email: str, form: dict) -> Optional[Lead]:
    """The signed-in lead's own change (the dashboard's settings form); a 400 names a bad field."""
    fields = {k: v for k, v in form.items() if not (k == "timezone" and not str(v).strip())}
    if fields.get("enabled") in ("on", "yes"):
        fields["enabled"] = True
    chosen = validate(DigestForm, fields)
    return set_digest(email, **chosen.model_dump(exclude_none=True))
