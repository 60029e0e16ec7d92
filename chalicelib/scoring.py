"""Survey kinds, their scales and who counts as a detractor: the one place for these rules."""
from __future__ import annotations

from enum import Enum


class SurveyKind(str, Enum):
    CSAT = "csat"
    NPS = "nps"


_SCALES = {SurveyKind.CSAT: range(1, 6), SurveyKind.NPS: range(0, 11)}
_DETRACTOR_MAX = {SurveyKind.CSAT: 2, SurveyKind.NPS: 6}
_QUESTIONS = {
    SurveyKind.CSAT: "How satisfied are you with the help you received?",
    SurveyKind.NPS: "How likely are you to recommend {company} to a friend or colleague?",
}
_ENDPOINT_LABELS = {
    SurveyKind.CSAT: ("Very unsatisfied", "Very satisfied"),
    SurveyKind.NPS: ("Not at all likely", "Extremely likely"),
}
_CSAT_LABELS = {1: "Very unsatisfied", 2: "Unsatisfied", 3: "Neutral", 4: "Satisfied", 5: "Very satisfied"}


def scale(kind: SurveyKind) -> range:
    return _SCALES[SurveyKind(kind)]


def is_valid_score(kind: SurveyKind, score: int) -> bool:
    return score in scale(kind)


def is_detractor(kind: SurveyKind, score: int | None) -> bool:
    """NPS 0-6 and CSAT 1-2 are detractors."""
    return score is not None and is_valid_score(kind, score) and score <= _DETRACTOR_MAX[SurveyKind(kind)]


def question(kind: SurveyKind, company: str) -> str:
    return _QUESTIONS[SurveyKind(kind)].format(company=company)


def endpoint_labels(kind: SurveyKind) -> tuple[str, str]:
    return _ENDPOINT_LABELS[SurveyKind(kind)]


def score_label(kind: SurveyKind, score: int) -> str:
    """Words for one score, used in the text part of emails and on the pages."""
    kind = SurveyKind(kind)
    if kind is SurveyKind.CSAT:
        return _CSAT_LABELS[score]
    low, high = _ENDPOINT_LABELS[kind]
    return {0: low, 10: high}.get(score, f"{score} out of 10")
