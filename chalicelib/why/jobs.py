"""The themes job on the queue (chalicelib/platform/jobs.py): a model re-tags a new comment after
the response, when the stage switched a model on (why/models.py, why/retag.py)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from chalicelib.platform import jobs
from chalicelib.platform.settings import get_settings


class RetagComment(BaseModel):
    """Response `expected_version` of a survey carries a new comment: let the stage's model tag it."""
    kind: Literal["retag_comment"] = "retag_comment"
    survey_id: str
    expected_version: int = Field(ge=1)


def queue_retag(survey_id: str, version: int) -> bool:
    """Queue the model's re-tagging of the comment response `version` wrote; nothing when no model
    is on. Queued after the write: if queueing fails, the keyword tagger's themes simply stay."""
    if not get_settings().themes_model:
        return False
    jobs.enqueue(RetagComment(survey_id=survey_id, expected_version=version))
    return True
