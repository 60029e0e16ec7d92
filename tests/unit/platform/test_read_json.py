"""The one JSON reader of every body and message (platform/validation.py: read_json): what it
refuses, each as 400 naming `body` with its own type, and that it never raises anything else."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.platform.errors import InvalidInput
from chalicelib.platform.validation import MAX_JSON_DEPTH, read_json


def refusal(raw) -> dict:
    with pytest.raises(InvalidInput) as caught:
        read_json(raw)
    problem = caught.value
    assert problem.status == 400 and problem.error == "invalid_json"
    [field] = problem.fields
    assert field["field"] == "body" and field["message"]
    return field


@pytest.mark.parametrize("raw, kind", [
    (b"[" * 3000 + b"]" * 3000, "too_deep"),
    (b'{"a": ' * 40 + b"1" + b"}" * 40, "too_deep"),
    (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), "too_deep"),
    (b"[" * 100_000, "too_deep"),                          # unterminated, still no recursion
    (b'{"a": 1, "a": 2}', "duplicate_key"),
    (b'[{"x": {"k": 1, "k": 1}}]', "duplicate_key"),
    (b'{"score": NaN}', "invalid_number"),
    (b"[Infinity]", "invalid_number"),
    (b"-Infinity", "invalid_number"),
    (b"1e999", "invalid_number"),
    (b"1" * 5000, "number_too_long"),                       # past Python's int() limit of 4,300 digits
    (b"-" + b"9" * 39, "number_too_long"),
    (b'{"a": "\xff"}', "invalid_utf8"),
    (b"\xff\xfe\x00", "invalid_utf8"),
    (b'{"a": "\\ud800"}', "invalid_unicode"),
    (b'["\\udfff", 1]', "invalid_unicode"),
    (b"", "invalid_json"),
    (b'{"a": ', "invalid_json"),
    (b"interaction_id=zd-1", "invalid_json"),
])
def test_each_way_a_body_is_unreadable_has_its_own_type(raw, kind):
    assert refusal(raw)["type"] == kind


def test_a_str_with_a_lone_surrogate_is_refused_as_not_utf8():
    assert refusal('{"a": "\ud800"}')["type"] == "invalid_utf8"


@pytest.mark.parametrize("raw", [
    b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH,
    b'{"text": "' + b"[" * 5000 + b'"}',                  # brackets inside a string are no nesting
    b'{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',
    b'{"n": ' + b"9" * 38 + b', "f": 1.5e308, "s": "\\ud83d\\ude00"}',
])
def test_what_is_within_the_limits_reads_as_json_loads_reads_it(raw):
    assert read_json(raw) == json.loads(raw)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.binary(max_size=300),
                 st.text(alphabet='[]{}",:\\0123456789.eE+-aNInfity ud8', max_size=300).map(str.encode)))
def test_any_bytes_are_read_or_refused_never_a_crash(raw):
    try:
        read_json(raw)
    except InvalidInput as problem:
        assert problem.fields[0]["field"] == "body"
