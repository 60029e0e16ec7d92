"""Survey kinds, their scales and who counts as a detractor or a promoter: the one place for these rules.

The questions and score labels are English message keys; `_` translates them (chalicelib/platform/i18n.py).
"""
from __future__ import annotations

from enum import Enum
from typing import Callable

from chalicelib.platform.i18n import ENGLISH, N_

Gettext = Callable[..., str]


class SurveyKind(str, Enum):
    CSAT = "csat"
    NPS = "nps"


_SCALES = {SurveyKind.CSAT: range(1, 6), SurveyKind.NPS: range(0, 11)}
_DETRACTOR_MAX = {SurveyKind.CSAT: 2, SurveyKind.NPS: 6}
_PROMOTER_MIN = {SurveyKind.CSAT: 5, SurveyKind.NPS: 9}
_QUESTIONS = {
    SurveyKind.CSAT: N_("How satisfied are you with the help you received?"),
    SurveyKind.NPS: N_("How likely are you to recommend {company} to a friend or colleague?"),
}
_ENDPOINT_LABELS = {
    SurveyKind.CSAT: (N_("Very unsatisfied"), N_("Very satisfied")),
    SurveyKind.NPS: (N_("Not at all likely"), N_("Extremely likely")),
}
_CSAT_LABELS = {1: N_("Very unsatisfied"), 2: N_("Unsatisfied"), 3: N_("Neutral"), 4: N_("Satisfied"),
                5: N_("Very satisfied")}


def scale(kind: SurveyKind) -> range:
    return _SCALES[SurveyKind(kind)]


def is_valid_score(kind: SurveyKind, score: int) -> bool:
    return score in scale(kind)


def is_detractor(kind: SurveyKind, score: int | None) -> bool:
    """NPS 0-6 and CSAT 1-2 are detractors."""
    return score is not None and is_valid_score(kind, score) and score <= _DETRACTOR_MAX[SurveyKind(kind)]


def is_promoter(kind: SurveyKind, score: int | None) -> bool:
    """NPS 9-10 and CSAT 5 are promoters (their praise may be shared: followups/kudos.py)."""
    return score is not None and is_valid_score(kind, score) and score >= _PROMOTER_MIN[SurveyKind(kind)]


def question(kind: SurveyKind, company: str, _: Gettext = ENGLISH) -> str:
    return _(_QUESTIONS[SurveyKind(kind)], company=company)


def endpoint_labels(kind: SurveyKind, _: Gettext = ENGLISH) -> tuple[str, str]:
    low, high = _ENDPOINT_LABELS[SurveyKind(kind)]
    return _(low), _(high)


def score_label(kind: SurveyKind, score: int, _: Gettext = ENGLISH) -> str:
    """Words for one score, used in the text part of emails and on the pages."""
    kind = SurveyKind(kind)
    if kind is SurveyKind.CSAT:
        return _(_CSAT_LABELS[score])
    low, high = endpoint_labels(kind, _)
    return {0: low, 10: high}.get(score) or _("{score} out of 10", score=score)
