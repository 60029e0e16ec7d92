"""pydantic models for everything that crosses an edge: HTTP bodies, queue jobs, stored items."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from enum import Enum
from typing import Annotated, Literal, Optional, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chalicelib import clock
from chalicelib.scoring import SurveyKind

# --- field types ---------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$")


def _email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    if len(value) > 254 or len(local) > 64 or not _EMAIL_RE.match(value) or ".." in value:
        raise ValueError("must be an email address such as ada@example.com")
    return f"{local}@{domain.lower()}"


def _e164(value: str) -> str:
    if not _E164_RE.match(value):
        raise ValueError("must be an E.164 phone number such as +14155550123")
    return value


def _locale(value: str) -> str:
    if not _LOCALE_RE.fullmatch(value):
        raise ValueError("must be a language tag such as en or pt-BR")
    return value.replace("_", "-")


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError("must be an IANA time zone such as America/New_York") from error
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a time zone, e.g. 2026-11-24T10:00:00Z")
    return value.astimezone(timezone.utc)


Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_e164)]
Locale = Annotated[str, StringConstraints(max_length=35), AfterValidator(_locale)]
TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
PropertyKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
PropertyValue = Annotated[str, StringConstraints(max_length=256)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- HTTP: POST /v1/interactions -----------------------------------------------------------

class Customer(_Strict):
    id: Identifier
    email: Optional[Email] = None
    phone: Optional[Phone] = None
    name: Optional[Name] = None
    locale: Optional[Locale] = None
    timezone: Optional[TimeZoneName] = None


class Agent(_Strict):
    id: Identifier
    name: Optional[Name] = None


class InteractionIn(_Strict):
    interaction_id: Identifier
    survey: SurveyKind = SurveyKind.CSAT
    channel: Optional[Channel] = None
    customer: Customer
    agent: Optional[Agent] = None
    team: Optional[Name] = None
    properties: dict[PropertyKey, PropertyValue] = Field(default_factory=dict, max_length=20)
    occurred_at: Optional[AwareDatetime] = None
    send_at: Optional[AwareDatetime] = None

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


def _missing(field: str, message: str) -> PydanticCustomError:
    """A model-level error that still names its field (the edge reports `ctx.field`)."""
    return PydanticCustomError("missing_address", message, {"field": field})


# --- HTTP: survey pages --------------------------------------------------------------------

class ResponseForm(BaseModel):
    """What a survey page posts: a score, maybe a comment, and the page view it came from."""
    model_config = ConfigDict(extra="ignore")

    score: int = Field(ge=0, le=10)
    comment: Optional[Comment] = None
    open_id: Optional[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,32}$")]] = None
    # A re-survey's "Was your issue resolved?" (yes/no radios); absent or empty: not answered.
    resolved: Optional[bool] = None

    @field_validator("comment")
    @classmethod
    def _empty_is_none(cls, value: Optional[str]) -> Optional[str]:
        return value or None

    @field_validator("resolved", mode="before")
    @classmethod
    def _unanswered_is_none(cls, value):
        return None if value == "" else value


# --- HTTP: follow-ups (leads and agents) --------------------------------------------------

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class FollowUpPatch(_Strict):
    """PATCH /v1/followups/{id}: any of a new status, owner, note or deadline."""
    status: Optional[FollowUpStatus] = None
    owner: Optional[Identifier] = None
    note: Optional[Note] = None
    due_at: Optional[AwareDatetime] = None

    @model_validator(mode="after")
    def _changes_something(self) -> "FollowUpPatch":
        if self.status is None and self.owner is None and self.note is None and self.due_at is None:
            raise PydanticCustomError("empty_change", "give at least one of status, owner, note, due_at",
                                      {"field": "body"})
        return self


class ClaimIn(_Strict):
    """POST /v1/followups/{id}/claim: the owner defaults to the caller."""
    owner: Optional[Identifier] = None
    note: Optional[Note] = None


class FollowUpQuery(_Strict):
    """GET /v1/followups query string."""
    status: Optional[FollowUpStatus] = None
    owner: Optional[Identifier] = None
    team: Optional[Name] = None
    overdue: Optional[bool] = None
    limit: int = Field(50, ge=1, le=200)
    cursor: Optional[Annotated[str, StringConstraints(min_length=1, max_length=2048)]] = None


# --- HTTP: responses (listing and CSV export) ----------------------------------------------

Moment = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ResponseQuery(_Strict):
    """GET /v1/responses query string. `from`/`to` stay text here: chalicelib/responses.py reads
    them as moments (dates or date-times) and checks the range, naming the field."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Optional[Moment] = Field(None, alias="from")
    to: Optional[Moment] = None
    survey: Optional[SurveyKind] = None
    channel: Optional[Channel] = None
    agent: Optional[Identifier] = None
    team: Optional[Name] = None
    min_score: Optional[int] = Field(None, ge=0, le=10)
    max_score: Optional[int] = Field(None, ge=0, le=10)
    has_comment: Optional[bool] = None
    limit: int = Field(50, ge=1, le=200)
    cursor: Optional[Annotated[str, StringConstraints(min_length=1, max_length=2048)]] = None

    @model_validator(mode="after")
    def _score_range(self) -> "ResponseQuery":
        if self.min_score is not None and self.max_score is not None and self.min_score > self.max_score:
            raise PydanticCustomError("score_range", "must not be greater than max_score", {"field": "min_score"})
        return self


