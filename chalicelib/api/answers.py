"""What the /v1/ routes answer, as pydantic models: the response schemas of GET /v1/openapi.json
(api/openapi.py) for the views that build plain dicts. Views that already answer a room's model
(follow-ups, suppressions, erasure receipts) are described by that model instead. The schemathesis
run (tests/functional/api/test_openapi_fuzz.py) checks every real answer against these.
"""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

import chalicelib.contacts as contacts
import chalicelib.surveys as surveys
from chalicelib.followups import FollowUpView
from chalicelib.insight import ReportGrouping

Time = str  # an ISO 8601 UTC time as the API writes it: 2026-11-24T10:00:00.000Z


class Answer(BaseModel):
    """An answer's fields are all present (null where they say so) unless a default marks them optional."""
    model_config = ConfigDict(extra="forbid")


# --- problems ----------------------------------------------------------------------------------

class FieldProblem(BaseModel):
    field: str = Field(description="the offending field: a dotted path (customer.email), a parameter, or body")
    message: str
    type: Optional[str] = None


class Problem(BaseModel):
    """Every problem the app itself answers (platform/errors.py, Problem.body())."""
    model_config = ConfigDict(extra="allow")   # e.g. a 409 of a cancel carries the survey

    error: str = Field(description="validation_error, invalid_json, body_too_large, not_found, conflict, "
                                   "not_configured, unauthorized, ...")
    message: str
    fields: Optional[list[FieldProblem]] = None


class GatewayError(BaseModel):
    """An answer of API Gateway (or chalice local) before the app runs: a missing or refused API key,
    throttling, a body too large."""
    model_config = ConfigDict(extra="allow")

    message: Optional[str] = None
    Message: Optional[str] = None   # noqa: N815 - API Gateway's spelling on a refused key


class ChaliceError(BaseModel):
    """chalice's own answer before the view runs, e.g. 415 for a body that is not application/json."""
    model_config = ConfigDict(extra="allow")

    Code: str       # noqa: N815 - chalice's spelling
    Message: str    # noqa: N815


# --- interactions and surveys ------------------------------------------------------------------

class InteractionAccepted(Answer):
    """POST /v1/interactions (surveys/intake.py, Accepted.view)."""
    survey_id: str
    status: surveys.SurveyStatus
    send_at: Optional[Time] = Field(None, description="when it is (or was) sent; absent when suppressed")
    reason: Optional[str] = Field(None, description="why a suppressed customer is not surveyed")


class AgentAnswer(Answer):
    id: str
    name: Optional[str] = None


class SurveyAnswer(Answer):
    """GET /v1/surveys/{id} (surveys/views.py, survey_view)."""
    survey_id: str
    interaction_id: str
    survey: surveys.SurveyKind
    channel: surveys.Channel
    status: surveys.SurveyStatus
    score: Optional[int]
    comment: Optional[str]
    detractor: Optional[bool]
    customer_id: str
    agent: Optional[AgentAnswer]
    team: Optional[str]
    created_at: Time
    send_at: Time
    sent_at: Optional[Time]
    responded_at: Optional[Time]
    response_updated_at: Optional[Time]
    expires_at: Time
    failure_reason: Optional[str]
    suppressed_reason: Optional[str]
    followup_id: Optional[str]
    ask_resolved: bool = Field(description='whether the survey asks "Was your issue resolved?"')
    resolved: Optional[bool] = Field(description="its answer; null when not answered")
    reasons: list[str] = Field(description="the keys of the reasons the customer ticked (chalicelib/why/)")
    themes: list[str] = Field(description="the keys of the comment's themes (chalicelib/why/)")
    reminded_at: Optional[Time]
    cancelled_at: Optional[Time]
    cancelled_by: Optional[str]
    erased_at: Optional[Time]
    ticket: Optional[surveys.Ticket] = Field(None, description="the ticket the result is written back to")
    writeback_error: Optional[str] = Field(None, description="the last write-back to the ticket that failed")


class OpenAnswer(Answer):
    open_id: str
    at: Time
    method: str
    score: Optional[int]
    honeypot: bool
    user_agent: str
    verdict: surveys.OpenVerdict
    reason: Optional[str]
    confirmed_at: Optional[Time]


class SurveyOpens(Answer):
    """GET /v1/surveys/{id}/opens (surveys/views.py, open_view)."""
    survey_id: str
    opens: list[OpenAnswer]


# --- reports and responses ---------------------------------------------------------------------

class Fcr(Answer):
    """First-contact resolution of a group (insight/reports.py, fcr)."""
    answered: int = Field(description='responses that answered "Was your issue resolved?"')
    resolved: int = Field(description="of those, the ones that said yes")
    rate: float = Field(description="resolved / answered, a fraction 0..1")
    ci95: list[float] = Field(description="the rate's 95% Wilson interval [low, high], fractions 0..1")


