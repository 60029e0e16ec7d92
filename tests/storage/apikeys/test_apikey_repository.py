"""The API-key repository (apikeys/repository.py) on DynamoDB Local."""
from __future__ import annotations

from itertools import count

import pytest

from chalicelib.apikeys import keys as auth
from chalicelib.apikeys.repository import ApiKey
from tests.storage.builders import T0, later

_numbers = count()


def an_api_key(name: str) -> ApiKey:
    key = f"cl_{name}_{next(_numbers)}"
    return ApiKey(key_hash=auth.hash_key(key), name=name, prefix=key[:7], created_at=T0)


def test_api_keys_put_get_and_list(repos):
    ops, helpdesk = an_api_key("ops"), an_api_key("helpdesk")
    repos.api_keys.put(ops)
    repos.api_keys.put(helpdesk)
    assert repos.api_keys.get(ops.key_hash) == ops
    assert repos.api_keys.get(auth.hash_key("cl_never_issued")) is None
    assert sorted(repos.api_keys.list(), key=lambda k: k.name) == [helpdesk, ops]


def test_revoking_a_key_keeps_the_first_revocation_time(repos):
    key = an_api_key("ops")
    repos.api_keys.put(key)
    repos.api_keys.revoke(key.key_hash, later(60))
    repos.api_keys.revoke(key.key_hash, later(120))
    assert repos.api_keys.get(key.key_hash).revoked_at == later(60)


def test_revoking_an_unknown_key_raises_key_error(repos):
    with pytest.raises(KeyError):
        repos.api_keys.revoke(auth.hash_key("cl_never_issued"), later(60))
    assert repos.api_keys.list() == []


