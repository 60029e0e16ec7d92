"""The suppression ledger for admins: GET/POST /v1/suppressions, GET/DELETE
/v1/suppressions/{kind}/{value}, GET /v1/suppressions/stats, and `python -m ops suppressions`."""
from __future__ import annotations

import json

import pytest

from chalicelib.contacts import ledger as suppressions
from chalicelib.contacts.model import SuppressionReason
from chalicelib.surveys.model import ContactKind
from tests.functional.helpers import PHONE, interaction, post


def add(api, body, headers=None):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return api.http.post("/v1/suppressions", headers=headers or api.headers, body=raw)


def answer(response, status=200):
    assert response.status_code == status, (response.status_code, response.body)
    return json.loads(response.body)


def error_fields(response, status=400) -> list[str]:
    body = answer(response, status)
    assert body["error"] and body["message"]
    return [field["field"] for field in body.get("fields", [])]


# --- add -------------------------------------------------------------------------------------

def test_an_admin_adds_a_manual_suppression_once(api, stack):
    created = answer(add(api, {"kind": "email", "value": "Ada@Example.COM", "reason": "manual"}), 201)
    assert created["kind"] == "email" and created["value"] == "ada@example.com"
    assert created["reason"] == "manual" and created["source"] == "tests" and created["at"].endswith("Z")
    again = answer(add(api, {"kind": "email", "value": "ada@example.com"}), 200)  # reason defaults to manual
    assert again == created

    body = answer(post(api, interaction()))
    assert body["status"] == "suppressed" and body["reason"] == "manual: email ada@example.com"
    stack.run_jobs()
    assert stack.emails() == []


def test_an_existing_entry_keeps_its_reason_when_added_again(api, stack):
    suppressions.suppress(ContactKind.PHONE, PHONE, SuppressionReason.SMS_STOP, "sms")
    kept = answer(add(api, {"kind": "phone", "value": PHONE}), 200)
    assert kept["reason"] == "sms_stop" and kept["source"] == "sms"


@pytest.mark.parametrize("body, field", [
    ({"kind": "fax", "value": "123"}, "kind"),
    ({"kind": "phone", "value": "4155550123"}, "value"),
    ({"kind": "email", "value": "not an address"}, "value"),
    ({"kind": "customer", "value": "cus 19"}, "value"),
    ({"kind": "customer", "value": ""}, "value"),
    ({"kind": "email"}, "value"),
    ({"value": "ada@example.com"}, "kind"),
    ({"kind": "email", "value": "ada@example.com", "reason": "bounced"}, "reason"),
    ({"kind": "email", "value": "ada@example.com", "note": "x"}, "note"),
    ("[]", "body"),
    ("{not json", "body"),
])
def test_a_bad_suppression_is_a_400_naming_the_field_and_records_nothing(api, stack, body, field):
    assert field in error_fields(add(api, body))
    assert suppressions.suppressions_view()["suppressions"] == []


# --- list, get, lift -------------------------------------------------------------------------

@pytest.fixture
def ledger(api):
    suppressions.suppress(ContactKind.EMAIL, "ada@example.com", SuppressionReason.BOUNCED, "ses")
    suppressions.suppress(ContactKind.PHONE, PHONE, SuppressionReason.SMS_STOP, "sms")
    suppressions.suppress(ContactKind.CUSTOMER, "cus_7", SuppressionReason.MANUAL, "ops")


def test_the_list_shows_every_entry_or_one_kind(api, ledger):
    listed = answer(api.http.get("/v1/suppressions", headers=api.headers))["suppressions"]
    assert [(e["kind"], e["value"], e["reason"]) for e in listed] == [
        ("customer", "cus_7", "manual"), ("email", "ada@example.com", "bounced"), ("phone", PHONE, "sms_stop")]
    phones = answer(api.http.get("/v1/suppressions?kind=phone", headers=api.headers))["suppressions"]
    assert [e["value"] for e in phones] == [PHONE]
    assert error_fields(api.http.get("/v1/suppressions?kind=fax", headers=api.headers)) == ["kind"]
    assert error_fields(api.http.get("/v1/suppressions?limit=3", headers=api.headers)) == ["limit"]


