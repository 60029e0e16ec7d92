"""Survey tokens: the only credential in a survey link (chalicelib.tokens)."""
from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import quote

import pytest

from chalicelib.surveys import tokens

SURVEY_ID = "0123456789abcdef"


def decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def with_char_changed(token: str, index: int) -> str:
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1:]


# --- shape -------------------------------------------------------------------------------

def test_token_is_32_characters():
    assert len(tokens.issue(SURVEY_ID).token) == tokens.TOKEN_LENGTH == 32


def test_token_uses_only_the_url_safe_alphabet():
    for _ in range(200):
        token = tokens.issue(SURVEY_ID).token
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)
        assert quote(token, safe="") == token  # nothing to escape in a URL path


def test_token_holds_at_least_128_bits_of_secret():
    raw = decode(tokens.issue(SURVEY_ID).token)
    secret = raw[8:]
    assert len(secret) * 8 >= 128


def test_every_bit_of_the_secret_varies_between_tokens():
    # A secret padded with constant bytes would leave some bits the same in every token.
    secrets = [int.from_bytes(decode(tokens.issue(SURVEY_ID).token)[8:], "big") for _ in range(64)]
    all_ones = (1 << 128) - 1
    ored, anded = 0, all_ones
    for value in secrets:
        ored, anded = ored | value, anded & value
    assert ored == all_ones and anded == 0


def test_a_new_token_every_time_even_for_the_same_survey():
    issued = [tokens.issue(SURVEY_ID) for _ in range(100)]
    assert len({i.token for i in issued}) == 100
    assert len({i.secret_hash for i in issued}) == 100


# --- no personal data --------------------------------------------------------------------

def test_token_bytes_are_the_survey_id_then_the_secret_only():
    issued = tokens.issue(SURVEY_ID)
    raw = decode(issued.token)
    assert len(raw) == 8 + 16
    assert raw[:8] == bytes.fromhex(SURVEY_ID)
    assert hashlib.sha256(raw[8:]).hexdigest() == issued.secret_hash


def test_the_secret_part_is_not_derived_from_the_survey_id():
    first, second = (decode(tokens.issue(SURVEY_ID).token)[8:] for _ in range(2))
    assert first != second
    assert bytes.fromhex(SURVEY_ID) not in first + second


def test_the_stored_hash_is_not_in_the_token():
    issued = tokens.issue(SURVEY_ID)
    assert issued.secret_hash not in issued.token
    assert bytes.fromhex(issued.secret_hash) not in decode(issued.token)


def test_new_survey_ids_are_random_hex():
    ids = {tokens.new_survey_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(tokens.is_survey_id(i) for i in ids)


@pytest.mark.parametrize("not_an_id", ["", "ada@example.com", "0123456789ABCDEF", "0123456789abcde", "zd-48213"])
def test_tokens_are_only_issued_for_survey_ids(not_an_id):
    with pytest.raises(ValueError):
        tokens.issue(not_an_id)


# --- reading a token back ----------------------------------------------------------------

def test_survey_id_of_round_trips():
    survey_id = tokens.new_survey_id()
    assert tokens.survey_id_of(tokens.issue(survey_id).token) == survey_id


@pytest.mark.parametrize("bad", ["", "short", "A" * 31, "A" * 33, "A" * 31 + "=", "A" * 31 + "/", "A" * 31 + "+",
                                 None, 12345, b"A" * 32])
def test_survey_id_of_refuses_malformed_tokens(bad):
    with pytest.raises(tokens.InvalidToken):
        tokens.survey_id_of(bad)


def test_matches_the_token_it_was_issued_for():
    issued = tokens.issue(SURVEY_ID)
    assert tokens.matches(issued.token, [issued.secret_hash]) is True


def test_matches_any_of_the_surveys_tokens():
    first, second = tokens.issue(SURVEY_ID), tokens.issue(SURVEY_ID)
    hashes = [first.secret_hash, second.secret_hash]
    assert tokens.matches(first.token, hashes) and tokens.matches(second.token, hashes)


@pytest.mark.parametrize("index", range(11, 32))  # characters 11-31 encode only secret bits
def test_one_character_changed_in_the_secret_does_not_match(index):
    issued = tokens.issue(SURVEY_ID)
    assert tokens.matches(with_char_changed(issued.token, index), [issued.secret_hash]) is False


@pytest.mark.parametrize("index", range(0, 11))  # characters 0-10 carry the survey id
def test_one_character_changed_in_the_id_names_another_survey(index):
    # The survey is looked up by the id in the token, so this token meets other hashes (or none).
    issued = tokens.issue(SURVEY_ID)
    changed = with_char_changed(issued.token, index)
    assert tokens.survey_id_of(changed) != SURVEY_ID


def test_truncated_token_does_not_match():
    issued = tokens.issue(SURVEY_ID)
    assert tokens.matches(issued.token[:-1], [issued.secret_hash]) is False
    assert tokens.matches(issued.token[:24], [issued.secret_hash]) is False


@pytest.mark.parametrize("suffix", ["=", "==", "A", " ", "\n"])
def test_padded_token_does_not_match(suffix):
    issued = tokens.issue(SURVEY_ID)
    assert tokens.matches(issued.token + suffix, [issued.secret_hash]) is False
    assert tokens.matches(suffix + issued.token, [issued.secret_hash]) is False


def test_a_token_of_another_survey_does_not_match():
    ours, theirs = tokens.issue(SURVEY_ID), tokens.issue(tokens.new_survey_id())
    assert tokens.matches(theirs.token, [ours.secret_hash]) is False


def test_nothing_matches_a_survey_without_tokens():
    assert tokens.matches(tokens.issue(SURVEY_ID).token, []) is False


@pytest.mark.parametrize("not_a_str", [None, 42, b"x" * 32, ["x" * 32]])
def test_a_non_string_never_matches(not_a_str):
    issued = tokens.issue(SURVEY_ID)
    assert tokens.matches(not_a_str, [issued.secret_hash]) is False
