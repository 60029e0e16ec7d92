"""Admin API keys: issued once in clear, stored only as a hash, checked by the authorizer.

Keys are 32 random bytes, so a fast hash is enough (no password stretching needed); the clear key
is shown once at creation. A token not shaped like a key (KEY_SHAPE) is refused before any read.
Lookups are cached per warm Lambda for `api_key_cache_seconds`, in two bounded LRUs (keys found,
and a smaller one for tokens that are no key), so a stream of junk tokens costs no memory. API
Gateway caches the authorizer's answer in front of that (chalicelib/api/auth.py), so a revoked key
may keep working for both together: REVOCATION_DELAY_SECONDS with the defaults.

The stored hash is keyed with the stage's API-key pepper (chalicelib/platform/secrets.py) when one is set:
`hmac-sha256:<pepper id>:<hex HMAC-SHA256(pepper, key)>`, the pepper id naming which pepper made it
without revealing it, so a copy of the table alone cannot even confirm a guessed key. Without a
pepper, plain SHA-256 hex, which is also how keys were stored before the pepper. A lookup tries the
current pepper's form, the previous pepper's (while a rotation's window lasts) and plain SHA-256,
and a live key found under an older form is moved to the current one on the spot: introducing or
rotating the pepper locks out no key that is used before the window ends. The clear key exists
nowhere else, so a key not used in the window cannot be moved and must be re-issued; the pepper's
window is long for that reason, and `python -m ops secrets show-status` counts the keys left behind.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections import OrderedDict
from typing import Optional

from chalicelib.apikeys.repository import ApiKey, ApiKeyRepository
from chalicelib.platform import clock
from chalicelib.platform import secrets as stage_secrets
from chalicelib.platform.settings import get_settings

log = logging.getLogger(__name__)

KEY_PREFIX = "cl_"
PEPPERED = "hmac-sha256:"
# What create_key issues ("cl_" and 43 URL-safe characters) and what may be imported (the local
# stack's CLOSELOOP_API_KEY, "local-dev-key"): anything else is refused before any read.
KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{8,128}")
# A stage has a handful of keys: 1,000 keeps every one warm and bounds what junk can hold.
CACHE_SIZE = 1000
UNKNOWN_CACHE_SIZE = 100
# API Gateway's cache of the authorizer's answer (chalicelib/api/auth.py) plus
# `api_key_cache_seconds` by default: how long a revoked key may keep working (docs/api.md).
REVOCATION_DELAY_SECONDS = 60

_Entry = tuple[float, Optional[ApiKey]]  # (valid until, in _ticks(); the record, None for no key)
_cache: OrderedDict[str, _Entry] = OrderedDict()
_unknown: OrderedDict[str, _Entry] = OrderedDict()


def _ticks() -> float:
    """The cache's clock (monotonic); tests move it."""
    return time.monotonic()


def pepper_id(pepper: str) -> str:
    """8 hex characters that tell peppers apart in stored hashes; an HMAC, so it reveals nothing."""
    return hmac.new(pepper.encode(), b"closeloop api key pepper id", hashlib.sha256).hexdigest()[:8]


def hash_key(key: str, pepper: Optional[str] = None) -> str:
    """The stored form of `key`: keyed with `pepper` (default: the stage's current pepper), or
    plain SHA-256 when there is none."""
    pepper = stage_secrets.secret("api_key_pepper") if pepper is None else pepper
    if not pepper:
        return hashlib.sha256(key.encode()).hexdigest()
    return f"{PEPPERED}{pepper_id(pepper)}:{hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()}"


def key_hashes(key: str) -> list[str]:
    """Every form `key` may be stored under, the current one first."""
    peppers = stage_secrets.accepted("api_key_pepper")
    return list(dict.fromkeys([hash_key(key, pepper) for pepper in peppers] + [hash_key(key, "")]))