class ResponseExportQuery(ResponseQuery):
    """GET /v1/responses.csv: the same filters; `limit` is rows per CSV page."""
    limit: int = Field(5000, ge=1, le=5000)


# --- HTTP: reports -------------------------------------------------------------------------

REPORT_MAX_DAYS = 400


def _day(value):
    """A day written YYYY-MM-DD, nothing looser (pydantic would also take a number of seconds)."""
    try:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None


Day = Annotated[date, BeforeValidator(_day)]


class ReportQuery(_Strict):
    """GET /v1/reports/summary query string: a survey kind, inclusive days, one grouping."""
    survey: SurveyKind
    from_: Day = Field(alias="from")
    to: Day
    group_by: Literal["all", "day", "agent", "team", "channel"] = "all"

    @model_validator(mode="after")
    def _a_range(self) -> "ReportQuery":
        if self.from_ > self.to:
            raise PydanticCustomError("date_order", "must not be after to", {"field": "from"})
        if (self.to - self.from_).days + 1 > REPORT_MAX_DAYS:
            raise PydanticCustomError("range_too_long", f"the range may span at most {REPORT_MAX_DAYS} days",
                                      {"field": "to"})
        return self


# --- HTTP: the leads' dashboard (query strings and forms) ----------------------------------

DASHBOARD_PRESETS = (7, 30, 90)


class _DashboardInput(BaseModel):
    """A browser's form: unknown fields are ignored (csrf, a flash) and an empty field is absent."""
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data):
        return {k: v for k, v in data.items() if v not in ("", None)} if isinstance(data, dict) else data


class DashboardRange(_DashboardInput):
    """GET /dashboard and /dashboard/people: a survey kind and inclusive days in the reporting time
    zone, as `from`/`to` or a `days` preset counted back from `to` (default: the last 30 days)."""
    survey: SurveyKind = SurveyKind.NPS
    from_: Optional[Day] = Field(None, alias="from")
    to: Optional[Day] = None
    days: Optional[int] = None

    @field_validator("days")
    @classmethod
    def _a_preset(cls, value: Optional[int]) -> Optional[int]:
        if value is not None and value not in DASHBOARD_PRESETS:
            raise ValueError(f"must be one of {', '.join(map(str, DASHBOARD_PRESETS))}")
        return value

    @model_validator(mode="after")
    def _a_range(self) -> "DashboardRange":
        if self.from_ and self.to and self.from_ > self.to:
            raise PydanticCustomError("date_order", "must not be after to", {"field": "from"})
        if self.from_ and self.to and (self.to - self.from_).days + 1 > REPORT_MAX_DAYS:
            raise PydanticCustomError("range_too_long", f"the range may span at most {REPORT_MAX_DAYS} days",
                                      {"field": "to"})
        return self


class CommentQuery(DashboardRange):
    """GET /dashboard/comments: responses with a comment, filtered; any kind unless one is chosen."""
    survey: Optional[SurveyKind] = None
    agent: Optional[Identifier] = None
    team: Optional[Name] = None
    channel: Optional[Channel] = None
    min_score: Optional[int] = Field(None, ge=0, le=10)
    max_score: Optional[int] = Field(None, ge=0, le=10)
    detractors: bool = False
    cursor: Optional[Annotated[str, StringConstraints(min_length=1, max_length=2048)]] = None

    @model_validator(mode="after")
    def _filters_agree(self) -> "CommentQuery":
        if self.min_score is not None and self.max_score is not None and self.min_score > self.max_score:
            raise PydanticCustomError("score_range", "must not be greater than max_score", {"field": "min_score"})
        if self.detractors and self.survey is None:
            # Detractors are 0-6 on NPS but 1-2 on CSAT: one listing cannot filter both.
            raise PydanticCustomError("needs_survey", "choose NPS or CSAT to list detractors only",
                                      {"field": "detractors"})
        return self


