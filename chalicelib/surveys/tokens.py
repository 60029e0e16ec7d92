"""Survey tokens: the only credential in a survey link.

A token is 24 random bytes from `secrets`, written as 32 URL-safe characters: 8 bytes name the
survey (its random id, no personal data) and 16 bytes (128 bits) are a secret whose SHA-256 is
stored with the survey. A lookup costs one read, and a leaked table does not leak working links.
Tokens are issued when a message is sent and exist in clear only inside that message.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_ID_BYTES = 8
_SECRET_BYTES = 16
TOKEN_LENGTH = 32  # base64url of 24 bytes, no padding
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
_SURVEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")


class InvalidToken(ValueError):
    """The text is not a well-formed survey token."""


@dataclass(frozen=True)
class IssuedToken:
    survey_id: str
    token: str
    secret_hash: str


def new_survey_id() -> str:
    return secrets.token_bytes(_ID_BYTES).hex()


def issue(survey_id: str) -> IssuedToken:
    """A fresh token for a survey; store `secret_hash`, put `token` in the message."""
    if not is_survey_id(survey_id):
        raise ValueError("not a survey id")
    secret = secrets.token_bytes(_SECRET_BYTES)
    token = base64.urlsafe_b64encode(bytes.fromhex(survey_id) + secret).decode()
    return IssuedToken(survey_id=survey_id, token=token, secret_hash=_hash(secret))


def survey_id_of(token: str) -> str:
    """The survey a token names; raises InvalidToken for anything malformed."""
    return _decode(token)[0]


def matches(token: str, secret_hashes: list[str]) -> bool:
    """Constant-time check that `token` is one of those issued for a survey (by their hashes)."""
    try:
        secret_hash = _hash(_decode(token)[1])
    except InvalidToken:
        return False
    return any(hmac.compare_digest(secret_hash, stored) for stored in secret_hashes)


def is_survey_id(text: str) -> bool:
    return bool(_SURVEY_ID_RE.fullmatch(text))


def _decode(token: str) -> tuple[str, bytes]:
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        raise InvalidToken("malformed survey token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as error:
        raise InvalidToken("malformed survey token") from error
    return raw[:_ID_BYTES].hex(), raw[_ID_BYTES:]


def _hash(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()
