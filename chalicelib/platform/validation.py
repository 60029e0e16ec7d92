"""Input read by pydantic models and a few shared rules (moments, cursors), failing with a problem
that names the field (chalicelib/platform/errors.py). Nothing here touches HTTP or storage."""
from __future__ import annotations

import base64
import itertools
import json
import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.platform.errors import InvalidInput, bad_field, invalid_fields

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


# --- JSON bodies --------------------------------------------------------------------------------

# No input of ours nests deeper than a few levels; json.loads recurses, so depth is checked first.
MAX_JSON_DEPTH = 32
# DynamoDB keeps 38 significant digits: a longer integer could not be stored as it was sent.
MAX_INT_DIGITS = 38
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)  # one char per step: no backtracking blow-up
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def read_json(raw: bytes | str) -> Any:
    """`raw` (a request body, a message) as JSON, or InvalidInput naming `body`, error "invalid_json",
    with a `type` saying what is wrong: invalid_utf8, too_deep, duplicate_key, invalid_number
    (NaN, Infinity, a float that overflows), number_too_long, invalid_unicode (a lone surrogate) or
    invalid_json. Never a RecursionError or an int() limit: every path ends in the one problem."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else str(raw)
        text.encode("utf-8")  # a str handed in may hold lone surrogates
    except UnicodeError:
        raise json_problem("invalid_utf8", "must be UTF-8") from None
    if too_deep(text):
        raise json_problem("too_deep", f"must not nest arrays and objects more than {MAX_JSON_DEPTH} deep")
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                          parse_int=_bounded_int, parse_float=_finite_float)
    except ValueError as error:
        raise json_problem("invalid_json", "must be valid JSON", f"the body is not valid JSON: {error}") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeError:
            raise json_problem("invalid_unicode", "must not escape a lone surrogate (\\ud800-\\udfff)") from None
    return data


def too_deep(text: str) -> bool:
    """Whether arrays and objects in JSON text nest deeper than MAX_JSON_DEPTH, counted without
    recursion (brackets inside strings skipped)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False  # too few brackets to reach the limit: not worth a scan
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(1 if c in "[{" else -1 for c in brackets), default=0) > MAX_JSON_DEPTH


def json_problem(kind: str, message: str, detail: str = "") -> InvalidInput:
    """The one refusal of a body that cannot be read as JSON: 400 naming `body`, its `type` the reason."""
    return InvalidInput(detail or f"the body {message}", [{"field": "body", "message": message, "type": kind}],
                        error="invalid_json")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:  # json.loads would keep the last silently; which one the sender meant is unknown
            raise json_problem("duplicate_key", f"must not repeat a key in an object ({key[:64]!r})")
        data[key] = value
    return data


def _no_constant(name: str) -> Any:
    raise json_problem("invalid_number", f"must not hold {name}: JSON numbers are finite")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise json_problem("number_too_long", f"must not hold an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise json_problem("invalid_number", "must not hold a number too large for a float")
    return value


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
