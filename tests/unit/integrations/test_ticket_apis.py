"""Each helpdesk adapter of the write-back makes the calls its API reference describes, in order,
with the bodies recorded in tests/fixtures/helpdesks/api-*-writeback.json, and reads their answers;
its real transport authenticates as the helpdesk asks and tells a refusal from an outage."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from chalicelib.integrations.ticket_apis import (
    APIS, HelpdeskRefused, HelpdeskUnavailable, WritebackNotConfigured, _html, connect,
)
from chalicelib.platform import secrets as stage_secrets
from chalicelib.platform.settings import Settings, reset_settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "helpdesks"
NOTE = 'closeloop: CSAT response recorded\nScore: 2 (CSAT)\nComment: "<script>alert(1)</script>" & more'
SETTINGS = Settings(zendesk_api_url="https://acme.zendesk.com", zendesk_email="agent@example.com",
                    freshdesk_api_url="https://acme.freshdesk.com", intercom_admin_id="991267618")


def recorded(helpdesk: str) -> dict:
    return json.loads((FIXTURES / f"api-{helpdesk}-writeback.json").read_text())


def fill(value, tags: list[str], tag: str = ""):
    """A recorded request with its placeholders replaced: NOTE, HTML NOTE, TAGS (the list's), TAG."""
    if isinstance(value, dict):
        return {k: fill(v, tags, tag) for k, v in value.items()}
    if isinstance(value, list):
        return [x for item in value for x in (tags if item == "TAGS" else [fill(item, tags, tag)])]
    return {"NOTE": NOTE, "HTML NOTE": _html(NOTE), "TAG": tag}.get(value, value) if isinstance(value, str) else value


class Replay:
    """A transport that expects the recorded calls, in order, and answers each with its recorded answer."""

    def __init__(self, calls: list[dict]):
        self.expected, self.made = list(calls), []

    def __call__(self, method, path, body):
        self.made.append((method, path, body))
        call = self.expected.pop(0)
        assert (method, path, body) == (call["method"], call["path"], call["request"])
        return call["response"]


def test_zendesk_updates_the_ticket_with_a_private_comment_and_added_tags_in_one_call():
    tags = ["closeloop_csat_2", "closeloop_detractor"]
    calls = [{**c, "request": fill(c["request"], tags)} for c in recorded("zendesk")["calls"]]
    replay = Replay(calls)
    APIS["zendesk"].write(replay, "48213", NOTE, tags, SETTINGS)
    assert replay.expected == [] and len(replay.made) == 1
    body = replay.made[0][2]["ticket"]
    assert body["comment"]["public"] is False and body["comment"]["body"] == NOTE  # plain text, not HTML


def test_freshdesk_reads_the_tags_adds_ours_to_them_then_adds_a_private_note():
    tags = ["closeloop_csat_2", "closeloop_detractor"]
    calls = [{**c, "request": fill(c["request"], tags)} for c in recorded("freshdesk")["calls"]]
    replay = Replay(calls)
    APIS["freshdesk"].write(replay, "48213", NOTE, tags, SETTINGS)
    assert replay.expected == []
    note = replay.made[-1][2]
    assert note["private"] is True
    assert "&lt;script&gt;" in note["body"] and "<script>" not in note["body"] and "<br>" in note["body"]


def test_freshdesk_sends_no_tag_update_when_the_ticket_has_our_tags_already():
    calls = recorded("freshdesk")["calls"]
    answer = {**calls[0]["response"], "tags": ["billing", "closeloop_csat_2"]}
    replay = Replay([{**calls[0], "response": answer}, {**calls[2], "request": fill(calls[2]["request"], [])}])
    APIS["freshdesk"].write(replay, "48213", NOTE, ["closeloop_csat_2"], SETTINGS)
    assert [m for m, _, _ in replay.made] == ["GET", "POST"]


def test_intercom_creates_each_tag_applies_it_by_id_as_the_admin_then_adds_an_internal_note():
    calls = recorded("intercom")["calls"]
    tag = "closeloop_csat_2"
    replay = Replay([{**c, "request": fill(c["request"], [tag], tag),
                      "response": fill(c["response"], [tag], tag)} for c in calls])
    APIS["intercom"].write(replay, "147", NOTE, [tag], SETTINGS)
    assert replay.expected == []
    assert replay.made[1][2] == {"id": "17513", "admin_id": "991267618"}  # the id the first call answered
    assert replay.made[-1][2]["message_type"] == "note" and "&lt;script&gt;" in replay.made[-1][2]["body"]


def test_a_ticket_id_goes_into_the_path_quoted():
    replay = Replay([{"method": "PUT", "path": "/api/v2/tickets/a%3Ab.json",
                      "request": {"ticket": {"comment": {"body": NOTE, "public": False}, "additional_tags": []}},
                      "response": {}}])
    APIS["zendesk"].write(replay, "a:b", NOTE, [], SETTINGS)


@pytest.fixture
def fake(monkeypatch):
    from devstack.helpdesks import FakeHelpdesks

    fakes = FakeHelpdesks().start()
    for name, value in {"ZENDESK_API_URL": fakes.url("zendesk"), "ZENDESK_EMAIL": "agent@example.com",
                        "ZENDESK_API_TOKEN": "zd-secret-token", "FRESHDESK_API_URL": fakes.url("freshdesk"),
                        "FRESHDESK_API_KEY": "fd-secret-key", "INTERCOM_API_URL": fakes.url("intercom"),
                        "INTERCOM_ADMIN_ID": "991267618", "INTERCOM_ACCESS_TOKEN": "ic-secret-token"}.items():
        monkeypatch.setenv("CLOSELOOP_" + name, value)
    monkeypatch.delenv("CLOSELOOP_SECRETS_PARAMETER_PREFIX", raising=False)
    reset_settings()
    stage_secrets.reset()
    yield fakes
    fakes.stop()
    reset_settings()
    stage_secrets.reset()


def test_the_transport_authenticates_as_each_helpdesk_asks(fake):
    from chalicelib.platform.settings import get_settings

    for name in ("zendesk", "freshdesk", "intercom"):
        APIS[name].write(connect(APIS[name], get_settings()), "48213", "hello", ["closeloop_nps_9"], get_settings())
    auth = {c["helpdesk"]: c["headers"]["Authorization"] for c in fake.calls}
    assert base64.b64decode(auth["zendesk"].removeprefix("Basic ")) == b"agent@example.com/token:zd-secret-token"
    assert base64.b64decode(auth["freshdesk"].removeprefix("Basic ")) == b"fd-secret-key:X"
    assert auth["intercom"] == "Bearer ic-secret-token"
    assert all(c["headers"]["Intercom-Version"] for c in fake.calls if c["helpdesk"] == "intercom")
    assert [(n["helpdesk"], n["text"], n["tags"]) for n in fake.notes] == [
        ("zendesk", "hello", ["closeloop_nps_9"]), ("freshdesk", "hello", ["closeloop_nps_9"]),
        ("intercom", "hello", ["closeloop_nps_9"])]


@pytest.mark.parametrize("status, error", [(404, HelpdeskRefused), (401, HelpdeskRefused), (422, HelpdeskRefused),
                                           (429, HelpdeskUnavailable), (500, HelpdeskUnavailable),
                                           (503, HelpdeskUnavailable)])
def test_a_refusal_is_told_from_an_outage_and_no_credential_reaches_the_error(fake, status, error):
    from chalicelib.platform.settings import get_settings

    fake.fail_next = [status]
    with pytest.raises(error) as raised:
        APIS["zendesk"].write(connect(APIS["zendesk"], get_settings()), "48213", "hello", [], get_settings())
    assert f"HTTP {status}" in str(raised.value) and "zd-secret-token" not in str(raised.value)


def test_an_unreachable_helpdesk_is_an_outage(monkeypatch):
    settings = SETTINGS.model_copy(update={"zendesk_api_url": "http://127.0.0.1:9"})
    monkeypatch.setattr(stage_secrets, "secret", lambda name: "zd-secret-token")
    with pytest.raises(HelpdeskUnavailable):
        APIS["zendesk"].write(connect(APIS["zendesk"], settings), "48213", "hello", [], settings)


@pytest.mark.parametrize("name", ["zendesk", "freshdesk", "intercom"])
def test_a_helpdesk_without_credentials_is_not_configured(monkeypatch, name):
    monkeypatch.setattr(stage_secrets, "secret", lambda secret_name: "")
    with pytest.raises(WritebackNotConfigured):
        connect(APIS[name], SETTINGS)


@pytest.mark.parametrize("url", ["http://acme.zendesk.com", "https://acme.zendesk.com?x=1", "ftp://x", "acme"])
def test_an_api_url_must_be_https_unless_on_loopback(url):
    with pytest.raises(ValueError):
        Settings(zendesk_api_url=url)
    Settings(zendesk_api_url="http://127.0.0.1:8002/zendesk")