BoardTab = Literal["open", "overdue", "mine"]


class BoardQuery(_DashboardInput):
    """GET /dashboard/followups: which section, the flash of the last action, the page."""
    tab: BoardTab = "open"
    done: Optional[Literal["claimed", "contacted", "resolved"]] = None
    cursor: Optional[Annotated[str, StringConstraints(min_length=1, max_length=2048)]] = None


class FollowUpAction(_DashboardInput):
    """POST /dashboard/followups/{id}: a board button (csrf is checked before this is read)."""
    action: Literal["claim", "contact", "resolve"]
    note: Optional[Note] = None
    tab: BoardTab = "open"


# --- queue jobs ----------------------------------------------------------------------------

class SendSlot(BaseModel):
    """A moment of the channel's sending rate reserved for a deferred send (chalicelib/send_rate.py)."""
    at: float  # epoch seconds


class SendSurvey(BaseModel):
    kind: Literal["send_survey"] = "send_survey"
    survey_id: str
    attempt: int = 0
    send_slot: Optional[SendSlot] = None


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


class SendReminder(BaseModel):
    """A survey was sent: once `reminder_after_seconds` have passed without a response, remind once."""
    kind: Literal["send_reminder"] = "send_reminder"
    survey_id: str
    attempt: int = 0
    send_slot: Optional[SendSlot] = None


Job = Annotated[Union[SendSurvey, HandleResponse, SendResurvey, SendReminder], Field(discriminator="kind")]


class JobEnvelope(BaseModel):
    job: Job


# --- SNS: an inbound SMS (AWS End User Messaging two-way SMS, published to the replies topic) ---

class InboundSms(BaseModel):
    """A reply a customer texted to our number, as End User Messaging publishes it."""
    model_config = ConfigDict(extra="ignore")

    originationNumber: Phone                      # noqa: N815 - the provider's field names
    destinationNumber: Optional[Annotated[str, StringConstraints(max_length=32)]] = None  # noqa: N815
    messageKeyword: Optional[Annotated[str, StringConstraints(max_length=64)]] = None     # noqa: N815
    messageBody: Annotated[str, StringConstraints(max_length=1600)]                     # noqa: N815
    inboundMessageId: Annotated[str, StringConstraints(min_length=1, max_length=128)]   # noqa: N815
    previousPublishedMessageId: Optional[Annotated[str, StringConstraints(max_length=128)]] = None  # noqa: N815


# --- stored items --------------------------------------------------------------------------

# Stored times are fixed-width UTC text (2026-11-24T10:00:00.000Z): DynamoDB compares them as
# strings in conditions (expiry, leases), which is only right when every value has one shape.
UtcTime = Annotated[datetime, PlainSerializer(clock.iso, return_type=str, when_used="json")]

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
    # A re-survey after a resolved follow-up: that follow-up, and the "issue resolved?" answer.
    followup_id: Optional[str] = None
    resolved: Optional[bool] = None
    # The one reminder (same survey, a new token) and when it went.
    reminded_at: Optional[UtcTime] = None
    # A cancelled interaction (DELETE /v1/interactions/{id}, a helpdesk "reopened" event): its
    # survey is `suppressed` with suppressed_reason "cancelled"; who cancelled it and when.
    cancelled_by: Optional[str] = None
    cancelled_at: Optional[UtcTime] = None
    # The customer's personal data was erased (DELETE /v1/customers/{id}): name, addresses,
    # locale, properties, comment and token hashes are gone; score and dates stay for reports.
    erased_at: Optional[UtcTime] = None

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


class FollowUpStatus(str, Enum):
    OPEN = "open"              # waiting for an owner
    CLAIMED = "claimed"        # someone owns it
    CONTACTED = "contacted"    # the owner reached the customer
    RESOLVED = "resolved"
    UNREACHABLE = "unreachable"


CLOSED_STATUSES = (FollowUpStatus.RESOLVED, FollowUpStatus.UNREACHABLE)


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
    # Where the app was reached when the survey was made: the base of the follow-up's link in alerts.
    base_url: Optional[str] = None
    # Optimistic concurrency: every change is a conditional write on the version it read.
    version: int = 0
    history: list[FollowUpEvent] = Field(default_factory=list)

    def is_overdue(self, at: datetime) -> bool:
        return self.status not in CLOSED_STATUSES and at >= self.due_at


class ContactKind(str, Enum):
    CUSTOMER = "customer"   # the helpdesk's customer id: suppresses every address of that customer
    EMAIL = "email"
    PHONE = "phone"


