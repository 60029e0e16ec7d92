"""The HTTP edge: parse and validate request input with pydantic, shape errors as JSON.

Every error names the offending field, so a helpdesk integrator can fix a request from the
response alone. Nothing here touches storage: a request that fails here has written nothing.
"""
from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import parse_qs

from chalice import Response
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 64 * 1024


class InputError(Exception):
    def __init__(self, status: int, error: str, message: str, fields: Optional[list[dict]] = None):
        super().__init__(message)
        self.status, self.error, self.message, self.fields = status, error, message, fields or []

    def response(self) -> Response:
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return Response(status_code=self.status, body=body, headers={"Content-Type": "application/json"})


def json_body(request, model: type[M]) -> M:
    return validate(model, _parse_json(request))


def json_object(request) -> dict:
    """An optional JSON object body: empty means {}."""
    data = _parse_json(request) if request.raw_body else {}
    if not isinstance(data, dict):
        raise InputError(400, "validation_error", "the body must be a JSON object",
                         [{"field": "body", "message": "must be a JSON object"}])
    return data


def form_body(request, model: type[M]) -> M:
    """A form post (url-encoded, multipart) or JSON, whichever the browser sent."""
    content_type = (request.headers.get("content-type") or "").lower()
    if content_type.startswith("application/json"):
        return json_body(request, model)
    return validate(model, form_fields(request))


def form_fields(request) -> dict[str, str]:
    """A browser's form post (url-encoded or multipart) as a dict; a field given twice keeps its last value."""
    content_type = (request.headers.get("content-type") or "").lower()
    raw = _raw(request)
    if content_type.startswith("multipart/form-data"):
        return _multipart(raw, content_type)
    return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InputError(400, "validation_error", "the request has invalid fields",
                         [_field_error(e) for e in error.errors()]) from None


def query(request, model: type[M]) -> M:
    """The query string, validated by `model` (a parameter given twice counts with its last value)."""
    params = request.query_params or {}
    return validate(model, {name: params.get(name) for name in params})


def principal(request) -> str:
    """Who is calling: the name of the API key the authorizer accepted."""
    authorizer = (request.context or {}).get("authorizer") or {}
    return authorizer.get("principalId") or "api"


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
        raise InputError(400, "validation_error", "the request has invalid fields",
                         [{"field": "cursor", "message": "not a cursor this API returned", "type": "invalid_cursor"}])
    return key


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


def bad_field(field: str, message: str) -> InputError:
    """A 400 naming one field of the request."""
    return InputError(400, "validation_error", f"{field}: {message}",
                      [{"field": field, "message": message, "type": "value_error"}])


def _field_error(error: dict) -> dict:
    # A check across fields (e.g. the channel's address) names its field in the error's context.
    location = ".".join(str(part) for part in error["loc"]) or (error.get("ctx") or {}).get("field") or "body"
    return {"field": location, "message": error["msg"], "type": error["type"]}


def _parse_json(request) -> Any:
    try:
        return json.loads(_raw(request))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(400, "invalid_json", f"the body is not valid JSON: {error}",
                         [{"field": "body", "message": "must be valid JSON", "type": "invalid_json"}]) from None


def _raw(request) -> bytes:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise InputError(400, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes",
                         [{"field": "body", "message": f"must be at most {MAX_BODY_BYTES} bytes",
                           "type": "body_too_large"}])
    return raw


def _multipart(raw: bytes, content_type: str) -> dict[str, str]:
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = part.get_content() if part.get_content_maintype() == "text" else ""
    return fields


def see_other(request, path: str, **headers: str) -> Response:
    """303 to `path` of this app (under its base URL), never cached; `headers` e.g. a Set-Cookie."""
    return Response(status_code=303, body="", headers={"Location": base_url(request) + path,
                                                       "Cache-Control": "no-store", **headers})


def base_url(request) -> str:
    """Where this request reached the app, to build survey links when no public_url is set."""
    headers = request.headers
    host = headers.get("host", "127.0.0.1:8000")
    scheme = headers.get("x-forwarded-proto", "https" if host.endswith("amazonaws.com") else "http")
    stage = (request.context or {}).get("stage", "")
    # API Gateway's own host name carries the stage in the path; a custom domain or chalice local does not.
    prefix = f"/{stage}" if stage and host.endswith("amazonaws.com") else ""
    return f"{scheme}://{host}{prefix}"
