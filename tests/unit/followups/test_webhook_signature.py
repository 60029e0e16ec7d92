"""X-Closeloop-Signature: what a receiver computes to trust a webhook post (docs/api.md, "Webhook signatures")."""
from __future__ import annotations

import hashlib
import hmac
import json

from chalicelib.followups.alerts import SIGNATURE_TOLERANCE_SECONDS, sign, verify

SECRET = "whsec_test_0123456789"
BODY = json.dumps({"text": "Detractor: CSAT 1", "blocks": []}).encode()
T = 1_795_000_000


def test_the_signature_is_the_documented_hmac_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, SECRET, T) == f"t={T},v1={expected}"


def test_a_signature_verifies_for_its_body_and_secret_within_the_tolerance():
    header = sign(BODY, SECRET, T)
    assert verify(BODY, header, SECRET, now=T)
    assert verify(BODY, header, SECRET, now=T + SIGNATURE_TOLERANCE_SECONDS)
    assert verify(BODY, header, SECRET, now=T - 30)  # the receiver's clock may run a little behind


def test_a_tampered_body_is_refused():
    header = sign(BODY, SECRET, T)
    assert not verify(BODY.replace(b"CSAT 1", b"CSAT 5"), header, SECRET, now=T)
    assert not verify(BODY + b" ", header, SECRET, now=T)


def test_a_wrong_secret_is_refused():
    assert not verify(BODY, sign(BODY, SECRET, T), "another-secret", now=T)
    assert not verify(BODY, sign(BODY, "another-secret", T), SECRET, now=T)


def test_an_old_or_future_timestamp_is_refused_even_with_a_valid_mac():
    header = sign(BODY, SECRET, T)
    assert not verify(BODY, header, SECRET, now=T + SIGNATURE_TOLERANCE_SECONDS + 1)
    assert not verify(BODY, header, SECRET, now=T - SIGNATURE_TOLERANCE_SECONDS - 1)
    assert verify(BODY, header, SECRET, now=T + 3600, tolerance=7200)


def test_a_replayed_mac_with_a_fresh_timestamp_is_refused():
    mac = sign(BODY, SECRET, T).split(",v1=")[1]
    assert not verify(BODY, f"t={T + 600},v1={mac}", SECRET, now=T + 600)


def test_malformed_or_missing_headers_are_refused():
    mac = sign(BODY, SECRET, T).split(",v1=")[1]
    for header in (None, "", "garbage", f"v1={mac}", f"t={T}", f"t=abc,v1={mac}", f"t={T},v2={mac}"):
        assert not verify(BODY, header, SECRET, now=T), header


def test_any_of_several_v1_signatures_may_match_for_secret_rotation():
    header = sign(BODY, SECRET, T)
    other = sign(BODY, "old-secret", T).split(",v1=")[1]
    assert verify(BODY, f"{header},v1={other}", "old-secret", now=T)
