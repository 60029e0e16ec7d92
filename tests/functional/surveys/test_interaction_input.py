"""POST /v1/interactions: invalid input is refused naming the field, and nothing is stored or sent."""
from __future__ import annotations

import json
import re

import pytest

from chalicelib.delivery.sms import SEGMENT_SEPTETS, septets
from tests.functional.helpers import (
    BROWSER, PHONE, assert_nothing_stored_or_sent, interaction, links_in, open_page, path_of, post, survey,
)


def customer(**overrides) -> dict:
    body = interaction()["customer"]
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def assert_refused(response, field: str):
    assert response.status_code in (400, 422), response.body
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    named = [f["field"] for f in body.get("fields", [])]
    assert field in named, f"{field} not named in {body}"
    assert all(f.get("message") for f in body["fields"])


def test_a_body_that_is_not_json_is_refused(api, stack):
    for raw in (b"interaction_id=zd-1", b"{\"interaction_id\": ", b"\xff\xfe\x00", b""):
        response = api.http.post("/v1/interactions", headers=api.headers, body=raw)
        assert response.status_code == 400, raw
        body = json.loads(response.body)
        assert body["error"] == "invalid_json" and body["message"]
        assert [f["field"] for f in body["fields"]] == ["body"]
    assert_nothing_stored_or_sent(stack)


def test_a_json_body_that_is_not_an_object_is_refused(api, stack):
    for value in ([], "zd-1", 42, None):
        response = api.http.post("/v1/interactions", headers=api.headers, body=json.dumps(value))
        assert response.status_code == 400
        assert json.loads(response.body)["fields"]
    assert_nothing_stored_or_sent(stack)


def test_a_body_over_64_kib_is_refused_even_when_it_is_valid_json(api, stack):
    big = interaction(properties={f"k{i}": "x" * 200 for i in range(20)}, team="t" * 128)
    big["customer"]["name"] = "A" * 128
    raw = json.dumps(big).encode()
    raw = raw[:-1] + b" " * (64 * 1024 - len(raw) + 10) + b"}"  # valid JSON, just too large
    assert len(raw) > 64 * 1024 and json.loads(raw)
    response = api.http.post("/v1/interactions", headers=api.headers, body=raw)
    assert_refused(response, "body")
    assert json.loads(response.body)["error"] == "body_too_large"
    assert_nothing_stored_or_sent(stack)


def test_a_body_of_exactly_64_kib_is_accepted(api, stack):
    raw = json.dumps(interaction()).encode()
    raw = raw[:-1] + b" " * (64 * 1024 - len(raw)) + b"}"
    assert len(raw) == 64 * 1024
    assert api.http.post("/v1/interactions", headers=api.headers, body=raw).status_code == 202


