"""The survey and what feeds it: an interaction to survey (POST /v1/interactions), the survey as
stored, a fetch of one of its links (the evidence), and what a survey page posts."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, ClassVar, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from chalicelib.platform.fields import (
    AwareDatetime, Email, Identifier, Locale, Name, Phone, Strict, TimeZoneName, UtcTime, field_problem,
)
from chalicelib.surveys.scoring import SurveyKind

PropertyKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
PropertyValue = Annotated[str, StringConstraints(max_length=256)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class ContactKind(str, Enum):
    """How a customer can be reached (and suppressed, and throttled)."""
    CUSTOMER = "customer"   # the helpdesk's customer id: suppresses every address of that customer
    EMAIL = "email"
    PHONE = "phone"


Contact = tuple[ContactKind, str]


class Channel(str, Enum):
    EMAIL = "email"
    SMS = "sms"


class SurveyStatus(str, Enum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    RESPONDED = "responded"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


# --- HTTP: POST /v1/interactions -----------------------------------------------------------

class Customer(Strict):
    id: Identifier
    email: Optional[Email] = None
    phone: Optional[Phone] = None
    name: Optional[Name] = None
    locale: Optional[Locale] = None
    timezone: Optional[TimeZoneName] = None


    def contacts(self) -> list[Contact]:
        """Every contact of the customer, in the ledger's spelling (addresses lowercased)."""
        found: list[Contact] = [(ContactKind.CUSTOMER, self.id)]
        if self.email:
            found.append((ContactKind.EMAIL, self.email.strip().lower()))
        if self.phone:
            found.append((ContactKind.PHONE, self.phone))
        return found


class Agent(Strict):
    id: Identifier
    name: Optional[Name] = None


class Helpdesk(str, Enum):
    """The helpdesks a survey's result is written back to (chalicelib/integrations/writeback.py)."""
    ZENDESK = "zendesk"
    FRESHDESK = "freshdesk"
    INTERCOM = "intercom"


class Ticket(Strict):
    """The helpdesk ticket (an Intercom conversation) an interaction was about."""
    helpdesk: Helpdesk
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                         pattern=r"^[A-Za-z0-9._:-]+$")]

    @field_validator("id")
    @classmethod
    def _names_something(cls, value: str) -> str:
        # The id goes into the helpdesk API's path (quoted): "." or ".." would name another resource.
        if not any(c.isalnum() for c in value):
            raise ValueError("must contain a letter or digit")
        return value


class InteractionIn(Strict):
    interaction_id: Identifier
    survey: SurveyKind = SurveyKind.CSAT
    channel: Optional[Channel] = None
    customer: Customer
    agent: Optional[Agent] = None
    team: Optional[Name] = None
    properties: dict[PropertyKey, PropertyValue] = Field(default_factory=dict, max_length=20)
    occurred_at: Optional[AwareDatetime] = None
    send_at: Optional[AwareDatetime] = None
    ticket: Optional[Ticket] = None
    # Ask "Was your issue resolved?" on this survey; absent: as the stage says (CLOSELOOP_ASK_RESOLVED).
    ask_resolved: Optional[bool] = None

    @model_validator(mode="after")
    def _channel_has_address(self) -> "InteractionIn":
        if self.channel is None:
            if self.customer.email:
                self.channel = Channel.EMAIL
            elif self.customer.phone:
                self.channel = Channel.SMS
            else:
                raise _missing("customer.email", "customer.email or customer.phone is required to survey the customer")
        if self.channel is Channel.EMAIL and not self.customer.email:
            raise _missing("customer.email", "customer.email is required for the email channel")
        if self.channel is Channel.SMS and not self.customer.phone:
            raise _missing("customer.phone", "customer.phone is required for the sms channel")
        return self


def _missing(field: str, message: str):
    return field_problem(field, "missing_address", message)


# --- HTTP: survey pages --------------------------------------------------------------------

