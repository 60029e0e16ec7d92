"""Support leads who sign in to the dashboard: the allowed list's entries, sign-in links and sessions."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.platform.fields import Email, Identifier, Name, TimeZoneName, UtcTime

# The weekly digest's weekdays, as `ops leads digest --weekday` takes them (Monday first, as ISO).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Lead(BaseModel):
    """A support lead on the allowed list of the dashboard's sign-in (managed by `python -m ops leads`)."""
    email: Email
    name: Name
    # Who follow-ups are assigned to (routing's name, e.g. "sam"): the same names the API takes.
    owner: Identifier
    added_at: UtcTime
    # Their Slack user id (`ops leads link-slack`): a button they press in Slack acts as this lead.
    slack_user_id: Optional[str] = None
    # The weekly digest (insight/digest.py): defaults, so leads stored before it need no migration.
    digest_enabled: bool = True
    digest_weekday: Weekday = "mon"
    digest_hour: int = Field(8, ge=0, le=23)
    digest_timezone: Optional[TimeZoneName] = None  # None: the stage's reporting time zone, as it is then


class DigestPreferences(BaseModel):
    """A change to a lead's digest (`ops leads digest`): only the fields given change."""
    model_config = ConfigDict(extra="forbid")
    digest_enabled: Optional[bool] = None
    digest_weekday: Optional[Weekday] = None
    digest_hour: Optional[int] = Field(None, ge=0, le=23)
    digest_timezone: Optional[TimeZoneName] = None


class DigestForm(BaseModel):
    """The dashboard's settings form (POST /dashboard/settings): a browser's form, so an unticked
    box is absent (off) and what we did not ask for (the csrf) is ignored; an empty zone: the stage's."""
    model_config = ConfigDict(extra="ignore")
    enabled: bool = False
    weekday: Weekday
    hour: int = Field(ge=0, le=23)
    timezone: Optional[TimeZoneName] = None


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
    """POST /signin: the lead's address, and the dashboard page to land on (checked by api/sessions.py)."""
    model_config = ConfigDict(extra="ignore")  # a browser's form: ignore what we did not ask for
    email: Email
    next: Optional[Annotated[str, StringConstraints(max_length=512)]] = None
