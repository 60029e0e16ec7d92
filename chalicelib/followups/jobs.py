"""The follow-up jobs on the queue (chalicelib/platform/jobs.py): decide on a response, re-survey."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HandleResponse(BaseModel):
    """A response was counted or changed: decide, after the comment wait, whether to alert."""
    kind: Literal["handle_response"] = "handle_response"
    survey_id: str
    expected_version: int = Field(ge=1)
    attempt: int = 0


class SendResurvey(BaseModel):
    """A follow-up was resolved: once the re-survey delay has passed, re-survey its customer."""
    kind: Literal["send_resurvey"] = "send_resurvey"
    followup_id: str
    attempt: int = 0


class NotifyOwner(BaseModel):
    """A follow-up was assigned to `owner`: email them, once per assignment (`version`: the
    follow-up's version the assignment wrote)."""
    kind: Literal["notify_owner"] = "notify_owner"
    followup_id: str
    owner: str
    version: int = Field(ge=0)


class RemindOwner(BaseModel):
    """A follow-up's deadline nears (a timer, followups/repository.py): remind its owner, once per
    deadline (`due_ms`: the deadline it was set for, epoch milliseconds)."""
    kind: Literal["remind_owner"] = "remind_owner"
    followup_id: str
    due_ms: int