class ResponseForm(BaseModel):
    """What a survey page posts: a score, maybe a comment, and the page view it came from."""
    model_config = ConfigDict(extra="ignore")
    # The form fields that may come more than once (platform/edge.py form_fields).
    FORM_LISTS: ClassVar[tuple[str, ...]] = ("reason",)

    score: int = Field(ge=0, le=10)
    comment: Optional[Comment] = None
    open_id: Optional[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,32}$")]] = None
    # "score": the score-choice page's buttons, whose answer is the form for a comment and reasons.
    step: Optional[Literal["score"]] = None
    # "Was your issue resolved?" (yes/no radios); absent or empty: not answered.
    resolved: Optional[bool] = None
    # The reasons ticked (checkboxes named "reason"; the form also posts one empty "reason", so that
    # "none ticked" differs from a post without the field). Checked against the stage's reasons
    # by why/reasons.py check_reasons; None: not posted.
    reason: Optional[list[Annotated[str, StringConstraints(max_length=64)]]] = Field(None, max_length=20)

    @field_validator("comment")
    @classmethod
    def _empty_is_none(cls, value: Optional[str]) -> Optional[str]:
        return value or None

    @field_validator("resolved", mode="before")
    @classmethod
    def _unanswered_is_none(cls, value):
        return None if value == "" else value


# --- stored ----------------------------------------------------------------------------------

class Survey(BaseModel):
    survey_id: str
    interaction_id: str
    kind: SurveyKind
    channel: Channel
    status: SurveyStatus
    # SHA-256 of the secret part of each token sent for this survey (one per message).
    secret_hashes: list[str] = Field(default_factory=list)
    customer: Customer
    agent: Optional[Agent] = None
    team: Optional[str] = None
    properties: dict[str, str] = Field(default_factory=dict)
    base_url: str
    created_at: UtcTime
    occurred_at: Optional[UtcTime] = None
    send_at: UtcTime
    expires_at: UtcTime
    sent_at: Optional[UtcTime] = None
    message_id: Optional[str] = None
    send_attempts: int = 0
    failure_reason: Optional[str] = None
    # Why a suppressed survey was never sent (CONTRACT.md's "reason").
    suppressed_reason: Optional[str] = None
    score: Optional[int] = None
    comment: Optional[str] = None
    responded_at: Optional[UtcTime] = None
    response_updated_at: Optional[UtcTime] = None
    response_version: int = 0
    # The first open by a person (or first counted response): counted once in the report counters.
    opened_at: Optional[UtcTime] = None
    # A re-survey after a resolved follow-up: that follow-up. "Was your issue resolved?": asked on
    # re-surveys, and on others when the interaction or the stage asks it (`asks_resolved`).
    followup_id: Optional[str] = None
    resolved: Optional[bool] = None
    ask_resolved: Optional[bool] = None
    # Why (chalicelib/why/): the reasons the customer ticked, and the themes found in the comment.
    reasons: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    # The one reminder (same survey, a new token) and when it went.
    reminded_at: Optional[UtcTime] = None
    # A cancelled interaction (DELETE /v1/interactions/{id}, a helpdesk "reopened" event): its
    # survey is `suppressed` with suppressed_reason "cancelled"; who cancelled it and when.
    cancelled_by: Optional[str] = None
    cancelled_at: Optional[UtcTime] = None
    # The customer's personal data was erased (DELETE /v1/customers/{id}): name, addresses,
    # locale, properties, comment and token hashes are gone; score and dates stay for reports.
    erased_at: Optional[UtcTime] = None
    # The ticket the result is written back to, and the last write-back that failed (cleared by
    # the next that succeeds): chalicelib/integrations/writeback.py.
    ticket: Optional[Ticket] = None
    writeback_error: Optional[str] = None

    def asks_resolved(self, stage_asks: bool) -> bool:
        """Whether the survey page asks "Was your issue resolved?"."""
        if self.followup_id is not None:
            return True
        return self.ask_resolved if self.ask_resolved is not None else stage_asks

    def public_status(self, at: datetime) -> SurveyStatus:
        if self.status in (SurveyStatus.SENT, SurveyStatus.SCHEDULED) and at >= self.expires_at:
            return SurveyStatus.EXPIRED
        return self.status


class OpenVerdict(str, Enum):
    PENDING = "pending"        # page served, nothing confirmed yet
    COUNTED = "counted"        # confirmed by the page and counted as the response
    AUTOMATED = "automated"    # judged a scanner or preview: counts nothing


class SurveyOpen(BaseModel):
    """Evidence of one fetch of a survey link, kept for audit."""
    open_id: str
    survey_id: str
    at: UtcTime
    method: str
    score: Optional[int] = None  # None: the score-choice page; -1: the hidden honeypot link
    user_agent: str = ""
    verdict: OpenVerdict = OpenVerdict.PENDING
    reason: Optional[str] = None
    confirmed_at: Optional[UtcTime] = None
