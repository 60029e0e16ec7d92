"""The follow-up jobs on the queue (chalicelib/platform/jobs.py): decide on a response, re-survey,
share a promoter's praise, answer a press of a Slack button."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field


class _ResponseJob(BaseModel):
    """A job about one version of a survey's response: it waits until that version is written and
    does nothing once a newer one is (the newer queued its own)."""
    survey_id: str
    expected_version: int = Field(ge=1)
    attempt: int = 0


class HandleResponse(_ResponseJob):
    """A response was counted or changed: decide, after the comment wait, whether to alert."""
    kind: Literal["handle_response"] = "handle_response"


class SendResurvey(BaseModel):
    """A follow-up was resolved: once the re-survey delay has passed, re-survey its customer."""
    kind: Literal["send_resurvey"] = "send_resurvey"
    followup_id: str
    attempt: int = 0


class ShareKudos(_ResponseJob):
    """A promoter commented: once the survey is quiet, share the praise (followups/kudos.py)."""
    kind: Literal["share_kudos"] = "share_kudos"


class RespondInSlack(BaseModel):
    """A Slack button was pressed (integrations/slack.py): replace the message with the follow-up's
    state, or tell the presser why their change was refused (an ephemeral message)."""
    kind: Literal["respond_in_slack"] = "respond_in_slack"
    followup_id: str
    # Slack's response_url: it posts into the conversation, so it is kept out of repr (and logs).
    response_url: str = Field(repr=False)
    refusal: Optional[str] = None
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
