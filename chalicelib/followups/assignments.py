"""The owner's emails: a follow-up assigned to a lead, and the reminder before its deadline.

Both are queued jobs (followups/jobs.py) whose email is a once-only step on the follow-up item
(storage/steps.py): `owner_mail_<version>` per assignment, `owner_reminder_<deadline>` per
deadline, so a redelivered job, or a timer fired twice, sends one email. Each job re-reads the
follow-up and sends nothing once the email no longer fits (another owner, closed, a new deadline).
Customer text is autoescaped in the HTML part and made inert in both (platform/rendering.py).
"""
from __future__ import annotations

import logging
from typing import Optional

from chalicelib.followups.jobs import NotifyOwner, RemindOwner
from chalicelib.followups.model import FollowUp
from chalicelib.followups.owners import address_of, lead_named, remind_at
from chalicelib.followups.repository import FollowUpRepository, followup_key
from chalicelib.platform import clock, jobs, staff_mail
from chalicelib.platform.rendering import render
from chalicelib.platform.settings import get_settings
from chalicelib.storage.steps import run_once
from chalicelib.surveys import scoring

log = logging.getLogger(__name__)


def notify_if_assigned(before: Optional[FollowUp], after: FollowUp, by: str) -> None:
    """Queue the assignment email when a change gave the follow-up a new owner other than the one
    acting (a lead claiming for themselves needs no email)."""
    if after.owner and after.owner != (before.owner if before else None) and after.owner != by:
        jobs.enqueue(NotifyOwner(followup_id=after.followup_id, owner=after.owner, version=after.version))


def handle_notify_owner(job: NotifyOwner) -> str:
    followup = FollowUpRepository().get(job.followup_id)
    if followup is None:
        return "unknown follow-up"
    if followup.owner != job.owner:
        return "owner changed meanwhile"
    address = address_of(job.owner)
    if address is None:
        return "owner has no address"
    by = next((e.by for e in reversed(followup.history) if e.owner == job.owner), "closeloop")
    sent = run_once(followup_key(followup.followup_id), f"owner_mail_{job.version}",
                    lambda: _send(followup, address, reminder=False, by=by))
    return "sent" if sent else "already sent"


def handle_remind_owner(job: RemindOwner) -> str:
    followup = FollowUpRepository().get(job.followup_id)
    if followup is None:
        return "unknown follow-up"
    if int(followup.due_at.timestamp() * 1000) != job.due_ms or remind_at(followup) is None:
        return "no longer due"  # closed, escalated or given a new deadline (which has its own timer)
    if clock.now() >= followup.due_at:
        return "past the deadline"  # the escalation speaks now
    address = address_of(followup.owner)
    if address is None:
        return "owner has no address"
    sent = run_once(followup_key(followup.followup_id), f"owner_reminder_{job.due_ms}",
                    lambda: _send(followup, address, reminder=True))
    return "sent" if sent else "already sent"


def _send(followup: FollowUp, address: str, reminder: bool, by: str = "closeloop") -> bool:
    settings = get_settings()
    lead = lead_named(address)
    low, high = scoring.scale(followup.kind)[0], scoring.scale(followup.kind)[-1]
    base = (settings.public_url or followup.base_url or "").rstrip("/")
    values = dict(f=followup, lead_name=lead.name if lead else address, by=by, reminder=reminder,
                  kind=followup.kind.value.upper(), scale=f"{low}-{high}", due=clock.iso(followup.due_at),
                  link=f"{base}/dashboard/followups/{followup.followup_id}")
    what = "Reminder: a follow-up is due soon" if reminder else "A follow-up is yours"
    # No customer text in the subject: a header is no place for text someone else wrote.
    staff_mail.send(address, f"{what}: {values['kind']} {followup.score} ({followup.followup_id})",
                    render("email/owner_followup.txt", **values), render("email/owner_followup.html", **values))
    log.info("follow-up %s: %s email sent to its owner", followup.followup_id, "reminder" if reminder else "assignment")
    return True
