"""Done-when of the recovery loop on the running local stack: a detractor's follow-up is claimed
and resolved through the API, the re-survey arrives in the outbox (the local stage waits 20 s),
the customer answers it as a promoter, and /v1/followups/stats reports the recovery."""
from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import requests

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _score_links(text: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d+) - [^:]+: (\S+)$", text, re.M)}


def _answer(link: str) -> None:
    """What a person's browser does: open the score link, stay, and the page confirms by itself."""
    page = requests.get(link, headers={"User-Agent": BROWSER}, timeout=10)
    assert page.status_code == 200
    open_id = re.search(r'name="open_id" value="([^"]+)"', page.text).group(1)
    time.sleep(3.5)
    confirmed = requests.post(link, json={"open_id": open_id}, timeout=10,
                              headers={"User-Agent": BROWSER, "Content-Type": "application/json"})
    assert confirmed.json()["recorded"] is True, confirmed.text


def test_a_resolved_detractor_is_resurveyed_in_the_outbox_and_stats_report_the_recovery(local_stack):
    stack = local_stack
    start = datetime.now(timezone.utc) - timedelta(seconds=2)
    address = f"r{uuid.uuid4().hex[:8]}@example.com"
    accepted = stack.post_interaction(interaction_id=f"rec-{uuid.uuid4().hex[:8]}", survey="csat",
                                      customer={"id": f"cus_{address[:9]}", "email": address, "name": "Ada"},
                                      agent={"id": "agt_7", "name": "Sam"}, team="billing")
    survey_id = accepted["survey_id"]
    first = stack.message_to(address)
    _answer(_score_links(first["text"])[1])

    followup_url = f"{stack.app_url}/v1/followups/fu_{survey_id}"
    stack.wait_for(lambda: requests.get(followup_url, headers=stack.headers, timeout=5).status_code == 200,
                   timeout=30, what="the follow-up")
    for change in ({"status": "claimed", "owner": "sam"}, {"status": "resolved"}):
        response = requests.patch(followup_url, json=change, headers=stack.headers, timeout=10)
        assert response.status_code == 200, response.text

    def resurvey():
        return next((m for m in stack.outbox() if m["channel"] == "email" and address in m["to"]
                     and (m["headers"] or {}).get("X-Closeloop-Survey") not in (None, survey_id)), None)

    mail = stack.wait_for(resurvey, timeout=45, what="the re-survey in the outbox")
    assert "Was your issue resolved?" in mail["text"] and "resolved" in mail["subject"].lower()
    assert sorted(_score_links(mail["text"])) == [1, 2, 3, 4, 5]
    _answer(_score_links(mail["text"])[5])

    stack.wait_for(lambda: requests.get(followup_url, headers=stack.headers, timeout=5).json().get("recovered"),
                   timeout=20, what="the recovery recorded on the follow-up")
    followup = requests.get(followup_url, headers=stack.headers, timeout=5).json()
    assert followup["status"] == "resolved" and followup["resurvey_score"] == 5

    end = datetime.now(timezone.utc) + timedelta(seconds=1)
    stats = requests.get(f"{stack.app_url}/v1/followups/stats", params={"from": _iso(start), "to": _iso(end)},
                         headers=stack.headers, timeout=10)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["total"] == 1 and body["by_status"]["resolved"] == 1
    assert body["recovery"] == {"resolved": 1, "resurveyed": 1, "recovered": 1, "rate": 1.0}
    # Only one detractor alert: the re-survey answer opened nothing new.
    alerts = [m for m in stack.outbox() if m["channel"] == "alert" and survey_id in (m["text"] or "")]
    assert len(alerts) == 1
