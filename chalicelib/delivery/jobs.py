"""The delivery jobs on the queue (chalicelib/platform/jobs.py): send a survey, remind once; and
the timer that brings the reminder."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, Optional

from pydantic import BaseModel

from chalicelib.platform.settings import get_settings
from chalicelib.storage import timers


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


def reminder_timer(survey_id: str, sent_at: datetime) -> Optional[dict]:
    """The timer of a sent survey's one reminder (`reminder_after_seconds` after the send), or None
    when reminders are off. It rides on the survey item (delivery/reminders.py decides at its time)."""
    after = get_settings().reminder_after_seconds
    return timers.timer(SendReminder(survey_id=survey_id), sent_at + timedelta(seconds=after)) if after else None
