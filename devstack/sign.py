"""Play a helpdesk against the running `make run` stack: sign a webhook body and post it.

  python -m devstack.sign zendesk tests/fixtures/helpdesks/zendesk-solved.json
  python -m devstack.sign intercom tests/fixtures/helpdesks/intercom-closed.json
  python -m devstack.sign freshdesk tests/fixtures/helpdesks/freshdesk-resolved.json

The secret is this start's, from .cache/devstack.json; the headers are the product's own, made by
chalicelib/integrations/ (the code that verifies them), dated now. What a real delivery stamps anew
is stamped anew, so the same file can be sent again: Intercom's notification `id` and
`created_at`, Freshdesk's `ticket.updated_at` (Zendesk's signature changes with its timestamp).
--as-is sends the file's bytes unchanged instead (an Intercom fixture is then refused as stale,
a second Freshdesk post as a replay). Prints the app's answer; exits 1 unless it is a 2xx.

  python -m devstack.sign slack FOLLOWUP_ID --action claim|contacted|resolved [--user-id U024BE7LH]

plays Slack: a lead pressing a button of the follow-up's detractor message (the block_actions
fixture in tests/fixtures/slack/), signed with the stack's Slack signing secret; its response_url
points at the outbox, where the updated message lands as channel "webhook".
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional
from urllib.parse import urlencode

from devstack import HELPDESK_SECRETS, SLACK_SECRET, STATE_FILE

SLACK_FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "slack" / "block_actions.json"


def as_new_delivery(product: str, raw: bytes, now: datetime) -> bytes:
    """The body with what the helpdesk sets on each delivery set anew; anything that is not a
    JSON object is returned unchanged (the app's 400 is then the point)."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(payload, dict):
        return raw
    if product == "intercom":
        payload["id"] = f"notif_{uuid.uuid4()}"
        payload["created_at"] = int(now.timestamp())
        if "first_sent_at" in payload:
            payload["first_sent_at"] = payload["created_at"]
    elif product == "freshdesk" and isinstance(payload.get("ticket"), dict):
        # Finer than a second: two sends within one must not share a delivery key.
        payload["ticket"]["updated_at"] = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(payload, indent=2).encode()


def signed_headers(product: str, raw: bytes, secret: str, now: Optional[datetime] = None) -> dict:
    """The headers the product would send with `raw`, signed with `secret` at `now`."""
    from chalicelib.integrations import ADAPTERS

    return {"Content-Type": "application/json",
            **ADAPTERS[product].signed_headers(secret, raw, now or datetime.now(timezone.utc))}


def post(base_url: str, product: str, raw: bytes, secret: str, timeout: float = 10) -> tuple[int, str]:
    """POST the signed body to <base_url>/v1/webhooks/<product>; returns (status, body)."""
    request = urllib.request.Request(f"{base_url.rstrip('/')}/v1/webhooks/{product}", data=raw, method="POST",
                                     headers=signed_headers(product, raw, secret))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def slack_body(followup_id: str, action: str, response_url: str, now: datetime, user_id: Optional[str] = None,
               username: Optional[str] = None) -> bytes:
    """The form Slack posts when `action` (claim, contacted, resolved) is pressed on the follow-up's
    message: the recorded block_actions payload with this press's button, user and response_url."""
    payload = json.loads(SLACK_FIXTURE.read_text())
    payload["actions"][0].update(action_id=f"closeloop_{action}", value=followup_id, action_ts=f"{now.timestamp():.6f}",
                                 block_id=f"closeloop_{followup_id}", text={"type": "plain_text",
                                                                           "text": action.capitalize(), "emoji": True})
    payload["response_url"] = response_url
    if user_id:
        payload["user"]["id"] = user_id
    if username:
        payload["user"].update(username=username, name=username)
    return urlencode({"payload": json.dumps(payload)}).encode()


def slack_headers(raw: bytes, secret: str, now: Optional[datetime] = None) -> dict:
    """The headers Slack sends with `raw`, signed with `secret` at `now`."""
    from chalicelib.integrations import slack_signed_headers

    return slack_signed_headers(secret, raw, now or datetime.now(timezone.utc))


def _slack_main(argv: list[str]) -> int:
    from devstack.outbox import SLACK_RESPONSE_PATH

    parser = argparse.ArgumentParser(prog="python -m devstack.sign slack",
                                     description="press a button of a detractor's Slack message")
    parser.add_argument("followup_id")
    parser.add_argument("--action", choices=["claim", "contacted", "resolved"], required=True)
    parser.add_argument("--user-id", help="the presser's Slack user id (a lead linked with `ops leads link-slack`)")
    parser.add_argument("--username", help="the presser's Slack username (recorded when no lead is linked)")
    parser.add_argument("--url", help="the app's base URL (default: the running stack's)")
    parser.add_argument("--outbox", default="http://127.0.0.1:8001", help="where the response_url points")
    args = parser.parse_args(argv)
    environment = local_stack()
    base_url = (args.url or environment.get("CLOSELOOP_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
    now = datetime.now(timezone.utc)
    raw = slack_body(args.followup_id, args.action, args.outbox.rstrip("/") + SLACK_RESPONSE_PATH, now,
                     args.user_id, args.username)
    request = urllib.request.Request(f"{base_url}/v1/slack/actions", data=raw, method="POST",
                                     headers=slack_headers(raw, environment.get(SLACK_SECRET, ""), now))
    print(f"POST {base_url}/v1/slack/actions ({args.action} on {args.followup_id}, signed as Slack signs)")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode("utf-8", "replace")
    except OSError as error:
        sys.exit(f"cannot reach {base_url}: {getattr(error, 'reason', error)}")
    print(status, body or "(acknowledged; the message update arrives in the outbox)", sep="\n")
    return 0 if 200 <= status < 300 else 1


def local_stack() -> dict:
    """The running stack's settings (.cache/devstack.json), or exit with a hint."""
    try:
        return json.loads(STATE_FILE.read_text())["environment"]
    except FileNotFoundError:
        sys.exit("the local stack is not running: start it with `make run`")


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["slack"]:
        return _slack_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m devstack.sign", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("product", choices=sorted(HELPDESK_SECRETS))
    parser.add_argument("file", help="the webhook body (JSON), e.g. a file in tests/fixtures/helpdesks/; - for stdin")
    parser.add_argument("--as-is", action="store_true", help="send the file's bytes unchanged")
    parser.add_argument("--url", help="the app's base URL (default: the running stack's)")
    args = parser.parse_args(argv)

    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as error:
        sys.exit(f"cannot read {args.file}: {error.strerror}")
    environment = local_stack()
    secret = environment.get(HELPDESK_SECRETS[args.product])
    if not secret:
        sys.exit(f"the running stack has no {args.product} secret: restart it with `make run`")
    base_url = args.url or environment.get("CLOSELOOP_PUBLIC_URL") or "http://127.0.0.1:8000"
    if not args.as_is:
        raw = as_new_delivery(args.product, raw, datetime.now(timezone.utc))
    print(f"POST {base_url.rstrip('/')}/v1/webhooks/{args.product} (signed with this stack's {args.product} secret)")
    try:
        status, body = post(base_url, args.product, raw, secret)
    except OSError as error:
        sys.exit(f"cannot reach {base_url}: {getattr(error, 'reason', error)}")
    try:
        body = json.dumps(json.loads(body), indent=2)
    except ValueError:
        pass
    print(status, body, sep="\n")
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
