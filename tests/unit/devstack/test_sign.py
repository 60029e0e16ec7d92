"""`python -m devstack.sign`: what it sends passes the app's own checks, and may be sent again."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from chalicelib.integrations import webhooks as helpdesks
from devstack.sign import as_new_delivery, signed_headers

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "helpdesks"
SECRET = "local-secret-0123456789"
NOW = datetime(2026, 11, 24, 10, 0, 5, tzinfo=timezone.utc)
FILES = {"zendesk": "zendesk-solved.json", "intercom": "intercom-closed.json", "freshdesk": "freshdesk-resolved.json"}


def _sent(product: str, now: datetime = NOW) -> tuple[bytes, dict]:
    raw = as_new_delivery(product, (FIXTURES / FILES[product]).read_bytes(), now)
    return raw, {k.lower(): v for k, v in signed_headers(product, raw, SECRET, now).items()}


@pytest.mark.parametrize("product", sorted(FILES))
def test_a_signed_fixture_passes_verification_and_the_freshness_check(product):
    adapter = helpdesks.ADAPTERS[product]
    raw, headers = _sent(product)
    adapter.verify(headers, raw, SECRET, NOW + timedelta(seconds=2))
    adapter.check_fresh(json.loads(raw), NOW + timedelta(seconds=2))
    assert adapter.to_event(json.loads(raw)).kind == "solved"
    with pytest.raises(helpdesks.Refused):
        adapter.verify(headers, raw, "another-secret", NOW)


def test_zendesk_headers_are_the_documented_ones():
    _, headers = _sent("zendesk")
    assert headers["x-zendesk-webhook-signature-timestamp"] == "2026-11-24T10:00:05Z"
    assert set(headers) == {"content-type", "x-zendesk-webhook-signature", "x-zendesk-webhook-signature-timestamp"}


@pytest.mark.parametrize("product", sorted(FILES))
def test_each_send_is_a_new_delivery_not_a_replay(product):
    adapter = helpdesks.ADAPTERS[product]
    keys = set()
    # Zendesk's timestamp header has whole seconds, as Zendesk sends it; the others are finer.
    for now in (NOW, NOW + (timedelta(seconds=1) if product == "zendesk" else timedelta(milliseconds=1))):
        raw, headers = _sent(product, now)
        keys.add(adapter.delivery_key(headers, json.loads(raw)))
    assert len(keys) == 2


def test_a_body_that_is_not_a_json_object_is_sent_unchanged():
    assert as_new_delivery("intercom", b"not json", NOW) == b"not json"
    assert as_new_delivery("freshdesk", b"[1]", NOW) == b"[1]"
