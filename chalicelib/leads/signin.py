"""Passwordless sign-in of support leads to the dashboard (pages: chalicelib/api/signin.py).

A lead on the allowed list (leads/allowed_list.py) enters their address and gets a one-time link by
email, valid LINK_MINUTES. Anyone else gets the very same answer and no email, so the page tells
nobody who is a lead: every well-formed address costs the page the same work (two rate counts and
one queued job), and the job (SendSignInLink) looks the lead up and sends the email, once per
request. Opening the link only shows a button: mail scanners fetch every link of a message, and a
fetch must not spend it. The button's POST spends the link (one conditional write: of concurrent
clicks one wins) and starts the session (leads/sessions.py).

The limits (docs/security-and-privacy.md#leads-sign-in): a tight one per client (its source IP),
so one place cannot use up an address's links, and a higher one per address, so many places
together cannot mail-bomb a lead. A request over either is told so, with when to try again, in
the same words for every address: nobody's request is dropped while the page says "check your email".

The link's token is the only secret in a URL; the table keeps its SHA-256, and it is never logged.
The pages are English only: leads are staff, not customers.
"""
from __future__ import annotations

import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional
from urllib.parse import urlencode

from chalicelib.leads import allowed_list
from chalicelib.leads.jobs import SendSignInLink
from chalicelib.leads.model import Lead, SignInLink
from chalicelib.leads.repository import LeadRepository, signin_request_key
from chalicelib.leads.sessions import hash_value
from chalicelib.platform import clock, jobs, staff_mail
from chalicelib.platform.rendering import render
from chalicelib.platform.settings import get_settings
from chalicelib.storage.steps import run_once

log = logging.getLogger(__name__)

DASHBOARD = "/dashboard"  # where a lead lands after signing in, unless the link names another page
LINK_MINUTES = 15
# Links asked for per LINK_MINUTES (a sliding window): by one client, and to one address.
LINKS_PER_CLIENT = 5
LINKS_PER_ADDRESS = 10
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)

SPENT = "This sign-in link has expired or was already used. Enter your email to get a new one."


@dataclass(frozen=True)
class Refused:
    """A link request over a limit: `by` "client" or "address", and the seconds until one may be asked."""
    by: str
    retry_after: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


# --- the links ----------------------------------------------------------------------------------

def request_link(email: str, client: str, request_base_url: str, next_path: str = DASHBOARD) -> Optional[Refused]:
    """Ask for a sign-in link to `email` from `client` (its source IP); None when the job is queued.

    The same reads and writes whoever `email` is: the lead lookup is the job's, off the page's path.
    The link points at the stage's public URL when one is set, never at a Host a proxy passed on."""
    repository, now, window = LeadRepository(), clock.now(), timedelta(minutes=LINK_MINUTES)
    email = email.strip().lower()
    for by, count, subject, limit in (("client", repository.count_client_request, client, LINKS_PER_CLIENT),
                                      ("address", repository.count_address_request, email, LINKS_PER_ADDRESS)):
        free_at = count(subject, now, window, limit)
        if free_at is not None:
            log.warning("sign-in link refused: over %d per %s in %d minutes", limit, by, LINK_MINUTES)
            return Refused(by, math.ceil((free_at - now).total_seconds()))
    base_url = (get_settings().public_url or request_base_url).rstrip("/")
    jobs.enqueue(SendSignInLink(request_id=secrets.token_urlsafe(16), email=email, base_url=base_url,
                                requested_at=now, next=None if next_path == DASHBOARD else next_path))
    return None


def handle_signin_link(job: SendSignInLink) -> str:
    """The queued job of a link request: email the link if the address is a lead's, once per request
    (a once-only step: a duplicate delivery sends nothing). An SES error fails the job, and the
    queue delivers it again; one still unsent after LINK_MINUTES is dropped (the lead has asked
    again or given up). Returns what happened (for logs and tests)."""
    lead = allowed_list.get_lead(job.email)
    if lead is None:
        log.info("sign-in link requested for an address not on the allowed list: none sent")
        return "not a lead"
    window = timedelta(minutes=LINK_MINUTES)
    if clock.now() >= job.requested_at + window:
        log.warning("a sign-in link still unsent %d minutes after it was asked for: dropped", LINK_MINUTES)
        return "too late"
    LeadRepository().put_request(job.request_id, job.requested_at + 2 * window)
    sent = run_once(signin_request_key(job.request_id), "email", lambda: _send(lead, job), lease_seconds=60)
    return "sent" if sent else "already sent"


def _send(lead: Lead, job: SendSignInLink) -> bool:
    # A fresh token each attempt: only its hash is kept, so a retry cannot resend an earlier one.
    token, now = secrets.token_urlsafe(32), clock.now()
    LeadRepository().put_link(hash_value(token), SignInLink(email=lead.email, created_at=now,
                                                            expires_at=now + timedelta(minutes=LINK_MINUTES)))
    url = f"{job.base_url}/signin/{token}"
    if job.next:
        url += "?" + urlencode({"next": job.next})
    _email_link(lead, url)
    return True


def link_lead(token: str) -> Optional[str]:
    """The address a usable (unused, unexpired) link is for, without spending it; None otherwise."""
    if not _TOKEN.fullmatch(token):
        return None
    link = LeadRepository().get_link(hash_value(token))
    if link is None or link.used_at is not None or link.expires_at <= clock.now():
        return None
    return link.email


def spend_link(token: str) -> Optional[Lead]:
    """Spend the link (once, ever) and return its lead, if the link was usable and the lead is still
    on the list; None otherwise."""
    if not _TOKEN.fullmatch(token):
        return None
    link = LeadRepository().consume_link(hash_value(token), clock.now())
    return allowed_list.get_lead(link.email) if link else None


def _email_link(lead: Lead, url: str) -> None:
    settings = get_settings()
    values = dict(company=settings.company_name, lead_name=lead.name, url=url, minutes=LINK_MINUTES)
    staff_mail.send(lead.email, f"Your sign-in link to the {settings.company_name} dashboard",
                    render("email/signin_link.txt", **values))
