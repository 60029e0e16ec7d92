"""The rules of secrets and their rotation windows, without AWS: what a stored value means, which
values are accepted when, the stored form of an API key, and where each stage reads its secrets."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from chalicelib.apikeys import keys as auth
from chalicelib.followups import alerts
from chalicelib.platform import secrets as stage_secrets
from chalicelib.platform import settings as config
from chalicelib.platform.clock import iso

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def env(monkeypatch):
    """The local way: CLOSELOOP_* variables, no parameter prefix, and no SSM client may be made."""
    from chalicelib.platform import aws

    monkeypatch.delenv("CLOSELOOP_SECRETS_PARAMETER_PREFIX", raising=False)
    for name in stage_secrets.NAMES:
        monkeypatch.delenv(f"CLOSELOOP_{name.upper()}", raising=False)

    def no_aws(service):
        raise AssertionError(f"an AWS client ({service}) was made")

    monkeypatch.setattr(aws, "client", no_aws)
    config.reset_settings()
    stage_secrets.reset()
    yield monkeypatch
    config.reset_settings()
    stage_secrets.reset()


def setenv(env, name: str, value: str) -> None:
    env.setenv(f"CLOSELOOP_{name.upper()}", value)
    config.reset_settings()


def test_a_plain_value_is_the_current_secret():
    value = stage_secrets.parse("zendesk_webhook_secret", "  s3cret \n")
    assert value.current == "s3cret" and value.previous == "" and value.accepted(T0) == ["s3cret"]
    assert stage_secrets.parse("zendesk_webhook_secret", "").accepted(T0) == []
    assert stage_secrets.parse("zendesk_webhook_secret", "{not json").current == "{not json"


def test_the_previous_secret_is_accepted_until_previous_until_and_not_at_it():
    value = stage_secrets.parse("zendesk_webhook_secret", json.dumps(
        {"current": "new", "previous": "old", "previous_until": iso(T0)}))
    assert value.accepted(T0 - timedelta(microseconds=1000)) == ["new", "old"]
    assert value.in_overlap(T0 - timedelta(seconds=1))
    assert value.accepted(T0) == ["new"] and not value.in_overlap(T0)
    assert stage_secrets.parse("x", stage_secrets.serialize(value)) == value


def test_without_a_window_end_the_previous_secret_is_never_accepted():
    value = stage_secrets.parse("zendesk_webhook_secret", json.dumps({"current": "new", "previous": "old"}))
    assert value.accepted(T0) == ["new"]
    assert stage_secrets.serialize(stage_secrets.Secret("only")) == "only"


@pytest.mark.parametrize("raw", [json.dumps({"previous": "leaky-value"}), json.dumps({"current": ["leaky-value"]}),
                                 json.dumps({"current": "leaky-value", "previous_until": "soon"}),
                                 json.dumps({"current": "leaky-value", "previous_until": "2026-11-24T10:00:00"}),
                                 json.dumps({"current": "leaky-value", "previous": 7})])
def test_a_malformed_rotation_value_is_refused_without_showing_it(raw):
    with pytest.raises(RuntimeError) as raised:
        stage_secrets.parse("api_key_pepper", raw)
    assert "api_key_pepper" in str(raised.value) and "leaky-value" not in str(raised.value)


def test_no_value_shows_in_a_repr():
    value = stage_secrets.Secret("current-value", "previous-value", T0)
    assert "current-value" not in repr(value) and "previous-value" not in repr(value)


def test_the_local_stage_reads_the_environment_and_makes_no_aws_client(env):
    assert stage_secrets.secret("zendesk_webhook_secret") == ""
    assert stage_secrets.accepted("zendesk_webhook_secret") == []
    setenv(env, "zendesk_webhook_secret", "from-the-environment")
    assert stage_secrets.accepted("zendesk_webhook_secret") == ["from-the-environment"]
    assert stage_secrets.refresh() is False  # nothing cached to refresh
    with pytest.raises(ValueError):
        stage_secrets.secret("not_a_secret")


def test_settings_never_show_a_secret_in_their_repr(env):
    for name in stage_secrets.NAMES:
        setenv(env, name, f"value-of-{name}")
    shown = repr(config.get_settings())
    assert all(f"value-of-{name}" not in shown for name in stage_secrets.NAMES)


@pytest.mark.parametrize("prefix, valid", [("/closeloop/dev/", True), ("/closeloop/dev", False),
                                           ("closeloop/dev/", False), ("", True), ("/a b/", False)])
def test_the_parameter_prefix_is_a_parameter_path_ending_in_a_slash(env, prefix, valid):
    env.setenv("CLOSELOOP_SECRETS_PARAMETER_PREFIX", prefix)
    config.reset_settings()
    if valid:
        assert config.get_settings().secrets_parameter_prefix == prefix
    else:
        with pytest.raises(RuntimeError):
            config.get_settings()


def test_each_deployed_stage_reads_the_secrets_the_bootstrap_makes_for_it():
    from ops.stack import names

    stages = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]
    for stage in ("dev", "prod"):
        assert stages[stage]["environment_variables"]["CLOSELOOP_SECRETS_PARAMETER_PREFIX"] == \
            names(stage).parameter_prefix == f"/closeloop/{stage}/"
    assert "CLOSELOOP_SECRETS_PARAMETER_PREFIX" not in stages["local"]["environment_variables"]
    # No secret value in config.json: none of the secrets is set there at all.
    text = (ROOT / ".chalice" / "config.json").read_text()
    assert all(f"CLOSELOOP_{name.upper()}" not in text for name in stage_secrets.NAMES)


def test_signing_with_several_secrets_gives_one_v1_each_current_first():
    body, t = b'{"text": "CSAT 1"}', 1_795_000_000
    header = alerts.sign_all(body, ["new", "old"], t)
    assert header == f"{alerts.sign(body, 'new', t)},v1={alerts.sign(body, 'old', t).split(',v1=')[1]}"
    assert alerts.verify(body, header, "new", now=t) and alerts.verify(body, header, "old", now=t)
    assert not alerts.verify(body, header, "other", now=t)
    assert alerts.sign_all(body, ["new"], t) == alerts.sign(body, "new", t)


# --- API keys ------------------------------------------------------------------------------

def test_without_a_pepper_a_key_is_stored_as_its_plain_sha256(env):
    assert auth.hash_key("cl_abc") == hashlib.sha256(b"cl_abc").hexdigest()
    assert auth.key_hashes("cl_abc") == [hashlib.sha256(b"cl_abc").hexdigest()]
    assert auth.hash_form(auth.hash_key("cl_abc")) == "current"


def test_with_a_pepper_a_key_is_stored_as_a_keyed_hash_naming_its_pepper(env):
    setenv(env, "api_key_pepper", "pepper-1")
    stored = auth.hash_key("cl_abc")
    assert stored.startswith(f"hmac-sha256:{auth.pepper_id('pepper-1')}:") and "pepper-1" not in stored
    assert stored != auth.hash_key("cl_abc", "pepper-2") and auth.pepper_id("pepper-1") != auth.pepper_id("pepper-2")
    assert auth.key_hashes("cl_abc") == [stored, hashlib.sha256(b"cl_abc").hexdigest()]
    assert auth.hash_form(stored) == "current" and auth.hash_form(hashlib.sha256(b"cl_abc").hexdigest()) == "unpeppered"


def test_during_a_pepper_rotation_a_key_is_looked_up_under_both_peppers_then_only_the_new(env):
    from chalicelib.platform import clock

    setenv(env, "api_key_pepper", json.dumps({"current": "pepper-2", "previous": "pepper-1",
                                              "previous_until": iso(T0)}))
    clock.set_now(T0 - timedelta(seconds=1))
    try:
        plain = hashlib.sha256(b"cl_abc").hexdigest()
        assert auth.key_hashes("cl_abc") == [auth.hash_key("cl_abc", "pepper-2"), auth.hash_key("cl_abc", "pepper-1"),
                                             plain]
        assert auth.hash_form(auth.hash_key("cl_abc", "pepper-1")) == "previous"
        clock.set_now(T0)
        assert auth.key_hashes("cl_abc") == [auth.hash_key("cl_abc", "pepper-2"), plain]
        assert auth.hash_form(auth.hash_key("cl_abc", "pepper-1")) == "retired"
    finally:
        clock.set_now(None)
