"""`make run` runs the scheduled escalation: a follow-up made overdue shows up escalated in the outbox."""
from __future__ import annotations

import re
import time
import uuid

import requests

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"


def detractor(local_stack) -> tuple[str, str]:
    """A person opens the CSAT 1 link and stays on the page; returns (survey_id, interaction_id)."""
    address = f"e{uuid.uuid4().hex[:8]}@example.com"
    interaction_id = f"esc-{uuid.uuid4().hex[:10]}"
    created = local_stack.post_interaction(
        interaction_id=interaction_id, customer={"id": f"cus_{address[:9]}", "email": address, "name": "Grace"},
        agent={"id": "agt_7", "name": "Sam"}, team="returns")  # a team without owners: the follow-up waits for a claim
    email = local_stack.message_to(address)
    link = re.search(r"^1 - [^:]+: (\S+)$", email["text"], re.M).group(1)
    page = requests.get(link, headers={"User-Agent": BROWSER}, timeout=10)
    assert page.status_code == 200
    open_id = re.search(r'name="open_id" value="([^"]+)"', page.text).group(1)
    time.sleep(3.5)  # what the page's script waits while it is visible, before it confirms
    confirmed = requests.post(link, json={"open_id": open_id}, headers={"User-Agent": BROWSER}, timeout=10)
    assert confirmed.status_code == 200 and confirmed.json()["recorded"] is True, confirmed.text
    return created["survey_id"], interaction_id


def test_a_follow_up_made_overdue_is_escalated_once_in_the_outbox(local_stack):
    survey_id, interaction_id = detractor(local_stack)
    followup_id = f"fu_{survey_id}"
    url = f"{local_stack.app_url}/v1/followups/{followup_id}"
    local_stack.wait_for(lambda: requests.get(url, headers=local_stack.headers, timeout=5).status_code == 200,
                         timeout=20, what="the follow-up to be opened")

    patched = requests.patch(url, json={"due_at": "2020-01-01T00:00:00Z"}, headers=local_stack.headers, timeout=10)
    assert patched.status_code == 200, patched.text
    assert patched.json()["overdue"] is True

    def escalations():
        found = [m for m in local_stack.outbox()
                 if followup_id in (m["text"] or "") and "Overdue follow-up" in (m["text"] or "")]
        channels = sorted(m["channel"] for m in found)
        return found if channels == ["alert", "webhook"] else None

    alert, webhook = sorted(local_stack.wait_for(escalations, timeout=10, what="the escalation in the outbox"),
                            key=lambda m: m["channel"])
    assert "closeloop-local-escalations" in alert["to"] and followup_id in alert["subject"]
    for needle in ("unassigned", "returns", "2020-01-01T00:00:00.000Z", interaction_id, "CSAT 1",
                   f"{local_stack.app_url}/v1/followups/{followup_id}"):
        assert needle in alert["text"], needle
    assert webhook["to"].endswith("/webhooks/escalations")
    signature = webhook["headers"]["X-Closeloop-Signature"]
    assert re.fullmatch(r"t=(\d+),v1=[0-9a-f]{64}", signature)
    assert webhook["headers"]["X-Closeloop-Timestamp"] == signature[2:].split(",")[0]

    def marked():
        # The run sends first and marks the follow-up after: the outbox can show it a moment sooner.
        followup = requests.get(url, headers=local_stack.headers, timeout=5).json()
        return followup if followup["escalated_at"] else None

    escalated = local_stack.wait_for(marked, timeout=10, what="the follow-up to be marked escalated")
    assert escalated["history"][-1]["action"] == "escalated"

    time.sleep(5)  # the schedule ran twice more meanwhile: still one escalation on each channel
    assert len(escalations()) == 2
