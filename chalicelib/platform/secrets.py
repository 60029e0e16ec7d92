"""The stage's secrets: helpdesk webhook secrets, the webhook signing secret, the API-key pepper,
the suppression hash key, the helpdesk API credentials of the ticket write-back and Slack's
signing secret, with rotation windows.

Where they come from:
- a deployed stage sets `secrets_parameter_prefix` (e.g. "/closeloop/dev/"): each secret is the
  SSM Parameter Store SecureString `<prefix><name>`. All of them are read in one GetParameters call
  on first use (never at import: a cold start that serves a survey page reads none) and kept per
  warm Lambda for `secrets_cache_seconds` (300), so a rotation reaches every warm Lambda within
  minutes. A missing parameter means "not configured", and that answer is cached too;
- otherwise (the local stack, tests) the CLOSELOOP_<NAME> environment variables, through settings.

A value is either the secret itself or, during a rotation, JSON
`{"current": "...", "previous": "...", "previous_until": "<ISO 8601 UTC>"}`: `accepted(name)` is
the current secret plus the previous one while `chalicelib.platform.clock.now()` is before
`previous_until`. Incoming signatures verify with any accepted secret, outgoing ones are made with
the current one (and, during the window, also the previous: see chalicelib/followups/alerts.py).

No value ever reaches a log line, an exception message or a repr: only names and times do.
"""
from __future__ import annotations

import json
import logging
import secrets as random_source
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform import aws, clock
from chalicelib.platform.settings import get_settings

log = logging.getLogger(__name__)

# Every secret a stage keeps in SSM (ops/stack.py's SECRET_NAMES: the bootstrap creates them).
NAMES = (
    "zendesk_webhook_secret",
    "intercom_client_secret",
    "freshdesk_webhook_secret",
    "webhook_signing_secret",
    "api_key_pepper",
    "suppression_hash_key",
    # The helpdesk API credentials of the ticket write-back (chalicelib/integrations/writeback.py).
    "zendesk_api_token",
    "freshdesk_api_key",
    "intercom_access_token",
    "slack_signing_secret",
)
# What the operator sets, from the helpdesk's admin pages: the bootstrap never generates these (a
# random API token would only be refused); until set, that helpdesk's write-back is not configured.
OPERATOR_SET = ("zendesk_api_token", "freshdesk_api_key", "intercom_access_token", "slack_signing_secret")
# botocore logs whole request and response bodies at DEBUG ("Making request ... params", "Response
# body"), and for SSM those hold the decrypted values: whatever level a stage or a debugging
# operator sets, these two loggers stay at INFO or above. (Cheap: no handler, no I/O.)
for _wire_log in ("botocore.endpoint", "botocore.parsers"):
    if logging.getLogger(_wire_log).level < logging.INFO:  # NOTSET too: it would follow the root down
        logging.getLogger(_wire_log).setLevel(logging.INFO)
# A failed SSM read keeps serving the values read before (a brief SSM outage must not refuse every
# webhook) and tries again after this long, rather than on every request.
_RETRY_AFTER_FAILURE_SECONDS = 30


@dataclass(frozen=True)
class Secret:
    """One secret and, during a rotation, its predecessor. Values are kept out of repr so that a
    traceback or a debug print of this object cannot leak them."""
    current: str = field(default="", repr=False)
    previous: str = field(default="", repr=False)
    previous_until: Optional[datetime] = None

    def accepted(self, now: datetime) -> list[str]:
        values = [self.current]
        if self.previous and self.previous_until is not None and now < self.previous_until:
            values.append(self.previous)
        return [value for value in dict.fromkeys(values) if value]

    def in_overlap(self, now: datetime) -> bool:
        return len(self.accepted(now)) > 1


