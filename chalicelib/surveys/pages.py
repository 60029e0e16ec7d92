"""The survey pages a customer sees: the score choice, the one-click landing page that confirms its
score, thanks, expired, not found. Each is a Page in the customer's language; the HTTP edge
answers it under the pages' strict headers (routes: chalicelib/api/pages.py)."""
from __future__ import annotations

from typing import Optional

from chalicelib.delivery import first_name, translator_for
from chalicelib.platform.rendering import Page, browser_page, page
from chalicelib.platform.settings import get_settings
from chalicelib.surveys import links, scoring
from chalicelib.surveys.model import Survey
from chalicelib.surveys.responses import InvalidScore


def survey_page(template: str, survey: Survey, status: int = 200, **context) -> Page:
    """A page in the survey's customer's language."""
    return page(template, translator_for(survey, get_settings()), status, **context)


def _scale_page(template: str, survey: Survey, token: str, chosen: Optional[int] = None, **context) -> Page:
    """A page showing the survey's scale, in its customer's language; `chosen` is the score picked."""
    settings = get_settings()
    _ = translator_for(survey, settings)
    low, high = scoring.endpoint_labels(survey.kind, _)
    return page(
        template, _, kind=survey.kind.value,
        question=scoring.question(survey.kind, settings.company_name, _),
        scores=[{"score": s, "label": scoring.score_label(survey.kind, s, _)} for s in scoring.scale(survey.kind)],
        low_label=low, high_label=high, chosen=chosen,
        chosen_label=scoring.score_label(survey.kind, chosen, _) if chosen is not None else None,
        form_url=links.choose_url(survey.base_url, token),
        customer_name=first_name(survey.customer.name),
        agent_name=first_name(survey.agent.name) if survey.agent else None,
        # A re-survey after a resolved follow-up also asks "Was your issue resolved?".
        resurvey=survey.followup_id is not None, resolved=survey.resolved, **context)


def choose(survey: Survey, token: str, open_id: str) -> Page:
    return _scale_page("choose.html", survey, token, open_id=open_id)


def landing(survey: Survey, token: str, open_id: str, score: int) -> Page:
    return _scale_page("landing.html", survey, token, chosen=score, open_id=open_id,
                       confirm_url=links.score_url(survey.base_url, token, score),
                       dwell_ms=get_settings().confirm_dwell_ms, comment=survey.comment or "")


def thanks(survey: Survey, token: str, counted: bool) -> Page:
    return _scale_page("thanks.html", survey, token, chosen=survey.score, counted=counted, score=survey.score,
                       comment=survey.comment)


def expired(survey: Survey) -> Page:
    return survey_page("expired.html", survey, status=410)


def not_found(accept_language: Optional[str]) -> Page:
    return browser_page("not_found.html", accept_language, status=404)


def bad_score(error: InvalidScore) -> Page:
    _ = translator_for(error.survey, get_settings())
    message = _("Scores on this survey go from {low} to {high}.", low=error.low, high=error.high)
    return survey_page("bad_request.html", error.survey, status=400, message=message)


def bad_form(accept_language: Optional[str], message: str) -> Page:
    """A form we cannot read (a forged or truncated post): the field's error, as the API words it."""
    return browser_page("bad_request.html", accept_language, status=400, message=message)