class ReportGroup(Answer):
    """One group of a report (insight/reports.py, summarize): NPS fields or CSAT fields by kind; by
    reason or theme also its label and share of the range's responses (tag_groups)."""
    key: str
    sent: Optional[int] = Field(description="null by reason or theme: a send carries neither")
    opened: Optional[int] = Field(description="null by reason or theme")
    open_rate: Optional[float]
    responses: int
    response_rate: Optional[float]
    distribution: dict[str, int]
    promoters: Optional[int] = None
    passives: Optional[int] = None
    detractors: Optional[int] = None
    nps: Optional[float] = None
    satisfied: Optional[int] = None
    csat: Optional[float] = None
    average: Optional[float] = None
    ci95: Optional[list[float]] = Field(description="the 95% interval [low, high]; null without responses")
    low_sample: bool
    fcr: Optional[Fcr] = Field(description='null when nobody in the group answered "Was your issue resolved?"')
    label: Optional[str] = Field(None, description="by reason or theme: its name as leads read it")
    share: Optional[float] = Field(None, description="by reason or theme: its responses / the summary's responses, "
                                                     "0..1 (a response may carry several); null without responses")
    share_ci95: Optional[list[float]] = Field(None, description="by reason or theme: the share's 95% Wilson interval")


class ReportSummary(Answer):
    """GET /v1/reports/summary."""
    survey: surveys.SurveyKind
    from_: str = Field(alias="from")
    to: str
    group_by: ReportGrouping
    responses: int = Field(description="every response of the range (the base of the shares by reason or theme)")
    groups: list[ReportGroup]


class ResponseItem(Answer):
    """One response (insight/responses.py, view): the customer by id and name only."""
    survey_id: str
    interaction_id: str
    survey: surveys.SurveyKind
    channel: surveys.Channel
    score: int
    detractor: bool
    comment: Optional[str]
    resolved: Optional[bool]
    reasons: list[str] = Field(description="the keys of the reasons the customer ticked")
    themes: list[str] = Field(description="the keys of the comment's themes")
    responded_at: Optional[Time]
    response_updated_at: Optional[Time]
    sent_at: Optional[Time]
    customer_id: str
    customer_name: Optional[str]
    agent: Optional[AgentAnswer]
    team: Optional[str]
    followup_id: Optional[str]
    resurvey: bool


class ResponsesPage(Answer):
    """GET /v1/responses: newest first; `next_cursor` null on the last page."""
    responses: list[ResponseItem]
    next_cursor: Optional[str]


# --- follow-ups --------------------------------------------------------------------------------

class FollowUpsPage(Answer):
    """GET /v1/followups (followups/views.py, list_view)."""
    followups: list[FollowUpView]
    next_cursor: Optional[str]


class Recovery(Answer):
    resolved: int
    resurveyed: int
    recovered: int
    rate: Optional[float]


class FollowUpStats(Answer):
    """GET /v1/followups/stats (followups/recovery.py, summarize)."""
    from_: Time = Field(alias="from")
    to: Time
    total: int
    by_status: dict[str, int]
    median_time_to_first_contact_seconds: Optional[float]
    median_time_to_resolution_seconds: Optional[float]
    overdue: int
    recovery: Recovery


# --- suppressions and erasure ------------------------------------------------------------------

class Suppressions(Answer):
    """GET /v1/suppressions (contacts/ledger.py, suppressions_view)."""
    suppressions: list[contacts.Suppression]


class SuppressionStats(Answer):
    """GET /v1/suppressions/stats: one count per reason (contacts.COUNTED_REASONS)."""
    suppressed: int
    by_reason: dict[str, int]


class ErasureDone(contacts.ErasureReceipt):
    """DELETE /v1/customers/{id}: the receipt, with the id the caller gave."""
    model_config = ConfigDict(extra="forbid")
    customer_id: str


class ErasureShown(contacts.ErasureReceipt):
    """GET /v1/erasures/{id}: the receipt, with the hash of the customer id (never the id)."""
    model_config = ConfigDict(extra="forbid")
    customer_hash: str


# --- helpdesk webhooks -------------------------------------------------------------------------

class WebhookAnswer(BaseModel):
    """What a helpdesk delivery did (integrations/webhooks.py): surveyed (the interaction's answer),
    cancelled or not, or ignored (an event closeloop does not act on)."""
    status: str = Field(description="the survey's status; ignored; or not_found for a reopened unknown ticket")
    interaction_id: Optional[str] = None
    survey_id: Optional[str] = None
    send_at: Optional[Time] = None
    cancelled: Optional[bool] = None
    reason: Optional[str] = None

