"""`make run`'s local stack keeps CONTRACT.md's promises: outbox format, auth, a clean stop."""
from __future__ import annotations

import re
import socket
import uuid
from pathlib import Path

import requests

from tests.e2e.conftest import LocalStack

OUTBOX_FIELDS = {"id", "channel", "to", "subject", "text", "html", "headers", "sent_at"}


def test_outbox_json_lists_sent_messages_oldest_first_with_the_contract_fields(local_stack):
    address = f"o{uuid.uuid4().hex[:8]}@example.com"
    local_stack.post_interaction(interaction_id=f"ob-{uuid.uuid4().hex[:8]}",
                                 customer={"id": f"cus_{address[:9]}", "email": address})
    email = local_stack.message_to(address)
    messages = local_stack.outbox()
    assert all(OUTBOX_FIELDS <= set(m) for m in messages)
    assert [m["sent_at"] for m in messages] == sorted(m["sent_at"] for m in messages)
    assert email["to"] == address and email["subject"] and email["html"]
    assert isinstance(email["headers"], dict) and email["headers"].get("Auto-Submitted") == "auto-generated"
    page = requests.get(local_stack.outbox_url + "/", timeout=5).text
    assert address in page and 'href="/outbox.json"' in page


def test_v1_routes_refuse_missing_and_wrong_keys_and_write_nothing(local_stack):
    body = {"interaction_id": f"auth-{uuid.uuid4().hex[:8]}", "customer": {"id": "c", "email": "x@example.com"}}
    url = local_stack.app_url + "/v1/interactions"
    assert requests.post(url, json=body, timeout=5).status_code in (401, 403)
    assert requests.post(url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code in (401, 403)
    assert not [m for m in local_stack.outbox() if m["to"] == "x@example.com"]


def test_ctrl_c_stops_the_stack_and_leaves_no_process_behind():
    stack = LocalStack()
    assert stack.stop() == 0
    output = stack.output()
    dynamodb_port = int(re.search(r"DynamoDB Local at http://127.0.0.1:(\d+)", output).group(1))
    for port in (stack.port, stack.outbox_port, dynamodb_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
    java = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p).find(f"-port {dynamodb_port}") >= 0]
    assert not java


def _cmdline(process: Path) -> str:
    try:
        return (process / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
