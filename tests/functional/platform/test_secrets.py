"""Secrets from SSM Parameter Store (moto): read lazily in one call, cached for a short time,
rotated by `python -m ops secrets rotate` with an overlap window in which the old value still
works, and never shown in logs, errors or the command's output."""
from __future__ import annotations

import io
import json
import logging
import sys
from datetime import timedelta

import pytest

from chalicelib.apikeys import keys as auth
from chalicelib.contacts.model import SuppressionReason
from chalicelib.followups import alerts
from chalicelib.platform import aws
from chalicelib.platform import secrets as stage_secrets
from chalicelib.platform import settings as config
from chalicelib.platform.clock import iso
from chalicelib.surveys.model import ContactKind
from tests.conftest import API_KEY, REGION
from tests.functional.integrations.test_helpdesk_webhooks import answer, fixture, send, zendesk_headers
from tests.repos import Repositories

PREFIX = "/closeloop/test/"
OLD, NEW = "zendesk-old-signing-secret-1111", "zendesk-new-signing-secret-2222"


@pytest.fixture
def ssm(stack, monkeypatch):
    """The stage reads its secrets from SSM under PREFIX; no CLOSELOOP_* secret variable is set.
    Returns the operator's own SSM client, whose calls are not the app's and are not counted."""
    import boto3

    for name in stage_secrets.NAMES:
        monkeypatch.delenv(f"CLOSELOOP_{name.upper()}", raising=False)
    monkeypatch.setenv("CLOSELOOP_SECRETS_PARAMETER_PREFIX", PREFIX)
    config.reset_settings()
    stage_secrets.reset()
    return boto3.client("ssm", region_name=REGION)


@pytest.fixture
def calls(ssm):
    """The names of the SSM operations the app's own client makes (a botocore event hook)."""
    made = []
    aws.client("ssm").meta.events.register("before-parameter-build.ssm",
                                        lambda **kwargs: made.append(kwargs["model"].name))
    return made


@pytest.fixture
def ticks(monkeypatch):
    """The secrets cache's monotonic clock, moved by hand (no sleeping)."""
    now = [1000.0]
    monkeypatch.setattr(stage_secrets, "_ticks", lambda: now[0])
    return now


def put(ssm, name: str, value: str) -> None:
    ssm.put_parameter(Name=PREFIX + name, Value=value, Type="SecureString", Overwrite=True)


def stored(ssm, name: str) -> str:
    return ssm.get_parameter(Name=PREFIX + name, WithDecryption=True)["Parameter"]["Value"]


def run_ops(monkeypatch, capsys, *argv, stdin: str = "") -> tuple[int, str]:
    """`python -m ops --stage dev ...` against this test's stage (its settings are already in place)."""
    from ops import __main__ as ops_main

    monkeypatch.setattr(ops_main, "_use_stage", lambda stage: None)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = ops_main.main(["--stage", "dev", *argv])
    return code, capsys.readouterr().out


def zendesk(api, clock, ticket_id: str, secret: str):
    payload = fixture("zendesk-solved.json")
    payload["ticket"]["id"] = ticket_id
    body = json.dumps(payload).encode()
    return send(api, "zendesk", body, zendesk_headers(body, clock.now, secret=secret))


# --- reading -------------------------------------------------------------------------------