@pytest.mark.parametrize("path, value", [
    ("/v1/suppressions/phone/%2B14155550123", PHONE),
    ("/v1/suppressions/phone/+14155550123", PHONE),
    ("/v1/suppressions/email/ada%40example.com", "ada@example.com"),
    ("/v1/suppressions/email/ada@example.com", "ada@example.com"),
    ("/v1/suppressions/email/ADA%40Example.com", "ada@example.com"),
    ("/v1/suppressions/customer/cus_7", "cus_7"),
])
def test_one_entry_by_its_url_encoded_or_plain_value(api, ledger, path, value):
    assert answer(api.http.get(path, headers=api.headers))["value"] == value


def test_get_of_a_contact_not_suppressed_is_404_and_bad_ones_400(api, ledger):
    assert answer(api.http.get("/v1/suppressions/email/bob%40example.com", headers=api.headers), 404)
    assert error_fields(api.http.get("/v1/suppressions/fax/123", headers=api.headers)) == ["kind"]
    assert error_fields(api.http.get("/v1/suppressions/phone/123", headers=api.headers)) == ["value"]
    assert error_fields(api.http.delete("/v1/suppressions/email/nope", headers=api.headers)) == ["value"]


def test_lifting_a_suppression_lets_the_contact_be_surveyed_again(api, stack, ledger):
    lifted = answer(api.http.delete("/v1/suppressions/email/ada%40example.com", headers=api.headers))
    assert (lifted["kind"], lifted["value"], lifted["reason"]) == ("email", "ada@example.com", "bounced")
    assert answer(api.http.get("/v1/suppressions/email/ada%40example.com", headers=api.headers), 404)
    assert answer(api.http.delete("/v1/suppressions/email/ada%40example.com", headers=api.headers), 404)

    assert post(api, interaction()).status_code == 202
    stack.run_jobs()
    assert len(stack.emails()) == 1


def test_the_routes_need_the_api_key(api, ledger):
    for method, path in (("GET", "/v1/suppressions"), ("GET", "/v1/suppressions/stats"),
                         ("GET", "/v1/suppressions/email/ada%40example.com"),
                         ("DELETE", "/v1/suppressions/email/ada%40example.com"), ("POST", "/v1/suppressions")):
        response = api.http.request(method, path, headers={"Authorization": "Bearer wrong"},
                                    body=json.dumps({"kind": "email", "value": "eve@example.com"}))
        assert response.status_code in (401, 403) and b"ada@example.com" not in response.body
    assert suppressions.get_suppression(ContactKind.EMAIL, "ada@example.com") is not None
    assert suppressions.get_suppression(ContactKind.EMAIL, "eve@example.com") is None


# --- ops -------------------------------------------------------------------------------------

def test_ops_lists_adds_and_lifts(api, stack, monkeypatch, capsys):
    import ops.__main__ as ops

    monkeypatch.setattr(ops, "_use_stage", lambda stage: None)  # the test's table, not a stage's
    assert ops.main(["suppressions", "add", "email", "Ada@Example.com"]) == 0
    assert "suppressed email ada@example.com" in capsys.readouterr().out
    assert ops.main(["suppressions", "add", "email", "ada@example.com"]) == 0
    assert "already suppressed (manual" in capsys.readouterr().out
    assert suppressions.get_suppression(ContactKind.EMAIL, "ada@example.com").source == "ops"

    assert ops.main(["suppressions", "list", "--kind", "email"]) == 0
    out = capsys.readouterr().out
    assert "ada@example.com" in out and "manual" in out and "1 suppressed" in out

    assert ops.main(["suppressions", "lift", "email", "ada@example.com"]) == 0
    assert "lifted email ada@example.com" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="not suppressed"):
        ops.main(["suppressions", "lift", "email", "ada@example.com"])
    with pytest.raises(SystemExit, match="invalid phone"):
        ops.main(["suppressions", "add", "phone", "123"])
