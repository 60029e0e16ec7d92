"""Problems a caller can act on, each with the HTTP status it answers with.

Domain code raises them and never builds a response: the HTTP edge turns every one into the same
JSON body (chalicelib/platform/edge.py, `json_error`), the survey pages into pages. Every problem
about the input names its field, so an integrator can fix a request from the answer alone.
"""
from __future__ import annotations

from typing import Any, Optional


class Problem(Exception):
    """`status` and `error` say what kind of problem; `fields` name what to fix; `extra` adds to the body."""
    status = 400
    error = "bad_request"

    def __init__(self, message: str, fields: Optional[list[dict]] = None, *, error: Optional[str] = None,
                 extra: Optional[dict[str, Any]] = None):
        super().__init__(message)
        self.message, self.fields, self.extra = message, fields or [], extra or {}
        if error is not None:
            self.error = error

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return {**body, **self.extra}


class InvalidInput(Problem):
    """400: the request (body, query, path, form) has fields that are missing or wrong."""
    error = "validation_error"


class NotFound(Problem):
    """404: nothing with this id (or the caller may not know of it)."""
    status, error = 404, "not_found"


class Conflict(Problem):
    """409: the change is not allowed from the current state."""
    status, error = 409, "conflict"


class Expired(Problem):
    """410: it existed, and its time is over."""
    status, error = 410, "expired"


def bad_field(field: str, message: str) -> InvalidInput:
    """A 400 naming one field of the request."""
    return InvalidInput(f"{field}: {message}", [{"field": field, "message": message, "type": "value_error"}])


def invalid_fields(*fields: dict) -> InvalidInput:
    """A 400 for fields that failed their checks (each `{"field", "message", "type"}`)."""
    return InvalidInput("the request has invalid fields", list(fields))
