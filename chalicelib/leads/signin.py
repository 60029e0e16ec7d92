"""Passwordless sign-in of support leads to the dashboard (pages: chalicelib/api/signin.py).

A lead on the allowed list (leads/allowed_list.py) enters their address and gets a one-time link by
email, valid LINK_MINUTES. Anyone else gets the very same answer and no email, so the page tells
nobody who is a lead. Opening the link only shows a button: mail scanners fetch every link of a
message, and a fetch must not spend it. The button's POST spends the link (one conditional write:
of concurrent clicks one wins) and starts the session (leads/sessions.py).

The link's token is the only secret in a URL; the table keeps its SHA-256, and it is never logged.
The pages are English only: leads are staff, not customers.
"""
from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Optional
from urllib.parse import urlencode

from chalicelib.leads import allowed_list
from chalicelib.leads.model import Lead, SignInLink
from chalicelib.leads.repository import LeadRepository
from chalicelib.leads.sessions import hash_value
from chalicelib.platform import aws, clock
from chalicelib.platform.rendering import render
from chalicelib.platform.settings import get_settings

log = logging.getLogger(__name__)

DASHBOARD = "/dashboard"  # where a lead lands after signing in, unless the link names another page
LINK_MINUTES = 15
# At most this many links to one address per LINK_MINUTES; more requests send nothing (same page).
LINKS_PER_WINDOW = 5
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)

SPENT = "This sign-in link has expired or was already used. Enter your email to get a new one."


# --- the links ----------------------------------------------------------------------------------

def send_link(email: str, base_url: str, next_path: str = DASHBOARD) -> bool:
    """Email a one-time sign-in link if `email` is a lead's and not over the rate limit; whether one went."""
    repository = LeadRepository()
    lead = allowed_list.get_lead(email)
    if lead is None:
        log.info("sign-in link requested for an address not on the allowed list: none sent")
        return False
    now = clock.now()
    if not repository.count_link(lead.email, now, timedelta(minutes=LINK_MINUTES), LINKS_PER_WINDOW):
        log.warning("sign-in links to one lead over %d in %d minutes: none sent", LINKS_PER_WINDOW, LINK_MINUTES)
        return False
    token = secrets.token_urlsafe(32)
    repository.put_link(hash_value(token), SignInLink(email=lead.email, created_at=now,
                                                      expires_at=now + timedelta(minutes=LINK_MINUTES)))
    url = f"{base_url}/signin/{token}"
    if next_path != DASHBOARD:
        url += "?" + urlencode({"next": next_path})
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
    message = EmailMessage()
    message["Subject"] = f"Your sign-in link to the {settings.company_name} dashboard"
    message["From"] = formataddr((settings.company_name, settings.sender_email))
    message["To"] = lead.email
    message["Message-ID"] = make_msgid(domain=settings.sender_email.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render("email/signin_link.txt", **values))
    aws.client("sesv2").send_email(FromEmailAddress=settings.sender_email,
                                   Destination={"ToAddresses": [lead.email]},
                                   Content={"Raw": {"Data": message.as_bytes()}})
