"""A small fake of each helpdesk's API, for the ticket write-back (chalicelib/integrations/ticket_apis.py).

One HTTP server answers the three APIs under their own prefix (`/zendesk`, `/freshdesk`,
`/intercom`, the local stage's `CLOSELOOP_<HELPDESK>_API_URL`) as the real ones answer the calls
the write-back makes (shapes as recorded in tests/fixtures/helpdesks/api-*-writeback.json), keeps
every call, and hands each note with its tags to `on_note` (the outbox shows it as channel
"helpdesk"; a Freshdesk note's tags are the ticket's closeloop_ tags, as its API sets the whole list).
Tests make it refuse: `known_tickets` (others answer 404) and `fail_next` (statuses
to answer first, e.g. [503]). Dev tooling: not part of the deployed app.
"""
from __future__ import annotations

import html
import json
import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Callable, Optional

from devstack.servers import BurstHTTPServer

NoteSink = Callable[[str, str, str, list[str]], None]   # helpdesk, ticket id, note (text), tags

_NOT_FOUND = {
    "zendesk": {"error": "RecordNotFound", "description": "Not found"},
    "freshdesk": {"code": "access_denied", "message": "You are not authorized to perform this action."},
    "intercom": {"type": "error.list", "errors": [{"code": "not_found", "message": "Conversation Not Found"}]},
}


def plain(note_html: str) -> str:
    """An HTML note (Freshdesk, Intercom) as the text it shows."""
    return html.unescape(note_html.replace("<br>", "\n"))


class FakeHelpdesks:
    def __init__(self, on_note: Optional[NoteSink] = None, host: str = "127.0.0.1", port: int = 0):
        self.calls: list[dict] = []            # {"helpdesk", "method", "path", "headers", "body"}
        self.notes: list[dict] = []            # {"helpdesk", "ticket", "text", "tags"}
        self.known_tickets: Optional[set[str]] = None
        self.fail_next: list[int] = []
        self._on_note = on_note
        self._tags: dict[tuple[str, str], list[str]] = {}        # the tags each ticket carries
        self._pending: dict[str, list[str]] = {}                 # Intercom: tagged since the last note
        self._tag_ids: dict[str, str] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                fake._handle(self)

            def do_PUT(self):  # noqa: N802
                fake._handle(self)

            def do_POST(self):  # noqa: N802
                fake._handle(self)

            def log_message(self, *args):
                pass

        self.server = BurstHTTPServer((host, port), Handler)
        self.base = f"http://{host}:{self.server.server_address[1]}"

    def url(self, helpdesk: str) -> str:
        return f"{self.base}/{helpdesk}"

    def start(self) -> "FakeHelpdesks":
        threading.Thread(target=self.server.serve_forever, daemon=True, name="fake-helpdesks").start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the APIs ---------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        raw = request.rfile.read(int(request.headers.get("content-length") or 0))
        helpdesk, _, path = request.path.lstrip("/").partition("/")
        path = "/" + path.split("?", 1)[0]
        body = json.loads(raw) if raw.strip() else None
        with self._lock:
            self.calls.append({"helpdesk": helpdesk, "method": request.command, "path": path,
                               "headers": dict(request.headers.items()), "body": body})
            status, answer = self._answer(helpdesk, request.command, path, body, request.headers)
        data = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _answer(self, helpdesk: str, method: str, path: str, body, headers) -> tuple[int, dict]:
        if self.fail_next:
            return self.fail_next.pop(0), {"error": "unavailable"}
        if helpdesk not in _NOT_FOUND:
            return 404, {"error": "no such helpdesk"}
        if not headers.get("authorization"):
            return 401, {"error": "Couldn't authenticate you"}
        ticket = _ticket_of(helpdesk, path)
        if ticket is not None and self.known_tickets is not None and ticket not in self.known_tickets:
            return 404, _NOT_FOUND[helpdesk]
        route = getattr(self, f"_{helpdesk}")
        return route(method, path, ticket, body or {})

    def _zendesk(self, method, path, ticket, body) -> tuple[int, dict]:
        if method != "PUT" or ticket is None:
            return 404, _NOT_FOUND["zendesk"]
        update = body.get("ticket", {})
        added = update.get("additional_tags", [])
        tags = self._add_tags("zendesk", ticket, added)
        comment = update.get("comment") or {}
        if comment.get("body"):
            self._note("zendesk", ticket, comment["body"], added)
        return 200, {"ticket": {"id": int(ticket) if ticket.isdigit() else ticket, "tags": tags},
                     "audit": {"ticket_id": ticket, "events": [{"type": "Comment", "body": comment.get("body"),
                                                               "public": comment.get("public", True)}]}}

    def _freshdesk(self, method, path, ticket, body) -> tuple[int, dict]:
        if ticket is None:
            return 404, _NOT_FOUND["freshdesk"]
        if path.endswith("/notes") and method == "POST":
            ours = [t for t in self._tags.get(("freshdesk", ticket), []) if t.startswith("closeloop_")]
            self._note("freshdesk", ticket, plain(body.get("body", "")), ours)
            return 201, {"id": len(self.notes), "ticket_id": ticket, "private": body.get("private", False),
                         "body": body.get("body")}
        if method == "PUT":
            self._tags[("freshdesk", ticket)] = list(body.get("tags", []))
        return 200, {"id": ticket, "tags": self._tags.get(("freshdesk", ticket), [])}

    def _intercom(self, method, path, ticket, body) -> tuple[int, dict]:
        if path == "/tags" and method == "POST":
            name = body.get("name", "")
            tag_id = self._tag_ids.setdefault(name, str(17500 + len(self._tag_ids)))
            return 200, {"type": "tag", "id": tag_id, "name": name}
        if ticket is None:
            return 404, _NOT_FOUND["intercom"]
        if path.endswith("/tags"):
            name = next((n for n, i in self._tag_ids.items() if i == str(body.get("id"))), None)
            if name is None:
                return 404, {"type": "error.list", "errors": [{"code": "not_found", "message": "Tag not found"}]}
            self._pending.setdefault(ticket, []).append(name)
            self._add_tags("intercom", ticket, [name])
            return 200, {"type": "tag", "id": str(body["id"]), "name": name}
        if path.endswith("/reply") and body.get("message_type") == "note":
            self._note("intercom", ticket, plain(body.get("body", "")), self._pending.pop(ticket, []))
            return 200, {"type": "conversation", "id": ticket, "state": "closed"}
        return 404, _NOT_FOUND["intercom"]

    def _add_tags(self, helpdesk: str, ticket: str, added: list[str]) -> list[str]:
        tags = self._tags.setdefault((helpdesk, ticket), [])
        tags.extend(t for t in added if t not in tags)
        return tags

    def _note(self, helpdesk: str, ticket: str, text: str, tags: list[str]) -> None:
        self.notes.append({"helpdesk": helpdesk, "ticket": ticket, "text": text, "tags": list(tags)})
        if self._on_note:
            self._on_note(helpdesk, ticket, text, list(tags))


def _ticket_of(helpdesk: str, path: str) -> Optional[str]:
    pattern = {"zendesk": r"/api/v2/tickets/([^/]+?)\.json", "freshdesk": r"/api/v2/tickets/([^/]+)(?:/notes)?",
               "intercom": r"/conversations/([^/]+)/(?:tags|reply)"}.get(helpdesk)
    match = re.fullmatch(pattern, path) if pattern else None
    return match.group(1) if match else None