def parse(name: str, raw: Optional[str]) -> Secret:
    """A stored value: the secret itself, or the JSON of a rotation. A value that is JSON but not a
    rotation's shape is refused (naming the secret, never showing the value), since taking it for
    a plain secret would silently refuse every signature."""
    raw = (raw or "").strip()
    if not raw.startswith("{"):
        return Secret(current=raw)
    try:
        data = json.loads(raw)
    except ValueError:
        return Secret(current=raw)  # a secret that merely starts with "{"
    if not isinstance(data, dict) or not isinstance(data.get("current"), str):
        raise RuntimeError(f"secret {name}: JSON without a string \"current\"")
    previous, until = data.get("previous") or "", data.get("previous_until")
    if not isinstance(previous, str):
        raise RuntimeError(f"secret {name}: \"previous\" must be a string")
    try:
        previous_until = clock.parse_iso(until) if until else None
        if previous_until is not None and previous_until.tzinfo is None:
            raise ValueError("no time zone")
    except (TypeError, ValueError):
        raise RuntimeError(f"secret {name}: \"previous_until\" must be an ISO 8601 time with a zone") from None
    return Secret(current=data["current"].strip(), previous=previous.strip(), previous_until=previous_until)


def serialize(value: Secret) -> str:
    if not value.previous or value.previous_until is None:
        return value.current
    return json.dumps({"current": value.current, "previous": value.previous,
                       "previous_until": clock.iso(value.previous_until)})


# --- reading ------------------------------------------------------------------------------

@dataclass
class _Cache:
    values: dict[str, Secret] = field(default_factory=dict, repr=False)
    prefix: Optional[str] = None
    loaded_at: Optional[float] = None   # _ticks() of the last successful read
    # _ticks() of the last read tried, failed or not: what limits re-reads, so that a failing SSM
    # is not called on every request (the last success would stay old while it fails).
    attempted_at: Optional[float] = None
    valid_until: float = 0.0


_cache = _Cache()


def _ticks() -> float:
    """The cache's clock (monotonic: a wall-clock jump must not keep a stale secret); tests move it."""
    return time.monotonic()


def _check(name: str) -> None:
    if name not in NAMES:
        raise ValueError(f"unknown secret {name!r}; secrets: {', '.join(NAMES)}")


def _values() -> dict[str, Secret]:
    settings = get_settings()
    prefix = settings.secrets_parameter_prefix
    if not prefix:
        return {name: parse(name, getattr(settings, name)) for name in NAMES}
    if _cache.prefix == prefix and _ticks() < _cache.valid_until:
        return _cache.values
    return _load(prefix, settings.secrets_cache_seconds)


def _load(prefix: str, cache_seconds: int) -> dict[str, Secret]:
    _cache.attempted_at = _ticks()
    try:
        values = read_parameters(prefix)
    except (ClientError, BotoCoreError) as error:
        code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
        if _cache.prefix == prefix and _cache.values:
            log.warning("could not re-read the secrets under %s (%s); keeping the ones read before", prefix, code)
            _cache.valid_until = _ticks() + _RETRY_AFTER_FAILURE_SECONDS
            return _cache.values
        raise RuntimeError(f"could not read the secrets under {prefix} from SSM Parameter Store ({code})") from None
    now = _ticks()
    _cache.values, _cache.prefix, _cache.loaded_at, _cache.valid_until = values, prefix, now, now + cache_seconds
    log.debug("read the secrets under %s; not configured: %s", prefix,
              ", ".join(name for name, value in values.items() if not value.current) or "none")
    return values


def read_parameters(prefix: str, ssm=None) -> dict[str, Secret]:
    """Every secret under `prefix`, in one GetParameters call per 10 names (its limit)."""
    ssm = ssm or aws.client("ssm")
    found = {}
    for start in range(0, len(NAMES), 10):  # GetParameters takes at most 10 names
        answer = ssm.get_parameters(Names=[prefix + name for name in NAMES[start:start + 10]], WithDecryption=True)
        found.update({p["Name"][len(prefix):]: p["Value"] for p in answer.get("Parameters", [])})
    return {name: parse(name, found.get(name)) for name in NAMES}


def secret(name: str) -> str:
    """The current value of a secret; "" when it is not configured."""
    _check(name)
    return _values()[name].current


