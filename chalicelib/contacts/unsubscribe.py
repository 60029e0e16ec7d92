"""Email opt-out (RFC 8058 one-click, and the footer link): /u/{token} (routes: chalicelib/api/pages.py).

The link carries the survey's own token, so it needs no login and no cookie, and it keeps
working after the survey's response window closed (people unsubscribe from old mail).
A GET only shows a confirmation page: mail scanners fetch every link of a message, and a fetch
must never unsubscribe anyone. A POST (what a mail client's one-click sends, or the page's
button) records the opt-out in the suppression ledger and answers 200, never a redirect.
"""
from __future__ import annotations

import logging
from typing import Optional

from chalicelib.contacts.ledger import suppress
from chalicelib.contacts.model import SuppressionReason
from chalicelib.events import unsubscribed
from chalicelib.platform import clock
from chalicelib.platform.rendering import Page
from chalicelib.surveys import Channel, ContactKind, Survey, SurveyNotFound, pages, survey_for_token

log = logging.getLogger(__name__)

SOURCE = "unsubscribe"


def mask(address: str) -> str:
    """Enough of an address for its owner to recognise it, not enough to harvest: a•••@example.com."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}\u2022\u2022\u2022@{domain}" if domain else "\u2022\u2022\u2022"


def email_survey(token: str) -> Optional[Survey]:
    """The email survey the token belongs to, or None (unknown, forged, or not an email survey)."""
    try:
        survey = survey_for_token(token)
    except SurveyNotFound:
        return None
    if survey.channel is not Channel.EMAIL or not survey.customer.email:
        return None
    return survey


def confirmation_page(survey: Survey, done: bool) -> Page:
    """The page: a button to unsubscribe, or (`done`) that it is done."""
    return pages.survey_page("unsubscribe.html", survey, address=mask(survey.customer.email), done=done)


def unsubscribe(survey: Survey) -> Page:
    """Unsubscribe the survey's address (idempotent); the page that says so."""
    new = suppress(ContactKind.EMAIL, survey.customer.email, SuppressionReason.UNSUBSCRIBED, SOURCE)
    log.info("unsubscribe via survey %s: %s", survey.survey_id, "recorded" if new else "already suppressed")
    if new:
        unsubscribed(survey, clock.now())
    return confirmation_page(survey, done=True)
