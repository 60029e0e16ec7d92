"""Reasons after a low score: the boxes a detractor or passive may tick on the survey page
("waited too long", "problem not solved", ...).

A stage offers up to MAX_REASONS of the reasons below, in its order (CLOSELOOP_REASONS, a comma list
of keys). Each reason's label is English text translated in every catalog (platform/catalogs/), so
a stage picks from this list; a new reason is a line here and one in each catalog. The key is what
is stored with the response, counted in reports and shown by the API: it never changes meaning.
"""
from __future__ import annotations

from typing import Iterable, Optional

from chalicelib.platform.errors import InvalidInput
from chalicelib.platform.i18n import N_
from chalicelib.platform.settings import get_settings

MAX_REASONS = 6

REASON_LABELS: dict[str, str] = {
    "waited": N_("Waited too long"),
    "not_solved": N_("Problem not solved"),
    "repeated": N_("Had to repeat myself"),
    "attitude": N_("Agent attitude"),
    "product": N_("Product or policy"),
    "other": N_("Other"),
    "transferred": N_("Passed from person to person"),
    "unclear": N_("The answer was unclear"),
    "hard_to_reach": N_("Hard to reach you"),
}


class ReasonProblem(InvalidInput):
    """Reasons a survey page cannot take: the field is `reason`."""

    def __init__(self, message: str):
        super().__init__(f"reason: {message}", [{"field": "reason", "message": message}])


def parse_reasons(text: str) -> list[str]:
    """A stage's CLOSELOOP_REASONS: known keys, no repeats, at most MAX_REASONS (ValueError otherwise)."""
    keys = [key.strip() for key in text.split(",") if key.strip()]
    unknown = [key for key in keys if key not in REASON_LABELS]
    if unknown:
        raise ValueError(f"unknown reason {unknown[0]!r}; known: {', '.join(REASON_LABELS)}")
    if len(set(keys)) != len(keys):
        raise ValueError("a reason is named twice")
    if len(keys) > MAX_REASONS:
        raise ValueError(f"at most {MAX_REASONS} reasons")
    return keys


def stage_reasons(settings=None) -> list[str]:
    """The reasons this stage offers, in order."""
    return parse_reasons((settings or get_settings()).reasons)


def check_reasons(values: Optional[Iterable[str]], offered: list[str]) -> Optional[list[str]]:
    """The reasons a page posted, in the stage's order; None when the form did not post any field
    (a confirmation by the page's script). Raises ReasonProblem naming the first bad value."""
    if values is None:
        return None
    chosen = [value for value in values if value != ""]  # the form's hidden empty field: "none ticked"
    if len(chosen) > MAX_REASONS:
        raise ReasonProblem(f"at most {MAX_REASONS} reasons may be chosen")
    for value in chosen:
        if value not in offered:
            raise ReasonProblem(f"{value[:40]!r} is not one of the reasons offered")
    return [key for key in offered if key in chosen]


def reason_label(key: str, _=None) -> str:
    """A reason's label, translated by `_` when given (a stored key no longer offered keeps its label)."""
    label = REASON_LABELS.get(key, key)
    return _(label) if _ else label