def hash_form(key_hash: str) -> str:
    """Which pepper a stored hash was made with: "current", "previous" (moves when next used, until
    the window ends), "unpeppered" (moves when next used) or "retired" (no longer accepted: the
    key must be re-issued)."""
    peppers = [pepper_id(pepper) for pepper in stage_secrets.accepted("api_key_pepper")]
    if not key_hash.startswith(PEPPERED):
        return "unpeppered" if peppers else "current"
    made_with = key_hash[len(PEPPERED):].partition(":")[0]
    if peppers and made_with == peppers[0]:
        return "current"
    return "previous" if made_with in peppers else "retired"


def _find(key: str, keys: ApiKeyRepository) -> Optional[ApiKey]:
    """The key's record under any accepted form (at most 3 GetItems); moved to the current form
    when found under an older one."""
    hashes = key_hashes(key)
    for key_hash in hashes:
        record = keys.get(key_hash)
        if record is None:
            continue
        if key_hash == hashes[0] or record.revoked_at is not None:
            return record  # a revoked key stays where it is: it never works again anyway
        if keys.rehash(key_hash, record.model_copy(update={"key_hash": hashes[0]})):
            log.info("api key %s... (%s) now stored under the current pepper", record.prefix, record.name)
        # Moved (by us or a concurrent request) or revoked meanwhile: what is stored now decides.
        return keys.get(hashes[0]) or keys.get(key_hash)
    return None


def create_key(name: str, key: Optional[str] = None) -> tuple[str, ApiKey]:
    """Create an API key; returns (the key in clear, what is stored). `key` imports a chosen one."""
    key = key or KEY_PREFIX + secrets.token_urlsafe(32)
    if not KEY_SHAPE.fullmatch(key):  # the authorizer would refuse it unread
        raise ValueError("an API key is 8 to 128 characters of A-Z, a-z, 0-9, _ and -")
    record = ApiKey(key_hash=hash_key(key), name=name, prefix=key[:7], created_at=clock.now())
    ApiKeyRepository().put(record)
    return key, record


def ensure_key(name: str, key: str) -> ApiKey:
    """Make sure a given key exists (the local stack's configured key); idempotent."""
    existing = _find(key, ApiKeyRepository())
    return existing if existing and not existing.revoked_at else create_key(name, key)[1]


def list_keys() -> list[ApiKey]:
    return ApiKeyRepository().list()


def revoke_key(key_hash_or_prefix: str) -> ApiKey:
    keys = ApiKeyRepository()
    matches = [k for k in keys.list()
               if k.key_hash == key_hash_or_prefix or (len(key_hash_or_prefix) >= 7 and k.prefix == key_hash_or_prefix)]
    if len(matches) != 1:
        raise KeyError(f"{len(matches)} keys match {key_hash_or_prefix!r}; give the full hash")
    keys.revoke(matches[0].key_hash, clock.now())
    clear_cache()
    return matches[0]


def principal_for(authorization: str) -> Optional[str]:
    """The key's name if `Authorization: Bearer <key>` carries a live key, else None."""
    scheme, _, key = (authorization or "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not KEY_SHAPE.fullmatch(key):
        return None
    record = _lookup(key)
    if record is None or record.revoked_at is not None:
        return None
    return record.name


def _lookup(key: str) -> Optional[ApiKey]:
    """The key's record, from this Lambda's cache while it is fresh."""
    # Cached by the key's plain digest: in memory only, and the same whatever the pepper.
    cache_key = hashlib.sha256(key.encode()).hexdigest()
    for cache in (_cache, _unknown):
        cached = cache.get(cache_key)
        if cached and cached[0] > _ticks():
            cache.move_to_end(cache_key)
            return cached[1]
        cache.pop(cache_key, None)
    record = _find(key, ApiKeyRepository())
    seconds = get_settings().api_key_cache_seconds
    if seconds > 0:
        cache, bound = (_cache, CACHE_SIZE) if record is not None else (_unknown, UNKNOWN_CACHE_SIZE)
        cache[cache_key] = (_ticks() + seconds, record)
        while len(cache) > bound:
            cache.popitem(last=False)  # the least recently used
    return record


def cache_size() -> int:
    return len(_cache) + len(_unknown)


def clear_cache() -> None:
    _cache.clear()
    _unknown.clear()
