"""`make run`: a signed Zendesk "ticket solved" webhook surveys the requester by email, with the
one-click unsubscribe (RFC 8058) in its headers; that unsubscribe suppresses the next ticket's
survey; a bad signature is refused and sends nothing.

A "reopened" event that cancels before the send is not tried here: the local stage sends at once
(CLOSELOOP_SEND_DELAY_SECONDS 0); tests/functional/integrations/test_helpdesk_webhooks.py covers it.
"""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import requests

from devstack.sign import signed_headers

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "helpdesks"


def _ticket(status_fixture: str, ticket_id: str, email: str) -> bytes:
    """The fixture as this ticket's, for a requester of its own: reruns never meet the throttle."""
    payload = json.loads((FIXTURES / status_fixture).read_text())
    payload["ticket"]["id"] = ticket_id
    payload["ticket"]["requester"].update(id=f"zd-user-{uuid.uuid4().hex[:10]}", email=email, phone="")
    return json.dumps(payload).encode()


def _zendesk(local_stack, raw: bytes, secret: str | None = None) -> requests.Response:
    headers = signed_headers("zendesk", raw, secret or local_stack.helpdesk_secrets["zendesk"])
    return requests.post(local_stack.app_url + "/v1/webhooks/zendesk", data=raw, headers=headers, timeout=10)


def _emails_to(local_stack, address: str) -> list[dict]:
    return [m for m in local_stack.outbox() if m["channel"] == "email" and m["to"] == address]


def _new_requester() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return str(int(tag, 16) % 10**9), f"zd{tag}@example.com"


def test_a_solved_ticket_surveys_by_email_and_its_one_click_unsubscribe_suppresses_the_next(local_stack):
    assert local_stack.helpdesk_secrets["zendesk"] in local_stack.output()  # the banner shows it
    ticket_id, address = _new_requester()

    answer = _zendesk(local_stack, _ticket("zendesk-solved.json", ticket_id, address))
    assert answer.status_code == 202, answer.text
    assert answer.json()["interaction_id"] == f"zd-{ticket_id}" and answer.json()["status"] == "scheduled"

    email = local_stack.message_to(address)
    url = re.fullmatch(r"<([^<>]+)>", email["headers"]["List-Unsubscribe"]).group(1)
    assert re.fullmatch(re.escape(local_stack.app_url) + r"/u/[A-Za-z0-9_-]+", url), url
    assert email["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Too late to cancel: the survey went at once.
    reopened = _zendesk(local_stack, _ticket("zendesk-reopened.json", ticket_id, address))
    assert reopened.status_code == 200 and reopened.json()["cancelled"] is False, reopened.text

    # What a mail client's one-click sends: a form-encoded POST, no cookies, no redirect followed.
    unsubscribed = requests.post(url, data="List-Unsubscribe=One-Click", allow_redirects=False, timeout=10,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsubscribed.status_code == 200 and "location" not in unsubscribed.headers, unsubscribed.text
    entry = requests.get(f"{local_stack.app_url}/v1/suppressions/email/{quote(address, safe='')}",
                         headers=local_stack.headers, timeout=10)
    assert entry.status_code == 200 and entry.json()["reason"] == "unsubscribed", entry.text

    next_id, _ = _new_requester()
    second = _zendesk(local_stack, _ticket("zendesk-solved.json", next_id, address))
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "suppressed" and second.json()["reason"].startswith("unsubscribed"), second.text
    assert local_stack.survey(second.json()["survey_id"])["status"] == "suppressed"
    _sentinel(local_stack)  # anything sent for the second ticket would be in the outbox by now
    assert len(_emails_to(local_stack, address)) == 1


def test_a_badly_signed_webhook_is_401_and_sends_nothing(local_stack):
    ticket_id, address = _new_requester()
    raw = _ticket("zendesk-solved.json", ticket_id, address)

    wrong_secret = _zendesk(local_stack, raw, secret="not-" + local_stack.helpdesk_secrets["zendesk"])
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "unauthorized", wrong_secret.text
    headers = signed_headers("zendesk", raw, local_stack.helpdesk_secrets["zendesk"])
    tampered = requests.post(local_stack.app_url + "/v1/webhooks/zendesk", data=raw.replace(b"Solved", b"solved"),
                             headers=headers, timeout=10)
    assert tampered.status_code == 401, tampered.text

    _sentinel(local_stack)
    assert _emails_to(local_stack, address) == []


def _sentinel(local_stack) -> None:
    """A signed ticket for another address, waited for: the jobs queue was worked past what came before."""
    ticket_id, address = _new_requester()
    answer = _zendesk(local_stack, _ticket("zendesk-solved.json", ticket_id, address))
    assert answer.status_code == 202, answer.text
    local_stack.message_to(address)