def accepted(name: str) -> list[str]:
    """The values a signature may be made with: the current one, and the previous one until its
    window ends; [] when the secret is not configured."""
    _check(name)
    return _values()[name].accepted(clock.now())


def state(name: str) -> Secret:
    _check(name)
    return _values()[name]


def refresh(min_age_seconds: float = 30) -> bool:
    """Read the parameters again now, if the cached ones are at least `min_age_seconds` old; True
    if they were read. Called when an incoming signature matches no accepted secret: a secret the
    helpdesk generates (Zendesk, Intercom) is rotated by pasting its new value, and the helpdesk
    signs with it at once, so a warm Lambda must not wait out its cache. The age limit bounds what
    a stream of forged signatures can cost: one SSM call per warm Lambda per `min_age_seconds`,
    counted from the last attempt, so it holds while SSM is failing too."""
    settings = get_settings()
    prefix = settings.secrets_parameter_prefix
    if not prefix:
        return False
    last = _cache.attempted_at
    if _cache.prefix == prefix and last is not None and _ticks() - last < min_age_seconds:
        return False
    _load(prefix, settings.secrets_cache_seconds)
    return True


def reset() -> None:
    """Forget what was read (tests; after a rotation in this process)."""
    global _cache
    _cache = _Cache()


# --- rotating (python -m ops secrets rotate) -----------------------------------------------

DEFAULT_OVERLAP = timedelta(hours=24)
# API keys hashed with the previous pepper move to the current one when they are used during the
# window (chalicelib/apikeys/keys.py); a key not used before it ends stops working, so its window is long.
DEFAULT_OVERLAPS = {"api_key_pepper": timedelta(days=30)}


def new_value() -> str:
    return random_source.token_urlsafe(32)


@dataclass(frozen=True)
class Rotation:
    name: str
    previous_until: Optional[datetime]          # None: nothing to overlap (no previous value, or 0 h)
    cut_short: Optional[datetime] = None        # the end of an earlier window this rotation ended early


def rotate(name: str, prefix: str, value: Optional[str] = None, overlap: Optional[timedelta] = None,
           ssm=None) -> Rotation:
    """Make `value` (default: 32 random bytes) the current secret and keep the old current one as
    `previous` for `overlap`; writes the SecureString with Overwrite. A previous secret from an
    earlier rotation whose window is still open is dropped (only one previous is kept)."""
    _check(name)
    ssm = ssm or aws.client("ssm")
    overlap = DEFAULT_OVERLAPS.get(name, DEFAULT_OVERLAP) if overlap is None else overlap
    parameter = prefix + name
    try:
        old = parse(name, ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "ParameterNotFound":
            raise
        old = Secret()
    value = (new_value() if value is None else value).strip()
    if not value:
        raise ValueError("the new value is empty")
    if value == old.current:
        raise ValueError(f"the new value of {name} is its current value")
    now = clock.now()
    until = now + overlap if old.current and overlap > timedelta(0) else None
    rotated = Secret(current=value, previous=old.current if until else "", previous_until=until)
    ssm.put_parameter(Name=parameter, Value=serialize(rotated), Type="SecureString", Overwrite=True)
    reset()
    cut_short = old.previous_until if old.previous and old.previous_until and old.previous_until > now else None
    log.info("rotated secret %s; previous accepted until %s", name, clock.iso(until) if until else "never")
    return Rotation(name, until, cut_short)


def end_overlap(name: str, prefix: str, ssm=None) -> bool:
    """Stop accepting the previous secret now (the helpdesk and every receiver use the new one);
    True if there was a previous one to drop."""
    _check(name)
    ssm = ssm or aws.client("ssm")
    try:
        old = parse(name, ssm.get_parameter(Name=prefix + name, WithDecryption=True)["Parameter"]["Value"])
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return False
        raise
    if not old.previous:
        return False
    ssm.put_parameter(Name=prefix + name, Value=serialize(Secret(current=old.current)), Type="SecureString",
                      Overwrite=True)
    reset()
    return True