def test_nothing_is_read_until_a_secret_is_needed_then_all_in_one_call(api, ssm, calls, clock):
    put(ssm, "zendesk_webhook_secret", OLD)
    put(ssm, "freshdesk_webhook_secret", "fd-secret-3333")
    # A survey page needs no secret: serving one reads none.
    assert api.http.get("/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert calls == []
    assert zendesk(api, clock, "1001", OLD).status_code == 202
    assert calls == ["GetParameters"]
    assert stage_secrets.secret("freshdesk_webhook_secret") == "fd-secret-3333"
    assert stage_secrets.secret("webhook_signing_secret") == ""  # no parameter: not configured
    assert calls == ["GetParameters"]


def test_values_are_cached_for_secrets_cache_seconds_then_read_again(ssm, calls, ticks, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_SECRETS_CACHE_SECONDS", "300")
    config.reset_settings()
    put(ssm, "freshdesk_webhook_secret", "first-value-4444")
    assert stage_secrets.secret("freshdesk_webhook_secret") == "first-value-4444"
    put(ssm, "freshdesk_webhook_secret", "second-value-5555")
    ticks[0] += 299
    assert stage_secrets.accepted("freshdesk_webhook_secret") == ["first-value-4444"]
    assert calls == ["GetParameters"]
    ticks[0] += 2
    assert stage_secrets.secret("freshdesk_webhook_secret") == "second-value-5555"
    assert calls == ["GetParameters", "GetParameters"]
    assert stage_secrets.secret("freshdesk_webhook_secret") == "second-value-5555"
    assert len(calls) == 2


def test_a_missing_parameter_is_not_configured_and_that_is_cached_too(api, ssm, calls, clock):
    body = json.dumps(fixture("zendesk-solved.json")).encode()
    for _ in range(2):
        response = send(api, "zendesk", body, zendesk_headers(body, clock.now, secret=OLD))
        assert response.status_code == 404 and answer(response)["error"] == "not_configured"
    assert calls == ["GetParameters"]


def test_a_json_value_holds_the_previous_secret_until_its_window_ends(ssm, clock):
    until = clock.now + timedelta(hours=1)
    put(ssm, "intercom_client_secret", json.dumps({"current": "ic-new", "previous": "ic-old", "previous_until": iso(until)}))
    assert stage_secrets.secret("intercom_client_secret") == "ic-new"
    assert stage_secrets.accepted("intercom_client_secret") == ["ic-new", "ic-old"]
    clock.set(until - timedelta(seconds=1))
    assert stage_secrets.accepted("intercom_client_secret") == ["ic-new", "ic-old"]
    clock.set(until)
    assert stage_secrets.accepted("intercom_client_secret") == ["ic-new"]


def test_an_unreadable_rotation_value_fails_naming_the_secret_not_its_value(ssm):
    put(ssm, "webhook_signing_secret", json.dumps({"currnet": "typo-secret-6666"}))
    with pytest.raises(RuntimeError) as raised:
        stage_secrets.secret("webhook_signing_secret")
    assert "webhook_signing_secret" in str(raised.value) and "typo-secret-6666" not in str(raised.value)


def test_a_failed_read_keeps_the_values_read_before_and_tries_again_after_30_seconds(ssm, calls, ticks):
    from botocore.exceptions import ClientError

    put(ssm, "freshdesk_webhook_secret", "fd-value-1212")
    assert stage_secrets.secret("freshdesk_webhook_secret") == "fd-value-1212"

    def unavailable(**kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetParameters")

    aws.client("ssm").meta.events.register("before-call.ssm.GetParameters", unavailable)
    ticks[0] += 301
    assert stage_secrets.secret("freshdesk_webhook_secret") == "fd-value-1212"
    assert len(calls) == 2
    ticks[0] += 29
    assert stage_secrets.secret("freshdesk_webhook_secret") == "fd-value-1212"
    assert len(calls) == 2
    ticks[0] += 2
    assert stage_secrets.secret("freshdesk_webhook_secret") == "fd-value-1212"
    assert len(calls) == 3
    # A cold start with SSM unreachable has nothing to fall back on: it fails, naming no value.
    stage_secrets.reset()
    with pytest.raises(RuntimeError) as raised:
        stage_secrets.secret("freshdesk_webhook_secret")
    assert PREFIX in str(raised.value) and "ThrottlingException" in str(raised.value)
    assert "fd-value-1212" not in str(raised.value)


# --- rotation of an incoming signature's secret --------------------------------------------

def test_after_a_rotation_the_old_zendesk_secret_works_until_the_window_ends_then_401(api, ssm, clock, monkeypatch,
                                                                                     capsys):
    put(ssm, "zendesk_webhook_secret", OLD)
    assert zendesk(api, clock, "2001", OLD).status_code == 202

    code, out = run_ops(monkeypatch, capsys, "secrets", "rotate", "zendesk_webhook_secret",
                        "--overlap-hours", "24", "--value-from-stdin", stdin=NEW + "\n")
    until = clock.now + timedelta(hours=24)
    assert code == 0
    assert f"rotated {PREFIX}zendesk_webhook_secret" in out and iso(until) in out
    assert OLD not in out and NEW not in out
    assert json.loads(stored(ssm, "zendesk_webhook_secret")) == {"current": NEW, "previous": OLD,
                                                                 "previous_until": iso(until)}
    assert ssm.get_parameter(Name=PREFIX + "zendesk_webhook_secret")["Parameter"]["Type"] == "SecureString"

    # During the window the helpdesk may sign with either.
    # (2xx: a later ticket of the same requester may be 200 "suppressed" by the throttle.)
    assert zendesk(api, clock, "2002", OLD).status_code in (200, 202)
    assert zendesk(api, clock, "2003", NEW).status_code in (200, 202)
    clock.set(until - timedelta(seconds=1))
    assert zendesk(api, clock, "2004", OLD).status_code in (200, 202)
    # After it, the old secret is refused and the new one still works.
    clock.set(until)
    refused = zendesk(api, clock, "2005", OLD)
    assert refused.status_code == 401 and answer(refused)["error"] == "unauthorized"
    assert zendesk(api, clock, "2006", NEW).status_code in (200, 202)


def test_a_new_value_the_helpdesk_signs_with_at_once_is_not_refused_by_a_warm_cache(api, ssm, calls, ticks, clock):
    put(ssm, "zendesk_webhook_secret", OLD)
    assert zendesk(api, clock, "3001", OLD).status_code == 202
    assert calls == ["GetParameters"]
    # Another operator's process rotates the parameter; this warm Lambda's cache still holds OLD.
    put(ssm, "zendesk_webhook_secret", json.dumps({"current": NEW, "previous": OLD,
                                                   "previous_until": iso(clock.now + timedelta(hours=1))}))
    ticks[0] += 31
    assert zendesk(api, clock, "3002", NEW).status_code in (200, 202)
    assert calls == ["GetParameters", "GetParameters"]
    # A forged signature right after re-reads nothing (at most one re-read per 30 s) and is refused.
    assert zendesk(api, clock, "3003", "forged-secret").status_code == 401
    assert len(calls) == 2
    ticks[0] += 31
    assert zendesk(api, clock, "3004", "forged-secret").status_code == 401
    assert len(calls) == 3


def test_end_overlap_refuses_the_previous_value_at_once(api, ssm, clock, monkeypatch, capsys):
    put(ssm, "freshdesk_webhook_secret", "fd-old-7777")
    code, out = run_ops(monkeypatch, capsys, "secrets", "rotate", "freshdesk_webhook_secret")
    assert code == 0 and "X-Closeloop-Freshdesk-Secret" in out
    new = json.loads(stored(ssm, "freshdesk_webhook_secret"))["current"]
    assert len(new) >= 40 and new != "fd-old-7777" and new not in out
    assert stage_secrets.accepted("freshdesk_webhook_secret") == [new, "fd-old-7777"]
    code, out = run_ops(monkeypatch, capsys, "secrets", "end-overlap", "freshdesk_webhook_secret")
    assert code == 0 and "refused from now on" in out
    assert stored(ssm, "freshdesk_webhook_secret") == new
    assert stage_secrets.accepted("freshdesk_webhook_secret") == [new]


def test_show_status_names_what_is_set_and_open_windows_but_no_value(api, ssm, clock, monkeypatch, capsys):
    put(ssm, "zendesk_webhook_secret", OLD)
    run_ops(monkeypatch, capsys, "secrets", "rotate", "zendesk_webhook_secret", "--value-from-stdin", stdin=NEW)
    code, out = run_ops(monkeypatch, capsys, "secrets", "show-status")
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith(PREFIX)}
    assert code == 0 and set(lines) == {PREFIX + name for name in stage_secrets.NAMES}
    assert "previous value accepted until " + iso(clock.now + timedelta(hours=24)) in lines[PREFIX + "zendesk_webhook_secret"]
    assert "not configured" in lines[PREFIX + "intercom_client_secret"]
    assert OLD not in out and NEW not in out


def test_the_suppression_hash_key_is_not_rotated_without_force(ssm, monkeypatch, capsys):
    put(ssm, "suppression_hash_key", "hash-key-8888")
    with pytest.raises(SystemExit) as refused:
        run_ops(monkeypatch, capsys, "secrets", "rotate", "suppression_hash_key")
    assert "--force" in str(refused.value)
    assert stored(ssm, "suppression_hash_key") == "hash-key-8888"


def test_an_erased_contact_stays_suppressed_while_the_old_hash_key_is_accepted(api, ssm, clock, monkeypatch, capsys):
    from chalicelib.contacts import ledger as suppressions

    put(ssm, "suppression_hash_key", "hash-key-9999")
    suppressions.suppress(ContactKind.EMAIL, "ada@example.com", SuppressionReason.UNSUBSCRIBED, source="test")
    assert suppressions.hash_entry(ContactKind.EMAIL, "ada@example.com")  # an erasure keeps only the hash
    code, _ = run_ops(monkeypatch, capsys, "secrets", "rotate", "suppression_hash_key", "--force",
                      "--overlap-hours", "1")
    assert code == 0
    entry = suppressions.get_suppression(ContactKind.EMAIL, "ada@example.com")
    assert entry is not None and entry.value.startswith("hmac-sha256:")
    clock.advance(3600)
    assert suppressions.get_suppression(ContactKind.EMAIL, "ada@example.com") is None  # what --force warns about


# --- our outgoing signature -----------------------------------------------------------------

def test_webhook_posts_carry_a_v1_for_each_secret_during_the_overlap_then_one(api, stack, webhook, ssm, clock):
    from tests.functional.followups.test_escalation import detractor

    until = clock.now + timedelta(hours=1)
    put(ssm, "webhook_signing_secret", json.dumps({"current": "whsec-new", "previous": "whsec-old",
                                                   "previous_until": iso(until)}))
    followup_id = detractor(api, stack, clock)
    (raw,), (headers,) = webhook.raw, webhook.headers
    signature = next(value for key, value in headers.items() if key.lower() == "x-closeloop-signature")
    t = int(signature.split(",")[0].removeprefix("t="))
    assert signature.count("v1=") == 2
    assert signature == alerts.sign_all(raw, ["whsec-new", "whsec-old"], t)
    assert alerts.verify(raw, signature, "whsec-new", now=t) and alerts.verify(raw, signature, "whsec-old", now=t)

    clock.set(until)
    alerts.post_to_webhook(Repositories().followups.get(followup_id), config.get_settings())
    later = next(value for key, value in webhook.headers[1].items() if key.lower() == "x-closeloop-signature")
    t = int(later.split(",")[0].removeprefix("t="))
    assert later.count("v1=") == 1
    assert alerts.verify(webhook.raw[1], later, "whsec-new", now=t)
    assert not alerts.verify(webhook.raw[1], later, "whsec-old", now=t)


# --- the API-key pepper ----------------------------------------------------------------------

def authorized(api, key: str) -> bool:
    status = api.http.get("/v1/suppressions/stats", headers={"Authorization": f"Bearer {key}"}).status_code
    assert status in (200, 401, 403), status
    return status == 200


def test_api_keys_keep_working_when_a_pepper_is_introduced_and_rotated(api, ssm, clock, monkeypatch, capsys):
    assert authorized(api, API_KEY)  # stored as plain SHA-256, before any pepper
    put(ssm, "api_key_pepper", "pepper-one-aaaa")
    stage_secrets.reset()
    assert authorized(api, API_KEY)
    # Used once under the pepper, it is stored under it, and the plain record is gone.
    (record,) = Repositories().api_keys.list()
    assert record.key_hash == auth.hash_key(API_KEY, "pepper-one-aaaa") and record.key_hash.startswith("hmac-sha256:")
    idle, _ = auth.create_key("idle")

    code, out = run_ops(monkeypatch, capsys, "secrets", "rotate", "api_key_pepper", "--overlap-hours", "48")
    assert code == 0 and "pepper-one-aaaa" not in out
    assert authorized(api, API_KEY)  # the previous pepper is accepted: the key moves to the new one
    _, out = run_ops(monkeypatch, capsys, "secrets", "show-status")
    assert "live API keys by pepper: 1 current, 1 previous" in out

    clock.advance(timedelta(hours=48).total_seconds())
    assert authorized(api, API_KEY)
    assert not authorized(api, idle)  # never used in the window: it must be re-issued
    _, out = run_ops(monkeypatch, capsys, "secrets", "show-status")
    assert "live API keys by pepper: 1 current, 1 retired" in out
    fresh, _ = auth.create_key("fresh")
    assert authorized(api, fresh)
    assert sorted(auth.hash_form(k.key_hash) for k in Repositories().api_keys.list()) == ["current", "current", "retired"]


def test_a_key_revoked_under_an_old_pepper_stays_revoked(api, ssm):
    key, record = auth.create_key("leaver")
    auth.revoke_key(record.key_hash)
    put(ssm, "api_key_pepper", "pepper-two-bbbb")
    stage_secrets.reset()
    assert not authorized(api, key)
    assert [k.key_hash for k in Repositories().api_keys.list() if k.name == "leaver"] == [record.key_hash]


def test_moving_a_key_changes_nothing_when_it_was_revoked_or_moved_meanwhile(stack):
    from chalicelib.platform import clock

    repos = Repositories()
    key, record = auth.create_key("leaver")
    repos.api_keys.revoke(record.key_hash, clock.now())
    assert not repos.api_keys.rehash(record.key_hash, record.model_copy(update={"key_hash": auth.hash_key(key, "p")}))
    other, kept = auth.create_key("ops")
    moved = kept.model_copy(update={"key_hash": auth.hash_key(other, "p")})
    assert repos.api_keys.rehash(kept.key_hash, moved)
    assert not repos.api_keys.rehash(kept.key_hash, moved)  # a concurrent request moved it first
    assert sorted(k.key_hash for k in repos.api_keys.list()) == sorted([record.key_hash, moved.key_hash])
    assert repos.api_keys.get(moved.key_hash).name == "ops" and repos.api_keys.get(kept.key_hash) is None


# --- nothing secret in logs, errors or output -----------------------------------------------

def test_no_secret_value_reaches_logs_answers_or_output(api, stack, webhook, ssm, clock, monkeypatch, capsys, caplog):
    from tests.functional.followups.test_escalation import detractor

    caplog.set_level(logging.DEBUG)
    values = [OLD, NEW, "pepper-three-cccc", "whsec-four-dddd"]
    put(ssm, "zendesk_webhook_secret", OLD)
    put(ssm, "api_key_pepper", "pepper-three-cccc")
    put(ssm, "webhook_signing_secret", "whsec-four-dddd")
    seen = []
    for response in (zendesk(api, clock, "4001", OLD), zendesk(api, clock, "4002", "forged-secret")):
        seen.append(response.body.decode())
    code, out = run_ops(monkeypatch, capsys, "secrets", "rotate", "zendesk_webhook_secret", "--value-from-stdin",
                        stdin=NEW)
    assert code == 0
    seen.append(out)
    seen.append(zendesk(api, clock, "4003", NEW).body.decode())
    clock.advance(timedelta(hours=25).total_seconds())
    seen.append(zendesk(api, clock, "4004", OLD).body.decode())  # refused: the window is over
    detractor(api, stack, clock)
    seen.append(run_ops(monkeypatch, capsys, "secrets", "show-status")[1])
    seen.append(repr(stage_secrets.state("zendesk_webhook_secret")) + repr(config.get_settings()))
    text = caplog.text + "\n".join(seen)
    assert "webhook refused" in caplog.text  # the refusals were logged, by reason
    for value in values:
        assert value not in text, value
    assert all(value not in json.dumps(headers) for headers in webhook.headers for value in values)


def test_while_ssm_fails_a_forced_re_read_is_tried_once_per_30_seconds_not_on_every_request(ssm, calls, ticks):
    from botocore.exceptions import ClientError

    put(ssm, "freshdesk_webhook_secret", "fd-value-3434")
    assert stage_secrets.secret("freshdesk_webhook_secret") == "fd-value-3434"

    def unavailable(**kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetParameters")

    aws.client("ssm").meta.events.register("before-call.ssm.GetParameters", unavailable)
    ticks[0] += 60
    # Forged signatures each ask for a re-read: only the first reaches SSM while it fails.
    assert stage_secrets.refresh() is True
    assert [stage_secrets.refresh() for _ in range(20)] == [False] * 20
    assert len(calls) == 2
    assert stage_secrets.secret("freshdesk_webhook_secret") == "fd-value-3434"
    ticks[0] += 31
    assert stage_secrets.refresh() is True
    assert len(calls) == 3
