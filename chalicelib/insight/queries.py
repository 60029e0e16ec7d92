"""What leads ask of the insight room: the query strings of reports, the responses listing and
export, and the dashboard's pages and forms."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.platform.fields import Cursor, Day, Identifier, Name, Note, Strict
from chalicelib.surveys import Channel, SurveyKind
from chalicelib.why import ReasonKey, ThemeKey

# --- responses (listing and CSV export) -------------------------------------------------------

Moment = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ResponseQuery(Strict):
    """GET /v1/responses query string. `from`/`to` stay text here: insight/responses.py reads
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
    reason: Optional[ReasonKey] = None
    theme: Optional[ThemeKey] = None
    resolved: Optional[bool] = None
    limit: int = Field(50, ge=1, le=200)
    cursor: Optional[Cursor] = None

    @model_validator(mode="after")
    def _score_range(self) -> "ResponseQuery":
        if self.min_score is not None and self.max_score is not None and self.min_score > self.max_score:
            raise PydanticCustomError("score_range", "must not be greater than max_score", {"field": "min_score"})
        return self


class ResponseExportQuery(ResponseQuery):
    """GET /v1/responses.csv: the same filters; `limit` is rows per CSV page."""
    limit: int = Field(5000, ge=1, le=5000)


# --- reports --------------------------------------------------------------------------------

REPORT_MAX_DAYS = 400
ReportGrouping = Literal["all", "day", "agent", "team", "channel", "reason", "theme"]


class ReportQuery(Strict):
    """GET /v1/reports/summary query string: a survey kind, inclusive days, one grouping (reason and
    theme: a response counts in each of its reasons or themes, or in none)."""
    survey: SurveyKind
    from_: Day = Field(alias="from")
    to: Day
    group_by: ReportGrouping = "all"

    @model_validator(mode="after")
    def _a_range(self) -> "ReportQuery":
        if self.from_ > self.to:
            raise PydanticCustomError("date_order", "must not be after to", {"field": "from"})
        if (self.to - self.from_).days + 1 > REPORT_MAX_DAYS:
            raise PydanticCustomError("range_too_long", f"the range may span at most {REPORT_MAX_DAYS} days",
                                      {"field": "to"})
        return self


# --- the leads' dashboard (query strings and forms) -------------------------------------------

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
    theme: Optional[ThemeKey] = None
    cursor: Optional[Cursor] = None

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
    cursor: Optional[Cursor] = None


class FollowUpAction(_DashboardInput):
    """POST /dashboard/followups/{id}: a board button (csrf is checked before this is read)."""
    action: Literal["claim", "contact", "resolve"]
    note: Optional[Note] = None
    tab: BoardTab = "open"
