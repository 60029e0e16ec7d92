"""POST /v1/interactions input rules (chalicelib/surveys/model.py: InteractionIn), with and without the edge."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from chalicelib.platform.errors import InvalidInput
from chalicelib.platform.validation import validate
from chalicelib.surveys.model import Channel, InteractionIn
from chalicelib.surveys.scoring import SurveyKind


def body(**overrides) -> dict:
    """A valid request; `customer` overrides merge into the customer (None removes a key)."""
    data = {
        "interaction_id": "zd-48213",
        "survey": "csat",
        "channel": "email",
        "customer": {"id": "cus_19", "email": "ada@example.com", "phone": "+14155550123", "name": "Ada",
                     "locale": "en", "timezone": "America/New_York"},
        "agent": {"id": "agt_7", "name": "Sam"},
        "team": "billing",
        "properties": {"plan": "pro"},
        "occurred_at": "2026-11-24T10:00:00Z",
    }
    customer = overrides.pop("customer", {})
    data["customer"] = {k: v for k, v in {**data["customer"], **customer}.items() if v is not None}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def refused_fields(data: dict) -> list[str]:
    """The fields the edge names when it refuses `data` (fails the test if it is accepted)."""
    with pytest.raises(InvalidInput) as caught:
        validate(InteractionIn, data)
    assert caught.value.status == 400 and caught.value.error == "validation_error"
    assert all(f["message"] for f in caught.value.fields)
    return [f["field"] for f in caught.value.fields]


def refused_message(data: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        InteractionIn.model_validate(data)
    return str(caught.value)


def test_the_example_request_of_the_contract_is_accepted():
    request = validate(InteractionIn, body())
    assert request.interaction_id == "zd-48213"
    assert request.survey is SurveyKind.CSAT and request.channel is Channel.EMAIL
    assert request.occurred_at == datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


def test_survey_defaults_to_csat():
    assert InteractionIn.model_validate(body(survey=None)).survey is SurveyKind.CSAT


# --- interaction_id ------------------------------------------------------------------------

@pytest.mark.parametrize("interaction_id", ["zd-48213", "a", "A.b_c:d-0", "x" * 128, "fresh:desk.1_2-3"])
def test_interaction_id_accepts_1_to_128_safe_characters(interaction_id):
    assert InteractionIn.model_validate(body(interaction_id=interaction_id)).interaction_id == interaction_id


@pytest.mark.parametrize("interaction_id", ["", "x" * 129, "zd 48213", "zd/48213", "zd#1", "zé-1", "zd-1\n", 48213])
def test_interaction_id_refuses_other_characters_and_lengths(interaction_id):
    assert refused_fields(body(interaction_id=interaction_id)) == ["interaction_id"]


def test_interaction_id_is_required():
    data = body()
    del data["interaction_id"]
    assert refused_fields(data) == ["interaction_id"]


# --- customer addresses ----------------------------------------------------------------------

@pytest.mark.parametrize("email", ["ada@example.com", "ada.lovelace+support@mail.example.co.uk", "a@b.io"])
def test_email_accepts_addresses(email):
    assert InteractionIn.model_validate(body(customer={"email": email})).customer.email == email


def test_email_domain_is_lowercased_and_whitespace_trimmed():
    request = InteractionIn.model_validate(body(customer={"email": "  Ada@Example.COM "}))
    assert request.customer.email == "Ada@example.com"


@pytest.mark.parametrize("email", ["ada", "ada@", "@example.com", "ada@@example.com", "ada@example",
                                   "ada..l@example.com", "ada@-example.com", "ada lovelace@example.com",
                                   "a" * 65 + "@example.com"])
def test_email_refuses_what_is_not_an_address(email):
    assert refused_fields(body(customer={"email": email})) == ["customer.email"]


@pytest.mark.parametrize("phone", ["+14155550123", "+447911123456", "+4930123456"])
def test_phone_accepts_e164(phone):
    assert InteractionIn.model_validate(body(customer={"phone": phone})).customer.phone == phone


@pytest.mark.parametrize("phone", ["4155550123", "+04155550123", "+1 415 555 0123", "+1-415-555-0123",
                                   "+1415555012345678", "+12345", "tel:+14155550123"])
def test_phone_refuses_what_is_not_e164(phone):
    assert refused_fields(body(customer={"phone": phone})) == ["customer.phone"]


def test_customer_id_is_required():
    assert refused_fields(body(customer={"id": None})) == ["customer.id"]


# --- survey kind and channel -------------------------------------------------------------------

def test_unknown_survey_kind_is_refused():
    assert refused_fields(body(survey="ces")) == ["survey"]


def test_unknown_channel_is_refused():
    assert refused_fields(body(channel="whatsapp")) == ["channel"]


def test_email_channel_without_an_email_is_refused_naming_customer_email():
    data = body(channel="email", customer={"email": None})
    assert "customer.email" in refused_message(data)
    assert refused_fields(data) == ["customer.email"]


def test_sms_channel_without_a_phone_is_refused_naming_customer_phone():
    data = body(channel="sms", customer={"phone": None})
    assert "customer.phone" in refused_message(data)
    assert refused_fields(data) == ["customer.phone"]


def test_no_address_at_all_is_refused_naming_both():
    data = body(channel=None, customer={"email": None, "phone": None})
    message = refused_message(data)
    assert "customer.email" in message and "customer.phone" in message


def test_channel_defaults_to_email_when_an_email_is_given():
    request = InteractionIn.model_validate(body(channel=None))
    assert request.channel is Channel.EMAIL


def test_channel_defaults_to_sms_when_only_a_phone_is_given():
    request = InteractionIn.model_validate(body(channel=None, customer={"email": None}))
    assert request.channel is Channel.SMS


# --- locale and time zone ------------------------------------------------------------------

@pytest.mark.parametrize("tz", ["America/New_York", "Europe/Berlin", "UTC", "Asia/Kolkata"])
def test_timezone_accepts_iana_names(tz):
    assert InteractionIn.model_validate(body(customer={"timezone": tz})).customer.timezone == tz


@pytest.mark.parametrize("tz", ["Mars/Olympus", "EST5EDT/Nowhere", "../../etc/passwd", "", "America/New_York\n"])
def test_timezone_refuses_what_is_not_an_iana_name(tz):
    assert refused_fields(body(customer={"timezone": tz})) == ["customer.timezone"]


@pytest.mark.parametrize("locale, stored", [("en", "en"), ("pt-BR", "pt-BR"), ("pt_BR", "pt-BR"),
                                            ("zh-Hant-TW", "zh-Hant-TW")])
def test_locale_accepts_language_tags(locale, stored):
    assert InteractionIn.model_validate(body(customer={"locale": locale})).customer.locale == stored


@pytest.mark.parametrize("locale", ["english!", "e", "en-", "en BR", "12", "en\n"])
def test_locale_refuses_what_is_not_a_language_tag(locale):
    assert refused_fields(body(customer={"locale": locale})) == ["customer.locale"]


# --- properties ----------------------------------------------------------------------------

def test_up_to_20_properties_of_up_to_256_characters_are_accepted():
    properties = {f"key_{i}": "v" * 256 for i in range(20)}
    assert InteractionIn.model_validate(body(properties=properties)).properties == properties


def test_more_than_20_properties_are_refused():
    assert refused_fields(body(properties={f"key_{i}": "v" for i in range(21)})) == ["properties"]


def test_a_property_value_over_256_characters_is_refused_naming_the_property():
    assert refused_fields(body(properties={"plan": "v" * 257})) == ["properties.plan"]


def test_a_property_that_is_not_a_string_is_refused():
    assert refused_fields(body(properties={"seats": {"nested": 1}})) == ["properties.seats"]


# --- unknown fields and datetimes ------------------------------------------------------------

def test_an_unknown_top_level_field_is_refused():
    assert refused_fields(body(priority="high")) == ["priority"]


def test_an_unknown_customer_field_is_refused():
    assert refused_fields(body(customer={"vip": True})) == ["customer.vip"]


def test_occurred_at_without_a_time_zone_is_refused():
    data = body(occurred_at="2026-11-24T10:00:00")
    assert refused_fields(data) == ["occurred_at"]
    assert "time zone" in refused_message(data)


def test_send_at_without_a_time_zone_is_refused():
    assert refused_fields(body(send_at="2026-11-24T10:00:00")) == ["send_at"]


def test_datetimes_with_an_offset_are_kept_as_utc():
    request = InteractionIn.model_validate(body(occurred_at="2026-11-24T12:00:00+02:00"))
    assert request.occurred_at == datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
    assert request.occurred_at.utcoffset().total_seconds() == 0


def test_every_invalid_field_is_named_at_once():
    data = body(interaction_id="bad id", survey="ces", customer={"email": "nope", "timezone": "Mars/Olympus"})
    assert set(refused_fields(data)) == {"interaction_id", "survey", "customer.email", "customer.timezone"}
