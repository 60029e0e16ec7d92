"""The authorizer's lookups (apikeys/keys.py: principal_for) on DynamoDB Local: a token not shaped
like a key is refused before any read, the per-Lambda cache is bounded and expires, and the API
Gateway cache in front of it is short enough for the documented revocation delay."""
from __future__ import annotations

import pytest

from chalicelib.apikeys import keys
from chalicelib.platform import aws
from chalicelib.platform.settings import Settings


@pytest.fixture
def reads(table, monkeypatch):
    """The DynamoDB operations the app's own client makes; the in-Lambda cache on a clock moved by hand."""
    keys.clear_cache()
    made: list[str] = []
    aws.client("dynamodb").meta.events.register("before-call.dynamodb", lambda model, **_: made.append(model.name))
    yield made
    keys.clear_cache()


@pytest.fixture
def ticks(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(keys, "_ticks", lambda: now[0])
    return now


@pytest.mark.parametrize("authorization", [
    "Bearer short", "Bearer " + "k" * 129, "Bearer cl_has spaces_in_it_0123456789", "Bearer eyJhbGc.eyJzdWIi.c2ln",
    "Bearer cl_quote'or'1=1--__________________", "Bearer cl_ünïcödé_0123456789_0123456789", "Bearer \x00" * 3,
])
def test_a_token_not_shaped_like_a_key_is_refused_without_a_read(reads, authorization):
    assert keys.principal_for(authorization) is None
    assert reads == []
    assert keys.cache_size() == 0  # nor remembered


def test_a_well_shaped_unknown_token_is_looked_up_then_remembered_in_a_small_bound(reads):
    assert keys.principal_for("Bearer cl_" + "u" * 43) is None
    looked = len(reads)
    assert looked >= 1
    assert keys.principal_for("Bearer cl_" + "u" * 43) is None
    assert len(reads) == looked


def test_the_cache_never_exceeds_its_bounds_however_many_distinct_tokens(reads, monkeypatch):
    monkeypatch.setattr(keys, "CACHE_SIZE", 4)
    monkeypatch.setattr(keys, "UNKNOWN_CACHE_SIZE", 2)
    issued = [keys.create_key(f"caller-{n}")[0] for n in range(6)]
    for n in range(30):
        assert keys.principal_for(f"Bearer cl_unknown_{n:040d}") is None
        assert keys.cache_size() <= 4 + 2
    for key in issued:
        assert keys.principal_for(f"Bearer {key}") is not None
        assert keys.cache_size() <= 4 + 2
    # The least recently used go first: the last four keys are answered from memory.
    before = len(reads)
    assert [keys.principal_for(f"Bearer {key}") for key in issued[2:]] == [f"caller-{n}" for n in range(2, 6)]
    assert len(reads) == before


def test_a_cached_answer_expires_after_api_key_cache_seconds(reads, ticks, repos):
    key, record = keys.create_key("ops")
    assert keys.principal_for(f"Bearer {key}") == "ops"
    # Revoked by another Lambda (`ops keys revoke` clears only its own process's cache).
    repos.api_keys.revoke(record.key_hash, record.created_at)
    ticks[0] += Settings().api_key_cache_seconds - 1
    assert keys.principal_for(f"Bearer {key}") == "ops"  # the cached answer, inside the window
    ticks[0] += 1
    assert keys.principal_for(f"Bearer {key}") is None   # read again at its end: revoked


def test_api_gateway_caches_the_authorizers_answer_for_a_part_of_the_documented_delay():
    from app import app
    from chalicelib.api import auth

    (authorizer,) = app.builtin_auth_handlers
    assert authorizer.ttl_seconds == auth.GATEWAY_CACHE_SECONDS
    # A revoked key works until API Gateway's answer and then this Lambda's have both expired.
    assert auth.GATEWAY_CACHE_SECONDS + Settings().api_key_cache_seconds == keys.REVOCATION_DELAY_SECONDS == 60
