"""The survey pages a customer sees: the score choice, the one-click landing page that confirms its
score, thanks, expired, not found. Each is a Page in the customer's language; the HTTP edge
answers it under the pages' strict headers (routes: chalicelib/api/pages.py)."""
from __future__ import annotations

from typing import Optional

from chalicelib.delivery import first_name, translator_for
from chalicelib.platform.rendering import Page, browser_page, page
from chalicelib.platform.settings import get_settings
from chalicelib.surveys import links, scoring
from chalicelib.surveys.model import ResponseForm, Survey
from chalicelib.surveys.responses import InvalidScore
from chalicelib.why import MAX_REASONS, reason_label, stage_reasons


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
        resurvey=survey.followup_id is not None,
        # "Was your issue resolved?": on a re-survey, or when the interaction or the stage asks it.
        ask_resolved=survey.asks_resolved(settings.ask_resolved),
        reasons=[{"key": key, "label": reason_label(key, _)} for key in stage_reasons(settings)],
        **{"resolved": survey.resolved, "ticked": survey.reasons, **context})


def choose(survey: Survey, token: str, open_id: str) -> Page:
    return _scale_page("choose.html", survey, token, open_id=open_id)


def landing(survey: Survey, token: str, open_id: str, score: int, status: int = 200, **context) -> Page:
    """The landing page: its score confirms itself; its form adds a comment, the reasons (shown for
    a detractor or passive score, and toggled by the page's script when the score changes) and
    the answer to "resolved?"."""
    context = {"comment": survey.comment or "", "reason_error": None, "saved": False, **context}
    return _scale_page("landing.html", survey, token, chosen=score, open_id=open_id, status=status,
                       confirm_url=links.score_url(survey.base_url, token, score),
                       dwell_ms=get_settings().confirm_dwell_ms,
                       reasons_shown=not scoring.is_promoter(survey.kind, score),
                       promoter_scores=[s for s in scoring.scale(survey.kind) if scoring.is_promoter(survey.kind, s)],
                       **context)


def form_again(survey: Survey, token: str, form: ResponseForm) -> Page:
    """The landing form posted reasons it cannot take (why's ReasonProblem: unknown, or too many):
    the same form again (400), the error next to the reasons in the customer's language, and
    nothing the person entered lost: the comment, the known reasons ticked, the score, "resolved?"."""
    _ = translator_for(survey, get_settings())
    chosen = [value for value in form.reason or () if value]
    error = (_("Please choose at most {count} reasons.", count=MAX_REASONS) if len(chosen) > MAX_REASONS
             else _("Please choose from the reasons listed."))
    known = [key for key in stage_reasons() if key in chosen]  # in the stage's order, once each
    return landing(survey, token, form.open_id or "", form.score, status=400, comment=form.comment or "",
                   ticked=known, resolved=form.resolved, reason_error=error)


def thanks(survey: Survey, token: str, counted: bool) -> Page:
    _ = translator_for(survey, get_settings())
    return _scale_page("thanks.html", survey, token, chosen=survey.score, counted=counted, score=survey.score,
                       comment=survey.comment, saved_reasons=[reason_label(key, _) for key in survey.reasons])


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