class SuppressionReason(str, Enum):
    UNSUBSCRIBED = "unsubscribed"   # one-click unsubscribe (RFC 8058) or the footer link
    BOUNCED = "bounced"             # SES hard bounce
    COMPLAINED = "complained"       # SES complaint (marked as spam)
    SMS_STOP = "sms_stop"           # STOP and its kin by SMS
    MANUAL = "manual"               # an admin, through the API or the ops command


class Suppression(BaseModel):
    """One entry of the suppression ledger: this contact gets no survey and no reminder."""
    kind: ContactKind
    value: str
    reason: SuppressionReason
    source: str          # what told us: "ses", "sms", "unsubscribe-link", an API key's name...
    at: UtcTime


# --- HTTP: the suppression ledger (admins) --------------------------------------------------

_CONTACT_CHECKS = {ContactKind.EMAIL: _email, ContactKind.PHONE: _e164}
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class SuppressionKey(_Strict):
    """A contact of the ledger: `value` must be what `kind` says (email, E.164 phone, customer id)."""
    kind: ContactKind
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]

    @model_validator(mode="after")
    def _value_fits_kind(self):
        check = _CONTACT_CHECKS.get(self.kind)
        try:
            if check is not None:
                self.value = check(self.value)
            elif not _IDENTIFIER_RE.fullmatch(self.value):
                raise ValueError("must be a customer id: 1-128 characters of A-Za-z0-9._:-")
        except ValueError as error:
            raise PydanticCustomError("invalid_contact", str(error), {"field": "value"}) from None
        if self.kind is ContactKind.EMAIL:
            self.value = self.value.lower()  # the ledger's one spelling of an address
        return self


class SuppressionIn(SuppressionKey):
    """POST /v1/suppressions: an admin suppresses a contact by hand."""
    reason: Literal["manual"] = "manual"    # bounces, complaints and opt-outs come from their source


class SuppressionQuery(_Strict):
    """GET /v1/suppressions query string."""
    kind: Optional[ContactKind] = None


# --- HTTP: erasure of a customer's personal data ----------------------------------------------

class CustomerKey(_Strict):
    """DELETE /v1/customers/{customer_id}: the same rule as customer.id of an interaction."""
    customer_id: Identifier


class ErasureReceipt(BaseModel):
    """What one erasure request removed; stored (with a hash, never the id) so it can be shown later."""
    receipt_id: str
    erased_at: UtcTime
    surveys: int = 0            # surveys whose customer details were removed
    comments: int = 0           # response comments removed (on surveys)
    page_views: int = 0         # page views (user agents) deleted
    followups: int = 0          # follow-ups whose customer name, comment and notes were removed
    suppressions_hashed: int = 0  # ledger entries kept only as a hash
    contact_records: int = 0    # throttle stamps and SMS records of the customer's addresses deleted
    cancelled: int = 0          # surveys not sent yet, ended unsent


class ApiKey(BaseModel):
    key_hash: str
    name: str
    prefix: str
    created_at: UtcTime
    revoked_at: Optional[UtcTime] = None


class Lead(BaseModel):
    """A support lead on the allowed list of the dashboard's sign-in (managed by `python -m ops leads`)."""
    email: Email
    name: Name
    # Who follow-ups are assigned to (routing's name, e.g. "sam"): the same names the API takes.
    owner: Identifier
    added_at: UtcTime


class SignInLink(BaseModel):
    """A one-time sign-in link as stored (keyed by the SHA-256 of its token, never the token)."""
    email: str
    created_at: UtcTime
    expires_at: UtcTime
    used_at: Optional[UtcTime] = None


class SessionRecord(BaseModel):
    """A lead's dashboard session as stored (keyed by the SHA-256 of the cookie's value)."""
    email: str
    csrf_token: str
    created_at: UtcTime
    expires_at: UtcTime
    # The lead's `added_at` when the session began: a lead removed and added again starts afresh.
    lead_added_at: UtcTime


class SignInForm(BaseModel):
    """POST /signin: the lead's address, and the dashboard page to land on (checked by chalicelib/signin.py)."""
    model_config = ConfigDict(extra="ignore")  # a browser's form: ignore what we did not ask for
    email: Email
    next: Optional[Annotated[str, StringConstraints(max_length=512)]] = None


# --- HTTP: follow-up views -----------------------------------------------------------------

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
    responded_at: Optional[UtcTime] = None


class FollowUpDetail(FollowUpView):
    """GET /v1/followups/{id}: the follow-up, its history (oldest first) and its survey's response."""
    history: list[FollowUpEvent]
    survey: Optional[SurveyResponseView] = None
