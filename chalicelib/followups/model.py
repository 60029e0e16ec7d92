"""A recovery follow-up: as stored, its history, and as the follow-ups API takes and shows it."""
from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Annotated, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.platform.fields import AwareDatetime, Cursor, Name, Note, Strict, UtcTime, email_address
from chalicelib.surveys import Agent, SurveyKind, SurveyStatus, Ticket

_SHORT_NAME = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _owner(value: str) -> str:
    if "@" in value:
        return email_address(value)
    if not _SHORT_NAME.fullmatch(value):
        raise ValueError("must be a lead's email address, or a short owner name of A-Za-z0-9._:- (up to 128)")
    return value


# An owner as the API takes it: a lead's email address, or their short owner name (followups/owners.py).
Owner = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_owner)]


class FollowUpStatus(str, Enum):
    OPEN = "open"              # waiting for an owner
    CLAIMED = "claimed"        # someone owns it
    CONTACTED = "contacted"    # the owner reached the customer
    RESOLVED = "resolved"
    UNREACHABLE = "unreachable"
    AUTOMATED = "automated"    # closed by closeloop: the response was a scanner's sweep, not the customer's


CLOSED_STATUSES = (FollowUpStatus.RESOLVED, FollowUpStatus.UNREACHABLE, FollowUpStatus.AUTOMATED)


class FollowUpEvent(BaseModel):
    """One change of a follow-up: who did what, when, with an optional note."""
    at: UtcTime
    by: str
    action: str                     # opened, assigned, claimed, status, reassigned, reopened, note, due, ...
    status: Optional[FollowUpStatus] = None
    owner: Optional[str] = None
    note: Optional[str] = None


class FollowUp(BaseModel):
    followup_id: str
    survey_id: str
    interaction_id: str
    status: FollowUpStatus = FollowUpStatus.OPEN
    kind: SurveyKind
    score: int
    comment: Optional[str] = None
    customer_id: str
    customer_name: Optional[str] = None
    agent: Optional[Agent] = None
    team: Optional[str] = None
    # Why, as the response said when the follow-up opened (a snapshot, like score and comment): the
    # reasons ticked, the comment's themes, the "resolved?" answer (surveys/model.py).
    reasons: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    resolved: Optional[bool] = None
    # The team a routing rule sent it to (followups/routing.py), when not the agent's team.
    routed_team: Optional[str] = None
    owner: Optional[str] = None
    opened_at: UtcTime
    due_at: UtcTime
    first_contact_at: Optional[UtcTime] = None
    closed_at: Optional[UtcTime] = None
    escalated_at: Optional[UtcTime] = None
    alert_error: Optional[str] = None
    # The re-survey after resolution and what it showed.
    resurvey_id: Optional[str] = None
    resurvey_score: Optional[int] = None
    recovered: Optional[bool] = None
    resurvey_resolved: Optional[bool] = None   # the customer's "Was your issue resolved?" answer
    # When the re-survey goes once resolved: the follow-up's timer until the re-survey is made.
    resurvey_due_at: Optional[UtcTime] = None
    # Where the app was reached when the survey was made: the base of the follow-up's link in alerts.
    base_url: Optional[str] = None
    # The survey's ticket: each status change is written back to it (integrations/writeback.py).
    ticket: Optional[Ticket] = None
    # Optimistic concurrency: every change is a conditional write on the version it read.
    version: int = 0
    history: list[FollowUpEvent] = Field(default_factory=list)

    def is_overdue(self, at: datetime) -> bool:
        return self.status not in CLOSED_STATUSES and at >= self.due_at


# --- HTTP: the follow-ups API ----------------------------------------------------------------

class FollowUpPatch(Strict):
    """PATCH /v1/followups/{id}: any of a new status, owner, note or deadline."""
    status: Optional[FollowUpStatus] = None
    owner: Optional[Owner] = None
    note: Optional[Note] = None
    due_at: Optional[AwareDatetime] = None

    @model_validator(mode="after")
    def _changes_something(self) -> "FollowUpPatch":
        if self.status is None and self.owner is None and self.note is None and self.due_at is None:
            raise PydanticCustomError("empty_change", "give at least one of status, owner, note, due_at",
                                      {"field": "body"})
        return self


class ClaimIn(Strict):
    """POST /v1/followups/{id}/claim: the owner defaults to the caller."""
    owner: Optional[Owner] = None
    note: Optional[Note] = None


class FollowUpQuery(Strict):
    """GET /v1/followups query string."""
    status: Optional[FollowUpStatus] = None
    owner: Optional[Owner] = None
    team: Optional[Name] = None
    overdue: Optional[bool] = None
    limit: int = Field(50, ge=1, le=200)
    cursor: Optional[Cursor] = None


class StatsQuery(Strict):
    """GET /v1/followups/stats query string: `from`/`to` stay text here, recovery.stats_window reads
    them as moments (dates or date-times with a zone) and checks the window, naming the field."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Optional[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(None, alias="from")
    to: Optional[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = None


class FollowUpView(BaseModel):
    """A follow-up as GET /v1/followups lists it (and every follow-up route answers)."""
    followup_id: str
    survey_id: str
    interaction_id: str
    status: FollowUpStatus
    owner: Optional[str] = None
    team: Optional[str] = None
    agent: Optional[Agent] = None
    customer_id: str
    customer_name: Optional[str] = None
    kind: SurveyKind
    score: int
    comment: Optional[str] = None
    reasons: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    resolved: Optional[bool] = None
    routed_team: Optional[str] = None
    opened_at: UtcTime
    due_at: UtcTime
    overdue: bool
    first_contact_at: Optional[UtcTime] = None
    closed_at: Optional[UtcTime] = None
    escalated_at: Optional[UtcTime] = None
    alert_error: Optional[str] = None
    resurvey_id: Optional[str] = None
    resurvey_score: Optional[int] = None
    resurvey_resolved: Optional[bool] = None
    recovered: Optional[bool] = None
    version: int


class SurveyResponseView(BaseModel):
    """The response a follow-up is about, as its survey holds it now."""
    survey_id: str
    status: SurveyStatus
    score: Optional[int] = None
    comment: Optional[str] = None
    reasons: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    resolved: Optional[bool] = None
    responded_at: Optional[UtcTime] = None


class FollowUpDetail(FollowUpView):
    """GET /v1/followups/{id}: the follow-up, its history (oldest first) and its survey's response."""
    history: list[FollowUpEvent]
    survey: Optional[SurveyResponseView] = None
    # The last write-back of its survey's result to the ticket that failed, if any.
    writeback_error: Optional[str] = None
