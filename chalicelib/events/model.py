"""The lifecycle events: one pydantic model per detail-type, version 1, and the job that carries one.

What goes in is the least a router needs: ids (the survey's, the interaction's the caller gave, the
customer's id as the caller gave it, the agent's id, the team), times, scores and statuses. Never
a name, an email address or a phone number. The customer's comment only when the stage opts in
(CLOSELOOP_EVENT_COMMENTS): a data lake wants it, a Jira rule does not. Adding an optional field
keeps version 1; removing or retyping one makes version 2 (docs/events.md).
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.platform.fields import UtcTime

SOURCE = "closeloop"


class Detail(BaseModel):
    """What every event's detail holds."""
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = Field(description="The schema version; a breaking change publishes version 2.")
    id: str = Field(description="Stable for the change: a redelivered event has the same id (dedupe on it).")
    occurred_at: UtcTime = Field(description="When the change was written (UTC, ISO 8601).")
    stage: str = Field(description="The closeloop stage that published it.")


class SurveyFields(Detail):
    survey_id: str
    interaction_id: str = Field(description="The interaction id the caller gave (e.g. the ticket's).")
    survey_kind: Literal["csat", "nps"]
    channel: Literal["email", "sms"]
    customer_id: Optional[str] = Field(None, description="The caller's customer id; absent once the customer is "
                                                         "erased.")
    agent_id: Optional[str] = None
    team: Optional[str] = None


class SurveySent(SurveyFields):
    """closeloop.survey.sent: the provider took the survey message."""
    sent_at: UtcTime


class ResponseRecorded(SurveyFields):
    """closeloop.response.recorded: a survey's response counted (its first, or again after a withdrawal)."""
    response_version: int = Field(ge=1, description="Counts every change of this survey's response.")
    score: int
    detractor: bool = Field(description="CSAT 1-2, NPS 0-6.")
    comment: Optional[str] = Field(None, description="Only where the stage sets CLOSELOOP_EVENT_COMMENTS=true; "
                                                     "never after an erasure.")
    resolved: Optional[bool] = Field(None, description="The 'was your issue resolved?' answer, where asked.")
    reasons: Optional[list[str]] = Field(None, description="The reasons the customer ticked (keys, e.g. 'waited').")
    themes: Optional[list[str]] = Field(None, description="The comment's themes (keys of the stage's taxonomy).")


class ResponseChanged(ResponseRecorded):
    """closeloop.response.changed: the customer changed a counted response (score or comment)."""
    previous_score: Optional[int] = None


class ResponseWithdrawn(SurveyFields):
    """closeloop.response.withdrawn: a counted response proved to be a scanner's sweep and no longer counts."""
    response_version: int = Field(ge=1)
    reason: Optional[str] = None


class FollowUpFields(Detail):
    followup_id: str
    survey_id: str
    interaction_id: str
    followup_version: int = Field(ge=0, description="Counts every change of the follow-up.")
    status: Literal["open", "claimed", "contacted", "resolved", "unreachable", "automated"]
    owner: Optional[str] = Field(None, description="Who owns it: a lead (their email address) or a routing name.")
    by: str = Field(description="Who made the change: a lead, 'routing' or 'closeloop'.")
    survey_kind: Literal["csat", "nps"]
    score: int
    customer_id: Optional[str] = None
    agent_id: Optional[str] = None
    team: Optional[str] = None
    opened_at: UtcTime
    due_at: UtcTime


class FollowUpOpened(FollowUpFields):
    """closeloop.followup.opened: a detractor response opened a follow-up (owner set if routing assigned it)."""


class FollowUpClaimed(FollowUpFields):
    """closeloop.followup.claimed: a follow-up got an owner (claimed, assigned or reopened to an owner)."""


class FollowUpResolved(FollowUpFields):
    """closeloop.followup.resolved: a lead resolved it."""
    closed_at: UtcTime


class FollowUpEscalated(FollowUpFields):
    """closeloop.followup.escalated: it passed its deadline unresolved and was escalated."""
    escalated_at: UtcTime


class Unsubscribed(Detail):
    """closeloop.contact.unsubscribed: a customer opted out of survey email from a survey's link."""
    survey_id: str
    customer_id: Optional[str] = None
    channel: Literal["email"] = "email"


class CustomerErased(Detail):
    """closeloop.customer.erased: the customer's personal data was erased; delete what you keep of them."""
    customer_id: str = Field(description="The erased customer's id as the caller gave it (DELETE /v1/customers/{id}).")
    receipt_id: str


DETAIL_TYPES: dict[str, type[Detail]] = {
    "closeloop.survey.sent": SurveySent,
    "closeloop.response.recorded": ResponseRecorded,
    "closeloop.response.changed": ResponseChanged,
    "closeloop.response.withdrawn": ResponseWithdrawn,
    "closeloop.followup.opened": FollowUpOpened,
    "closeloop.followup.claimed": FollowUpClaimed,
    "closeloop.followup.resolved": FollowUpResolved,
    "closeloop.followup.escalated": FollowUpEscalated,
    "closeloop.contact.unsubscribed": Unsubscribed,
    "closeloop.customer.erased": CustomerErased,
}
DetailType = Literal[tuple(DETAIL_TYPES)]  # type: ignore[valid-type]


def detail_schemas() -> dict[str, dict]:
    """detail-type -> the JSON schema of its detail (docs/events.md shows them; a test keeps them equal)."""
    return {name: model.model_json_schema(mode="serialization") for name, model in DETAIL_TYPES.items()}


class PublishEvent(BaseModel):
    """A change was written: publish its event once (events/publish.py)."""
    kind: Literal["publish_event"] = "publish_event"
    detail_type: DetailType
    detail: dict

