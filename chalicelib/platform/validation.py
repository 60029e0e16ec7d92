"""Input read by pydantic models and a few shared rules (moments, cursors), failing with a problem
that names the field (chalicelib/platform/errors.py). Nothing here touches HTTP or storage."""
from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.platform.errors import bad_field, invalid_fields

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any) -> M:
    """`data` as `model`, or InvalidInput naming every offending field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid_fields(*(field_error(e) for e in error.errors())) from None


def field_error(error: dict) -> dict:
    # A check across fields (e.g. the channel's address) names its field in the error's context.
    location = ".".join(str(part) for part in error["loc"]) or (error.get("ctx") or {}).get("field") or "body"
    return {"field": location, "message": error["msg"], "type": error["type"]}


# --- moments in query strings ------------------------------------------------------------------

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MOMENT = "must be a date (YYYY-MM-DD) or an ISO 8601 date-time with a time zone"


def instant(field: str, text: str, day_end: bool = False) -> datetime:
    """A query parameter's moment: an ISO 8601 date-time with a zone, or a date `YYYY-MM-DD` (UTC):
    its midnight, or with `day_end` the next midnight (a whole day, as the end of a range).
    A 400 naming `field` when it is neither."""
    text = text.strip()
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise bad_field(field, _MOMENT) from None
        midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        return midnight + timedelta(days=1) if day_end else midnight
    # An unencoded "+01:00" in a query string arrives as " 01:00".
    text = re.sub(r" ([0-9]{2}:?[0-9]{2})$", r"+\1", text)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_field(field, _MOMENT) from None
    if value.tzinfo is None:
        raise bad_field(field, "must include a time zone, e.g. 2026-11-24T10:00:00Z")
    return value.astimezone(timezone.utc)


# --- page cursors --------------------------------------------------------------------------------

def encode_cursor(key: dict[str, str]) -> str:
    """An opaque page cursor: base64url (unpadded) of the JSON of the key to go on after."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, is_valid: Callable[[Any], bool]) -> Any:
    """The key inside a cursor from encode_cursor; a 400 naming `cursor` when it is not one."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        key = None
    if not is_valid(key):
        raise invalid_fields({"field": "cursor", "message": "not a cursor this API returned", "type": "invalid_cursor"})
    return key
