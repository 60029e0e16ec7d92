"""The HTTP edge: read request input with pydantic, and answer problems and pages.

The only module below the blueprints (chalicelib/api/) that knows chalice. Every route is
declared on a `Routes` blueprint, which turns a Problem raised anywhere below into its answer
in one place (`json_error` for the API, the survey pages' own pages for them), so no route
maps errors itself. Nothing here touches storage: a request that fails here has written nothing.
"""
from __future__ import annotations

import functools
import re
import secrets
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import parse_qs

from chalice import Blueprint, Response
from pydantic import BaseModel

from chalicelib.platform import i18n
from chalicelib.platform.errors import InvalidInput, Problem, bad_field
from chalicelib.platform.rendering import Page, render
from chalicelib.platform.settings import get_settings
from chalicelib.platform.validation import read_json, validate

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 64 * 1024
# A query parameter of ours is a date, a name or a cursor: none comes near this.
MAX_PARAM_CHARS = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- answers ------------------------------------------------------------------------------------

def json_error(problem: Problem) -> Response:
    """The one JSON answer of every problem: `{"error", "message", "fields"?, ...}` with its status."""
    return Response(status_code=problem.status, body=problem.body(), headers={"Content-Type": "application/json"})


class Routes(Blueprint):
    """A blueprint whose routes answer every Problem the way their area does: `answer` (JSON by
    default), or a route's own `answer=` (a JSON route among pages)."""

    def __init__(self, import_name: str, answer: Callable[[Problem], Response] = json_error):
        super().__init__(import_name)
        self._answer = answer

    def route(self, path: str, answer: Optional[Callable[[Problem], Response]] = None, **kwargs: Any):
        register = super().route(path, **kwargs)
        answer = answer or self._answer

        def decorate(view):
            @functools.wraps(view)
            def answering(*args, **kw):
                try:
                    return view(*args, **kw)
                except Problem as problem:
                    return answer(problem)
            return register(answering)
        return decorate


def see_other(request, path: str, **headers: str) -> Response:
    """303 to `path` of this app (under its base URL), never cached; `headers` e.g. a Set-Cookie."""
    return Response(status_code=303, body="", headers={"Location": base_url(request) + path,
                                                       "Cache-Control": "no-store", **headers})


def html(page: Page) -> Response:
    """Any HTML page of the app (survey pages, sign-in, dashboard) under the strict headers, with a
    fresh nonce for its inline style and script."""
    nonce = secrets.token_urlsafe(16)
    body = render(page.template, nonce=nonce, company=get_settings().company_name, **page.context)
    return Response(status_code=page.status, body=body, headers=_page_headers(nonce, page.language))


def empty_html() -> Response:
    """200 with no body under the pages' headers (a HEAD, the honeypot link)."""
    return Response(status_code=200, body="", headers=_page_headers(secrets.token_urlsafe(8)))


def _page_headers(nonce: str, language: str = i18n.SOURCE_LANGUAGE) -> dict:
    """Pages carry a strict Content-Security-Policy (no third-party anything, one inline script by
    nonce), never leak a token in a Referer, and are never cached or indexed."""
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Language": language,
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; connect-src 'self'; "
            "form-action 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow",
        "X-Content-Type-Options": "nosniff",
    }


# --- reading requests ----------------------------------------------------------------------------

def json_body(request, model: type[M]) -> M:
    return validate(model, _parse_json(request))


def json_object(request) -> dict:
    """An optional JSON object body: empty means {}."""
    data = _parse_json(request) if request.raw_body else {}
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", [{"field": "body", "message": "must be a JSON object"}])
    return data


def form_body(request, model: type[M]) -> M:
    """A form post (url-encoded, multipart) or JSON, whichever the browser sent."""
    content_type = (request.headers.get("content-type") or "").lower()
    if content_type.startswith("application/json"):
        return json_body(request, model)
    return validate(model, form_fields(request, getattr(model, "FORM_LISTS", ())))


def form_fields(request, lists: tuple[str, ...] = ()) -> dict:
    """A browser's form post (url-encoded or multipart) as a dict; a field given twice keeps its last
    value, but the fields named in `lists` (checkboxes) keep every value, as a list.
    Not UTF-8, or not a form: InvalidInput naming `body` (error "invalid_form"), never a garbled value."""
    content_type = (request.headers.get("content-type") or "").lower()
    raw = _raw(request)
    try:
        if content_type.startswith("multipart/form-data"):
            found = _multipart(raw, content_type)
        else:
            found = parse_qs(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
        return {name: values if name in lists else values[-1] for name, values in found.items()}
    except UnicodeError:  # the bytes, or a %-escape in them, are not UTF-8: our pages send only UTF-8
        raise _form_problem("invalid_utf8", "must be UTF-8") from None
    except (LookupError, ValueError):  # multipart parts with an unknown charset, or garbage
        raise _form_problem("invalid_form", "must be a form post (url-encoded or multipart)") from None


def query(request, model: type[M]) -> M:
    """The query string, validated by `model` (a parameter given twice counts with its last value);
    a value that is very long or holds control characters is refused naming its parameter."""
    params = request.query_params or {}
    values = {name: params.get(name) for name in params}
    for name, value in values.items():
        field = name[:64] or "query"  # "?=x" has a parameter without a name
        if len(value) > MAX_PARAM_CHARS:
            raise bad_field(field, f"must be at most {MAX_PARAM_CHARS} characters")
        if _CONTROL.search(name + value):
            raise bad_field(field, "must not hold control characters")
    return validate(model, values)


def principal(request) -> str:
    """Who is calling: the name of the API key the authorizer accepted."""
    authorizer = (request.context or {}).get("authorizer") or {}
    return authorizer.get("principalId") or "api"


def client_ip(request) -> str:
    """Who is asking, for per-client limits: the source IP API Gateway saw (chalice local gives one
    too). Never X-Forwarded-For: the client writes that header itself."""
    identity = (request.context or {}).get("identity") or {}
    return identity.get("sourceIp") or "unknown"


def base_url(request) -> str:
    """Where this request reached the app, to build survey links when no public_url is set."""
    headers = request.headers
    host = headers.get("host", "127.0.0.1:8000")
    scheme = headers.get("x-forwarded-proto", "https" if host.endswith("amazonaws.com") else "http")
    stage = (request.context or {}).get("stage", "")
    # API Gateway's own host name carries the stage in the path; a custom domain or chalice local does not.
    prefix = f"/{stage}" if stage and host.endswith("amazonaws.com") else ""
    return f"{scheme}://{host}{prefix}"


def _parse_json(request) -> Any:
    return read_json(_raw(request))  # platform/validation.py: the one JSON reader, webhooks' too


def _raw(request) -> bytes:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(f"the body is larger than {MAX_BODY_BYTES} bytes",
                           [{"field": "body", "message": f"must be at most {MAX_BODY_BYTES} bytes",
                             "type": "body_too_large"}], error="body_too_large")
    return raw


def _form_problem(kind: str, message: str) -> InvalidInput:
    return InvalidInput(f"the form {message}", [{"field": "body", "message": message, "type": kind}],
                        error="invalid_form")


def _multipart(raw: bytes, content_type: str) -> dict[str, list[str]]:
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    fields: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields.setdefault(name, []).append(part.get_content() if part.get_content_maintype() == "text" else "")
    return fields
