"""The delivery jobs on the queue (chalicelib/platform/jobs.py): send a survey, remind once."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel


class SendSlot(BaseModel):
    """A moment of the channel's sending rate reserved for a deferred send (delivery/send_rate.py)."""
    at: float  # epoch seconds


class SendSurvey(BaseModel):
    kind: Literal["send_survey"] = "send_survey"
    survey_id: str
    attempt: int = 0
    send_slot: Optional[SendSlot] = None


class SendReminder(BaseModel):
    """A survey was sent: once `reminder_after_seconds` have passed without a response, remind once."""
    kind: Literal["send_reminder"] = "send_reminder"
    survey_id: str
    attempt: int = 0
    send_slot: Optional[SendSlot] = None
