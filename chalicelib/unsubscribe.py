"""Email opt-out (RFC 8058 one-click, and the footer link): /u/{token}.

The link carries the survey's own token, so it needs no login and no cookie, and it keeps
working after the survey's response window closed (people unsubscribe from old mail).
A GET only shows a confirmation page: mail scanners fetch every link of a message, and a fetch
must never unsubscribe anyone. A POST (what a mail client's one-click sends, or the page's
button) records the opt-out in the suppression ledger and answers 200, never a redirect.
"""
from __future__ import annotations

import logging

from chalicelib import pages, suppressions, surveys
from chalicelib.models import Channel, ContactKind, Survey, SuppressionReason

log = logging.getLogger(__name__)

SOURCE = "unsubscribe"


def mask(address: str) -> str:
    """Enough of an address for its owner to recognise it, not enough to harvest: a•••@example.com."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}\u2022\u2022\u2022@{domain}" if domain else "\u2022\u2022\u2022"


def show(request, token: str) -> Response:
    """GET/HEAD: the confirmation page. Unsubscribes nobody."""
    survey = _email_survey(token)
    if survey is None:
        return pages.not_found(request)
    response = pages.survey_page("unsubscribe.html", survey, address=mask(survey.customer.email), done=False)
    if request.method == "HEAD":
        response.body = ""
    return response


def confirm(request, token: str) -> Response:
    """POST: unsubscribe the survey's address (idempotent). The body is not needed: RFC 8058's
    `List-Unsubscribe=One-Click`, the page's form, or nothing at all mean the same."""
    survey = _email_survey(token)
    if survey is None:
        return pages.not_found(request)
    new = suppressions.suppress(ContactKind.EMAIL, survey.customer.email, SuppressionReason.UNSUBSCRIBED, SOURCE)
    log.info("unsubscribe via survey %s: %s", survey.survey_id, "recorded" if new else "already suppressed")
    return pages.survey_page("unsubscribe.html", survey, address=mask(survey.customer.email), done=True)


def _email_survey(token: str):
    """The email survey the token belongs to, or None (unknown, forged, or not an email survey)."""
    try:
        survey: Survey = surveys.survey_for_token(token)
    except surveys.SurveyNotFound:
        return None
    if survey.channel is not Channel.EMAIL or not survey.customer.email:
        return None
    return survey
