"""The validated field types several rooms share (addresses, ids, names, times), as pydantic types.

Each room's models (surveys/model.py, followups/model.py, ...) are built from these, so an email
address or an id is checked by one rule wherever it enters: an API body, a helpdesk webhook, a form.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer, StringConstraints
from pydantic_core import PydanticCustomError

from chalicelib.platform import clock

_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$")
IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def email_address(value: str) -> str:
    """An address as ada@example.com (the domain lowercased); ValueError otherwise."""
    local, _, domain = value.rpartition("@")
    if len(value) > 254 or len(local) > 64 or not _EMAIL_RE.match(value) or ".." in value:
        raise ValueError("must be an email address such as ada@example.com")
    return f"{local}@{domain.lower()}"


def e164(value: str) -> str:
    if not _E164_RE.match(value):
        raise ValueError("must be an E.164 phone number such as +14155550123")
    return value


def language_tag(value: str) -> str:
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


def _day(value):
    """A day written YYYY-MM-DD, nothing looser (pydantic would also take a number of seconds)."""
    try:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD") from None


Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(email_address)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(e164)]
Locale = Annotated[str, StringConstraints(max_length=35), AfterValidator(language_tag)]
TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Day = Annotated[date, BeforeValidator(_day)]

# Stored times are fixed-width UTC text (2026-11-24T10:00:00.000Z): DynamoDB compares them as
# strings in conditions (expiry, leases), which is only right when every value has one shape.
UtcTime = Annotated[datetime, PlainSerializer(clock.iso, return_type=str, when_used="json")]


class Strict(BaseModel):
    """An input that refuses fields it does not know (a typo must not pass unnoticed)."""
    model_config = ConfigDict(extra="forbid")


def field_problem(field: str, kind: str, message: str) -> PydanticCustomError:
    """A model-level error that still names its field (platform/validation.py reports `ctx.field`)."""
    return PydanticCustomError(kind, message, {"field": field})
