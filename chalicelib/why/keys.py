"""A reason's or a theme's key as an input names it (a filter, a routing rule): one check for both,
so that every place refuses an unknown key alike, naming the keys it knows."""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints, ValidationInfo

from chalicelib.why.reasons import REASON_LABELS
from chalicelib.why.themes import theme_keys


def known_reason(value: str) -> str:
    """Any reason of why/reasons.py, offered by the stage now or before."""
    if value not in REASON_LABELS:
        raise ValueError(f"unknown reason {value!r}; must be one of {', '.join(REASON_LABELS)}")
    return value


def known_theme(value: str, info: ValidationInfo) -> str:
    """A theme of the stage's taxonomy; `make deploy`'s checks give the deployed stage's theme keys
    as the validation context's "theme_keys" (ops/checks.py)."""
    keys = (info.context or {}).get("theme_keys") or theme_keys()
    if value not in keys:
        raise ValueError(f"unknown theme {value!r}; must be one of {', '.join(keys)}")
    return value


ReasonKey = Annotated[str, StringConstraints(max_length=64), AfterValidator(known_reason)]
ThemeKey = Annotated[str, StringConstraints(max_length=64), AfterValidator(known_theme)]
