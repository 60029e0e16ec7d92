"""Alerts link to their follow-up and show owner and deadline; webhook posts are signed when a
signing secret is configured, and the signature is the one docs/api.md tells receivers to check."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.followups import alerts, escalation
from chalicelib.platform import settings as config
from chalicelib.platform.clock import iso
from tests.functional.followups.test_escalation import detractor
from tests.repos import Repositories

SECRET = "whsec_functional_test_secret_42"


def header(headers: dict, name: str):
    """HTTP header names are case-insensitive."""
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


@pytest.fixture
def routing(stack, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_ROUTING", json.dumps({"teams": {"billing": {"owners": ["kim"], "sla_hours": 8}}}))
    config.reset_settings()


@pytest.fixture
def signing(stack, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_WEBHOOK_SIGNING_SECRET", SECRET)
    config.reset_settings()


def test_a_detractor_alert_links_to_its_follow_up_and_names_owner_and_deadline(api, stack, webhook, routing, clock):
    followup_id = detractor(api, stack, clock)
    followup = Repositories().followups.get(followup_id)
    survey = Repositories().surveys.get(followup.survey_id)
    link = f"{survey.base_url}/v1/followups/{followup_id}"
    assert followup.owner == "kim" and followup.due_at == followup.opened_at + timedelta(hours=8)

    (alert,), (slack,) = stack.alerts(), webhook.bodies
    for text in (alert["message"], slack["text"]):
        for needle in (link, "Owner: kim", f"Due: {iso(followup.due_at)}", "CSAT 1", "Nobody read my ticket",
                       "Sam", "billing", followup.interaction_id):
            assert needle in text, (needle, text)
    blocks = json.dumps(slack["blocks"])
    for needle in (link, "*Owner*\\nkim", f"*Due*\\n{iso(followup.due_at)}", "*Customer*\\nAda", "1 (CSAT)",
                   "Nobody read my ticket", "Sam", "billing", followup.interaction_id):
        assert needle in blocks, needle


def test_the_link_uses_the_public_url_when_one_is_configured(api, stack, webhook, clock, monkeypatch):
    followup_id = detractor(api, stack, clock)
    followup = Repositories().followups.get(followup_id)
    monkeypatch.setenv("CLOSELOOP_PUBLIC_URL", "https://support.example.com/closeloop/")
    config.reset_settings()
    assert alerts.followup_link(followup, config.get_settings()) == \
        f"https://support.example.com/closeloop/v1/followups/{followup_id}"
    assert f"https://support.example.com/closeloop/v1/followups/{followup_id}" in \
        alerts.alert_text(followup, config.get_settings())


def test_signed_alert_and_escalation_posts_verify_with_the_secret(api, stack, webhook, signing, clock):
    followup_id = detractor(api, stack, clock)
    clock.advance(timedelta(hours=25).total_seconds())
    assert escalation.escalate_overdue().escalated == [followup_id]

    assert len(webhook.raw) == 2  # the detractor alert, then the escalation (no escalation channel: fallback)
    for raw, headers in zip(webhook.raw, webhook.headers):
        signature = header(headers, "X-Closeloop-Signature")
        assert signature and signature.startswith("t=")
        t = int(signature.split(",")[0].removeprefix("t="))
        assert header(headers, "X-Closeloop-Timestamp") == str(t)
        # The receiver checks on receipt, i.e. at the app's time of sending.
        assert alerts.verify(raw, signature, SECRET, now=t + 2)
        assert not alerts.verify(raw, signature, "not-the-secret", now=t)
        assert not alerts.verify(raw.replace(b"CSAT 1", b"CSAT 5"), signature, SECRET, now=t)
        assert SECRET not in raw.decode() and all(SECRET not in value for value in headers.values())
    # Signed at the time of sending: the escalation a day after the alert.
    times = [int(header(h, "X-Closeloop-Timestamp")) for h in webhook.headers]
    assert times[1] == int(clock.now.timestamp()) and times[1] - times[0] >= 25 * 3600
    (_, escalation_signature) = [header(h, "X-Closeloop-Signature") for h in webhook.headers]
    assert not alerts.verify(webhook.raw[0], escalation_signature, SECRET, now=times[1])  # not interchangeable


def test_the_documented_snippet_verifies_a_real_post(api, stack, webhook, signing, clock):
    """The receiver code documented in docs/api.md, run against what the app actually sent."""
    from tests.conftest import ROOT

    guide = (ROOT / "docs" / "api.md").read_text()
    section = guide.split("## Webhook signatures", 1)[1]
    snippet = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(snippet, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own documentation

    detractor(api, stack, clock)
    (raw,), (headers,) = webhook.raw, webhook.headers
    signature = header(headers, "X-Closeloop-Signature")
    verify = namespace["verify_closeloop_signature"]
    now = clock.now.timestamp()
    assert verify(raw, signature, SECRET, now=now) is True
    assert verify(raw + b" ", signature, SECRET, now=now) is False
    assert verify(raw, signature, "not-the-secret", now=now) is False
    assert verify(raw, signature, SECRET, now=now + 301) is False
    assert verify(raw, signature, SECRET, now=now - 301) is False
    # It agrees with the app's own helper on the same input.
    assert alerts.verify(raw, signature, SECRET, now=now) is True


def test_without_a_secret_webhook_posts_carry_no_signature(api, stack, webhook, clock):
    detractor(api, stack, clock)
    (headers,) = webhook.headers
    assert header(headers, "X-Closeloop-Signature") is None and header(headers, "X-Closeloop-Timestamp") is None