INVALID = {
    "interaction_id with a space": ({"interaction_id": "zd 48213"}, "interaction_id"),
    "interaction_id with a slash": ({"interaction_id": "zd/48213"}, "interaction_id"),
    "interaction_id with a hash": ({"interaction_id": "SURVEY#1"}, "interaction_id"),
    "interaction_id empty": ({"interaction_id": ""}, "interaction_id"),
    "interaction_id of 129 chars": ({"interaction_id": "a" * 129}, "interaction_id"),
    "interaction_id missing": ({"interaction_id": None}, "interaction_id"),
    "interaction_id with a trailing newline": ({"interaction_id": "zd-48213\n"}, "interaction_id"),
    "customer id with a trailing newline": ({"customer": customer(id="cus_19\n")}, "customer.id"),
    "email without domain": ({"customer": customer(email="ada@")}, "customer.email"),
    "email without at": ({"customer": customer(email="ada.example.com")}, "customer.email"),
    "email with double dot": ({"customer": customer(email="ada..l@example.com")}, "customer.email"),
    "email header injection": ({"customer": customer(email="ada@example.com\nBcc: x@evil.test")}, "customer.email"),
    "phone without plus": ({"customer": customer(phone="14155550123")}, "customer.phone"),
    "phone with spaces": ({"customer": customer(phone="+1 415 555 0123")}, "customer.phone"),
    "phone too long": ({"customer": customer(phone="+1415555012345678")}, "customer.phone"),
    "phone starting with 0": ({"customer": customer(phone="+04155550123")}, "customer.phone"),
    "unknown survey": ({"survey": "ces"}, "survey"),
    "unknown channel": ({"channel": "whatsapp"}, "channel"),
    "sms without phone": ({"channel": "sms", "customer": customer(phone=None)}, "customer.phone"),
    "email channel without email": ({"channel": "email", "customer": customer(email=None)}, "customer.email"),
    "bad timezone": ({"customer": customer(timezone="Mars/Olympus_Mons")}, "customer.timezone"),
    "timezone path traversal": ({"customer": customer(timezone="../../etc/passwd")}, "customer.timezone"),
    "bad locale": ({"customer": customer(locale="english!")}, "customer.locale"),
    "locale with a trailing newline": ({"customer": customer(locale="en\n")}, "customer.locale"),
    "locale too long": ({"customer": customer(locale="en-" + "x" * 40)}, "customer.locale"),
    "customer id missing": ({"customer": {k: v for k, v in customer().items() if k != "id"}}, "customer.id"),
    "21 properties": ({"properties": {f"p{i}": "v" for i in range(21)}}, "properties"),
    "257-char property value": ({"properties": {"plan": "x" * 257}}, "properties.plan"),
    "property value not a string": ({"properties": {"plan": {"nested": 1}}}, "properties.plan"),
    "unknown field": ({"priority": "high"}, "priority"),
    "unknown customer field": ({"customer": customer(ssn="078-05-1120")}, "customer.ssn"),
    "occurred_at without zone": ({"occurred_at": "2026-11-24T10:00:00"}, "occurred_at"),
}


@pytest.mark.parametrize("change,field", list(INVALID.values()), ids=list(INVALID))
def test_an_invalid_field_is_named_and_nothing_is_stored_or_sent(api, stack, change, field):
    body = interaction(**change)
    body = {k: v for k, v in body.items() if v is not None}
    response = post(api, body)
    assert_refused(response, field)
    stack.run_jobs()
    assert_nothing_stored_or_sent(stack)


def test_a_customer_without_any_address_is_refused(api, stack):
    body = interaction(customer=customer(email=None, phone=None))
    del body["channel"]
    response = post(api, body)
    assert response.status_code == 400
    named = {f["field"] for f in json.loads(response.body)["fields"]}
    assert named & {"customer.email", "customer.phone", "customer"}
    assert_nothing_stored_or_sent(stack)


def test_20_properties_and_a_256_char_value_are_accepted(api, stack):
    properties = {f"p{i}": "v" for i in range(19)} | {"plan": "x" * 256}
    assert post(api, interaction(properties=properties)).status_code == 202


def test_a_valid_nps_sms_interaction_sends_one_gsm7_segment_with_one_link_to_the_phone(api, stack):
    response = post(api, interaction(survey="nps", channel="sms",
                                     customer=customer(email=None, name="Zoë Ångström")))
    assert response.status_code == 202
    body = json.loads(response.body)
    assert body["status"] == "scheduled" and set(body) >= {"survey_id", "status", "send_at"}

    stack.run_jobs()

    assert stack.emails() == []
    sent = stack.sms()
    assert len(sent) == 1
    phone, text = sent[0]
    assert phone == PHONE
    length = septets(text)
    assert length is not None and length <= SEGMENT_SEPTETS, text  # GSM-7, one segment
    links = links_in(text)
    assert len(links) == 1 and re.search(r"/s/[A-Za-z0-9_-]{32}$", links[0])
    assert survey(api, body["survey_id"])["status"] == "sent"

    # The one link leads to a page where every NPS score can be chosen.
    page = open_page(api, path_of(links[0]), BROWSER)
    assert page.status_code == 200
    buttons = re.findall(r'<button type="submit" name="score" value="(\d+)"', page.body.decode())
    assert [int(b) for b in buttons] == list(range(0, 11))
