"""The helpdesks' own REST APIs, as the ticket write-back uses them: tags and one private note on a ticket.

One class per helpdesk (the shapes are those of each API reference; tests/fixtures/helpdesks/api-*.json
record them):
- Zendesk: `PUT /api/v2/tickets/{id}.json` with a private comment and `additional_tags` (added,
  never replacing the ticket's tags), one call; Basic auth `<email>/token:<api token>`.
- Freshdesk: `PUT /api/v2/tickets/{id}` replaces the tag list, so the ticket's tags are read first
  and ours added to them; then `POST /api/v2/tickets/{id}/notes` with `private: true`; Basic auth
  `<api key>:X`.
- Intercom: a tag is applied by id, so `POST /tags` (creates it, or answers the existing one) then
  `POST /conversations/{id}/tags`; then `POST /conversations/{id}/reply` with `message_type: note`;
  Bearer token and the `Intercom-Version` header.
Tags go before the note: they are idempotent, so a retry after a failure repeats no note.

Each `write` takes a `Transport` (method, path, JSON body -> JSON answer), so tests drive it with
recorded answers; `connect` builds the real one from the stage's settings and secrets.
"""
from __future__ import annotations

import base64
import html
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Optional

from chalicelib.platform import secrets as stage_secrets
from chalicelib.platform.settings import Settings

TIMEOUT_SECONDS = 10
Transport = Callable[[str, str, Optional[dict]], dict]


class HelpdeskRefused(Exception):
    """A 4xx (but 429): the helpdesk will refuse it again (unknown ticket, bad credentials)."""


class HelpdeskUnavailable(Exception):
    """A 5xx, 429, timeout or no connection: worth trying again later."""


class WritebackNotConfigured(Exception):
    """The stage has no URL or credentials for this helpdesk."""


def _path_id(ticket_id: str) -> str:
    return urllib.parse.quote(ticket_id, safe="")


def _html(note: str) -> str:
    """Freshdesk and Intercom take HTML: the customer's text is escaped, its lines kept."""
    return "<br>".join(html.escape(line) for line in note.split("\n"))


class ZendeskApi:
    name = "zendesk"

    @staticmethod
    def write(send: Transport, ticket_id: str, note: str, tags: list[str], settings: Settings) -> None:
        # A plain-text `body` (Zendesk renders it as text, never as HTML); public false: agents only.
        send("PUT", f"/api/v2/tickets/{_path_id(ticket_id)}.json",
             {"ticket": {"comment": {"body": note, "public": False}, "additional_tags": tags}})

    @staticmethod
    def headers(settings: Settings) -> dict:
        token = stage_secrets.secret("zendesk_api_token")
        if not (settings.zendesk_api_url and settings.zendesk_email and token):
            raise WritebackNotConfigured("zendesk write-back is not configured (API URL, email and API token)")
        basic = base64.b64encode(f"{settings.zendesk_email}/token:{token}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}


class FreshdeskApi:
    name = "freshdesk"

    @staticmethod
    def write(send: Transport, ticket_id: str, note: str, tags: list[str], settings: Settings) -> None:
        path = f"/api/v2/tickets/{_path_id(ticket_id)}"
        current = send("GET", path, None).get("tags") or []
        missing = [tag for tag in tags if tag not in current]
        if missing:
            send("PUT", path, {"tags": [*current, *missing]})
        send("POST", f"{path}/notes", {"body": _html(note), "private": True})

    @staticmethod
    def headers(settings: Settings) -> dict:
        key = stage_secrets.secret("freshdesk_api_key")
        if not (settings.freshdesk_api_url and key):
            raise WritebackNotConfigured("freshdesk write-back is not configured (API URL and API key)")
        return {"Authorization": "Basic " + base64.b64encode(f"{key}:X".encode()).decode()}


class IntercomApi:
    name = "intercom"

    @staticmethod
    def write(send: Transport, ticket_id: str, note: str, tags: list[str], settings: Settings) -> None:
        path, admin = f"/conversations/{_path_id(ticket_id)}", settings.intercom_admin_id
        for tag in tags:
            created = send("POST", "/tags", {"name": tag})
            send("POST", f"{path}/tags", {"id": str(created["id"]), "admin_id": admin})
        send("POST", f"{path}/reply", {"message_type": "note", "type": "admin", "admin_id": admin,
                                       "body": _html(note)})

    @staticmethod
    def headers(settings: Settings) -> dict:
        token = stage_secrets.secret("intercom_access_token")
        if not (settings.intercom_api_url and settings.intercom_admin_id and token):
            raise WritebackNotConfigured("intercom write-back is not configured (API URL, admin id and access token)")
        return {"Authorization": f"Bearer {token}", "Intercom-Version": settings.intercom_api_version}


APIS = {api.name: api for api in (ZendeskApi, FreshdeskApi, IntercomApi)}


def connect(api, settings: Settings) -> Transport:
    """The real transport to `api`'s helpdesk; raises WritebackNotConfigured first if it has no credentials."""
    # Each helpdesk's API base URL is its `<name>_api_url` setting.
    base, headers = getattr(settings, f"{api.name}_api_url").rstrip("/"), api.headers(settings)

    def send(method: str, path: str, body: Optional[dict]) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(base + path, data=data, method=method, headers={
            **headers, "Accept": "application/json", "Content-Type": "application/json", "User-Agent": "closeloop"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                answer = response.read()
        except urllib.error.HTTPError as error:
            # Only the status: an answer may echo what we sent, and the credentials stay out of errors.
            what = f"{api.name} answered HTTP {error.code} to {method} {path}"
            if error.code == 429 or error.code >= 500:
                raise HelpdeskUnavailable(what) from None
            raise HelpdeskRefused(what) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise HelpdeskUnavailable(f"{api.name} unreachable: {type(error).__name__}") from None
        try:
            return json.loads(answer) if answer.strip() else {}
        except ValueError:
            raise HelpdeskUnavailable(f"{api.name} answered something that is not JSON") from None

    return send
