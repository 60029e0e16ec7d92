"""Admin API keys: issued once in clear, stored only as SHA-256, checked by the authorizer.

Keys are 32 random bytes, so a fast hash is enough (no password stretching needed); the clear key
is shown once at creation. Lookups are cached per warm Lambda for `api_key_cache_seconds`, which
is also how long a revoked key may keep working.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from typing import Optional

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.models import ApiKey
from chalicelib.storage import Store, get_store

KEY_PREFIX = "cl_"
_cache: dict[str, tuple[float, Optional[ApiKey]]] = {}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(name: str, store: Optional[Store] = None, key: Optional[str] = None) -> tuple[str, ApiKey]:
    """Create an API key; returns (the key in clear, what is stored). `key` imports a chosen one."""
    key = key or KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(key_hash=hash_key(key), name=name, prefix=key[:7], created_at=clock.now())
    (store or get_store()).put_api_key(record)
    return key, record


def ensure_key(name: str, key: str, store: Optional[Store] = None) -> ApiKey:
    """Make sure a given key exists (the local stack's configured key); idempotent."""
    store = store or get_store()
    existing = store.get_api_key(hash_key(key))
    return existing if existing and not existing.revoked_at else create_key(name, store, key)[1]


def revoke_key(key_hash_or_prefix: str, store: Optional[Store] = None) -> ApiKey:
    store = store or get_store()
    matches = [k for k in store.list_api_keys()
               if k.key_hash == key_hash_or_prefix or (len(key_hash_or_prefix) >= 7 and k.prefix == key_hash_or_prefix)]
    if len(matches) != 1:
        raise KeyError(f"{len(matches)} keys match {key_hash_or_prefix!r}; give the full hash")
    store.revoke_api_key(matches[0].key_hash, clock.now())
    _cache.clear()
    return matches[0]


def principal_for(authorization: str, store: Optional[Store] = None) -> Optional[str]:
    """The key's name if `Authorization: Bearer <key>` carries a live key, else None."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    key_hash = hash_key(key.strip())
    cached = _cache.get(key_hash)
    if cached and cached[0] > time.monotonic():
        record = cached[1]
    else:
        record = (store or get_store()).get_api_key(key_hash)
        _cache[key_hash] = (time.monotonic() + get_settings().api_key_cache_seconds, record)
    if record is None or record.revoked_at is not None:
        return None
    return record.name


def clear_cache() -> None:
    _cache.clear()
