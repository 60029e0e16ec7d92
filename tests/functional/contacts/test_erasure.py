"""DELETE /v1/customers/{id}: one customer's personal data erased across surveys, responses,
follow-ups, page views, contact records and the suppression ledger, with a receipt; reports,
the other customers and the opt-out stay."""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import quote

import pytest

from chalicelib.followups.lifecycle import followup_id_for
from tests.functional.contacts.test_sms_replies import sms_in
from tests.functional.contacts.test_unsubscribe import one_click, unsubscribe_path
from tests.functional.helpers import (
    PHONE, choose_path, confirm, deliver, interaction, open_id_in, open_page, opens, post, send_email_survey,
    stored_items, stored_survey, submit_form, survey, take_jobs,
)
from tests.repos import Repositories


@pytest.fixture(autouse=True)
def any_owner(stack, monkeypatch):
    """Owners here are short names with no lead behind them: the stage takes any owner (owners as
    leads: tests/functional/followups/test_owners.py)."""
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_OWNERS_ANY_ADDRESS", "true")
    config.reset_settings()

ADA = {"id": "cus_19", "email": "ada@example.com", "phone": PHONE, "name": "Ada Lovelace", "locale": "en",
       "timezone": "America/New_York"}
BOB = {"id": "cus_20", "email": "bob@example.com", "phone": "+14155550777", "name": "Bob Brown"}
ADA_COMMENT = "Nobody read my ticket, call Ada on 415 555 0123"
NOTE = "called Ada Lovelace at home, she wants a refund"
PERSONAL = ("Ada Lovelace", "ada@example.com", PHONE, ADA_COMMENT, NOTE, "America/New_York")


def erase(api, customer_id="cus_19"):
    return api.http.delete(f"/v1/customers/{quote(customer_id, safe='')}", headers=api.headers)


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.body)
    return json.loads(response.body)


def report(api, clock, group_by):
    day = clock.now.date().isoformat()
    return ok(api.http.get(f"/v1/reports/summary?survey=csat&from={day}&to={day}&group_by={group_by}",
                           headers=api.headers))


def respond_with_comment(api, clock, link, comment):
    page = open_page(api, link)
    clock.advance(3)
    assert json.loads(confirm(api, link, page).body)["recorded"] is True
    clock.advance(5)
    fields = {"open_id": open_id_in(page.body.decode()), "score": link.rsplit("/", 1)[1], "comment": comment}
    assert submit_form(api, choose_path(link), fields).status_code == 200


def throttle_off(monkeypatch):
    """Later surveys of the same customer within days (the first one stamped the throttle)."""
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_THROTTLE_DAYS", "0")
    config.reset_settings()
    config.get_settings()  # read now: chalice's test client would otherwise apply config.json's variables


@pytest.fixture
def customers(api, stack, clock, monkeypatch):
    """Ada: an email survey answered 1 with a comment (a follow-up with a lead's note, then her
    unsubscribe), an SMS survey answered by text, a survey not sent yet; Bob: one answered survey."""
    email_id, links = send_email_survey(api, stack, interaction_id="zd-1", customer=ADA)
    mail = [m for m in stack.emails() if m.message["X-Closeloop-Survey"] == email_id][0]
    throttle_off(monkeypatch)
    response = post(api, interaction(interaction_id="zd-2", channel="sms", customer=ADA))
    sms_id = json.loads(response.body)["survey_id"]
    stack.run_jobs()
    sms_in(api, "4")
    response = post(api, interaction(interaction_id="zd-3", customer=ADA,
                                     send_at=(clock.now + timedelta(days=1)).isoformat()))
    scheduled_id = json.loads(response.body)["survey_id"]
    unsent_jobs = take_jobs(stack)
    respond_with_comment(api, clock, links[1], ADA_COMMENT)
    stack.run_jobs()  # the detractor's follow-up, after the comment wait
    followup_id = followup_id_for(email_id)
    patched = api.http.patch(f"/v1/followups/{followup_id}", headers=api.headers,
                             body=json.dumps({"owner": "sam", "note": NOTE}))
    assert patched.status_code == 200, patched.body
    assert one_click(api, unsubscribe_path(mail)).status_code == 200
    response = post(api, interaction(interaction_id="zd-4", customer=ADA))  # stored suppressed, naming her address
    assert json.loads(response.body)["reason"] == "unsubscribed: email ada@example.com"
    suppressed_id = json.loads(response.body)["survey_id"]
    bob_id, bob_links = send_email_survey(api, stack, interaction_id="zd-9", customer=BOB)
    respond_with_comment(api, clock, bob_links[5], "Bob is happy")
    stack.run_jobs()
    return dict(email=email_id, sms=sms_id, scheduled=scheduled_id, suppressed=suppressed_id, followup=followup_id,
                bob=bob_id, links=links, unsent_jobs=unsent_jobs)


def test_erasure_removes_the_customers_personal_data_and_answers_a_receipt(api, stack, clock, customers, caplog):
    views = len(opens(api, customers["email"])) + len(opens(api, customers["sms"]))
    reports_before = [report(api, clock, group_by) for group_by in ("all", "agent", "channel", "day")]
    assert stored_survey(customers["scheduled"]).status.value == "scheduled"

    caplog.set_level(logging.DEBUG, logger="chalicelib")  # the app's own records (boto's debug logs hold requests)
    caplog.set_level(logging.DEBUG, logger="app")
    caplog.clear()
    receipt = ok(erase(api))

    assert receipt["customer_id"] == "cus_19" and receipt["receipt_id"].startswith("er_")
    assert {name: receipt[name] for name in ("surveys", "comments", "page_views", "followups", "suppressions_hashed",
                                             "contact_records", "cancelled")} == {
        "surveys": 4, "comments": 1, "page_views": views, "followups": 1, "suppressions_hashed": 1,
        # throttle stamps of her id, address and number (the first survey's), and the latest SMS
        "contact_records": 4, "cancelled": 1}
    assert views >= 2
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if record.name.startswith(("chalicelib", "app")))
    assert "erasure " + receipt["receipt_id"] in logged
    assert "cus_19" not in logged and not any(value in logged for value in PERSONAL)

    # The surveys keep what reports count, nothing that names her.
    for survey_id in (customers["email"], customers["sms"], customers["scheduled"], customers["suppressed"]):
        stored = stored_survey(survey_id)
        assert stored.customer.model_dump(exclude_none=True) == {"id": "cus_19"}
        assert stored.comment is None and stored.properties == {} and stored.erased_at is not None
        assert opens(api, survey_id) == []
    shown = survey(api, customers["email"])
    assert shown["comment"] is None and shown["score"] == 1 and shown["status"] == "responded"
    assert shown["erased_at"] == receipt["erased_at"]
    assert survey(api, customers["sms"])["score"] == 4
    assert survey(api, customers["suppressed"])["suppressed_reason"] == "unsubscribed: email [erased]"
    assert [report(api, clock, group_by) for group_by in ("all", "agent", "channel", "day")] == reports_before

    # Nothing of her is left anywhere in the table.
    table = json.dumps(stored_items(stack))
    assert not any(value in table for value in PERSONAL)


def test_after_erasure_lists_exports_and_the_follow_up_show_nothing_personal(api, stack, clock, customers):
    ok(erase(api))
    day = clock.now.date().isoformat()
    listed = ok(api.http.get(f"/v1/responses?from={day}&to={day}", headers=api.headers))["responses"]
    hers = [r for r in listed if r["customer_id"] == "cus_19"]
    assert {r["survey_id"] for r in hers} == {customers["email"], customers["sms"]}
    assert all(r["comment"] is None and r["customer_name"] is None for r in hers)
    assert [r["comment"] for r in listed if r["customer_id"] == "cus_20"] == ["Bob is happy"]
    csv = api.http.get(f"/v1/responses.csv?from={day}&to={day}", headers=api.headers).body.decode("utf-8")
    assert "Bob Brown" in csv and not any(value in csv for value in PERSONAL)

    detail = ok(api.http.get(f"/v1/followups/{customers['followup']}", headers=api.headers))
    assert detail["customer_name"] is None and detail["comment"] is None and detail["survey"]["comment"] is None
    assert detail["owner"] == "sam" and detail["status"] == "claimed" and detail["score"] == 1
    assert [event["action"] for event in detail["history"]][:1] == ["opened"]
    assert not any(value in json.dumps(detail) for value in PERSONAL)
    listing = api.http.get("/v1/followups", headers=api.headers).body.decode()
    assert not any(value in listing for value in PERSONAL)


def test_her_opt_out_outlives_the_erasure_as_a_hash(api, stack, customers):
    ok(erase(api))
    ledger = ok(api.http.get("/v1/suppressions", headers=api.headers))["suppressions"]
    (entry,) = [e for e in ledger if e["kind"] == "email"]
    assert entry["value"].startswith("sha256:") and entry["reason"] == "unsubscribed"
    assert "ada@example.com" not in json.dumps(ledger)
    found = ok(api.http.get("/v1/suppressions/email/ada%40example.com", headers=api.headers))
    assert found["value"] == entry["value"]

    again = post(api, interaction(interaction_id="zd-new", customer={"id": "cus_77", "email": "ADA@example.com"}))
    assert again.status_code == 200 and json.loads(again.body)["status"] == "suppressed"
    assert "ada@example.com" not in json.loads(again.body)["reason"]

    lifted = api.http.delete("/v1/suppressions/email/ada%40example.com", headers=api.headers)
    assert lifted.status_code == 200  # an admin who knows the address can still lift it
    assert api.http.get("/v1/suppressions/email/ada%40example.com", headers=api.headers).status_code == 404


def test_nothing_is_sent_to_her_after_the_erasure(api, stack, customers):
    ok(erase(api))
    sent = len(stack.emails()), len(stack.sms())
    assert survey(api, customers["scheduled"])["status"] == "suppressed"
    assert stored_survey(customers["scheduled"]).suppressed_reason == "erased"
    for job in customers["unsent_jobs"]:
        deliver(job)
    assert (len(stack.emails()), len(stack.sms())) == sent
    # Her old links lead nowhere; a texted score finds no survey.
    assert open_page(api, customers["links"][2]).status_code == 404
    sms_in(api, "5")
    assert survey(api, customers["sms"])["score"] == 4


def test_a_repeat_is_idempotent_and_the_receipt_can_be_read_later(api, stack, customers):
    first = ok(erase(api))
    items = stored_items(stack)
    second = ok(erase(api))
    assert second["receipt_id"] != first["receipt_id"]
    assert all(second[name] == 0 for name in ("surveys", "comments", "page_views", "followups",
                                              "suppressions_hashed", "contact_records", "cancelled"))
    erasures = [i for i in stored_items(stack) if i["pk"]["S"].startswith("ERASURE#")]
    assert len(erasures) == 2 and "cus_19" not in json.dumps(erasures)
    assert without_receipts(stored_items(stack)) == without_receipts(items)  # nothing else changed

    shown = ok(api.http.get(f"/v1/erasures/{first['receipt_id']}", headers=api.headers))
    assert shown["customer_hash"].startswith("sha256:") and "customer_id" not in shown
    assert {k: v for k, v in shown.items() if k != "customer_hash"} == \
        {k: v for k, v in first.items() if k != "customer_id"}
    assert api.http.get("/v1/erasures/er_0000000000000000", headers=api.headers).status_code == 404


def without_receipts(items: list[dict]) -> list[str]:
    return sorted(json.dumps(i, sort_keys=True) for i in items if not i["pk"]["S"].startswith("ERASURE#"))


def test_another_customer_is_untouched(api, stack, customers):
    before = stored_survey(customers["bob"])
    ok(erase(api))
    assert stored_survey(customers["bob"]) == before
    assert before.customer.name == "Bob Brown" and before.comment == "Bob is happy"
    assert len(opens(api, customers["bob"])) >= 1


def test_an_unknown_customer_gets_a_receipt_of_zeros(api, stack):
    receipt = ok(erase(api, "cus_never_seen"))
    assert receipt["customer_id"] == "cus_never_seen" and receipt["surveys"] == 0 and receipt["followups"] == 0


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "ada@example.com"])
def test_an_invalid_customer_id_is_a_400_naming_it(api, stack, bad):
    response = erase(api, bad)
    assert response.status_code == 400, response.body
    assert [field["field"] for field in json.loads(response.body)["fields"]] == ["customer_id"]


def test_erasure_needs_the_api_key(api, stack):
    assert api.http.delete("/v1/customers/cus_19").status_code in (401, 403)


def test_a_keyed_hash_when_the_stage_sets_one(api, stack, customers, monkeypatch):
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_SUPPRESSION_HASH_KEY", "pepper-for-tests")
    config.reset_settings()
    config.get_settings()
    ok(erase(api))
    (entry,) = [e for e in ok(api.http.get("/v1/suppressions", headers=api.headers))["suppressions"]
                if e["kind"] == "email"]
    assert entry["value"].startswith("hmac-sha256:")
    again = post(api, interaction(interaction_id="zd-new", customer={"id": "cus_77", "email": "ada@example.com"}))
    assert json.loads(again.body)["status"] == "suppressed"


def test_a_survey_being_sent_during_the_erasure_is_suppressed_by_its_next_send_attempt(api, stack, clock):
    from chalicelib.surveys.repository import survey_key

    response = post(api, interaction(interaction_id="zd-5", customer=ADA))
    survey_id = json.loads(response.body)["survey_id"]
    (job,) = take_jobs(stack)
    Repositories().claim_step(survey_key(survey_id).pk, "SURVEY", "send", clock.now, 60)  # a send holds its lease
    assert ok(erase(api))["cancelled"] == 0
    clock.advance(61)  # that worker died: its lease ran out, the job comes back
    deliver(job)
    assert stored_survey(survey_id).suppressed_reason == "erased"
    assert stack.emails() == []


def test_a_texted_stop_stays_in_force_after_the_erasure_and_start_still_lifts_it(api, stack):
    from chalicelib.contacts import ledger as suppressions
    from chalicelib.surveys.model import ContactKind

    response = post(api, interaction(interaction_id="zd-6", channel="sms", customer=ADA))
    survey_id = json.loads(response.body)["survey_id"]
    stack.run_jobs()
    sms_in(api, "STOP")
    assert ok(erase(api))["suppressions_hashed"] == 1
    entry = suppressions.get_suppression(ContactKind.PHONE, PHONE)
    assert entry.value.startswith("sha256:") and entry.reason.value == "sms_stop"
    again = post(api, interaction(interaction_id="zd-7", channel="sms", customer={"id": "cus_8", "phone": PHONE}))
    assert json.loads(again.body)["status"] == "suppressed"
    sms_in(api, "START")
    assert suppressions.get_suppression(ContactKind.PHONE, PHONE) is None
    assert stored_survey(survey_id).customer.phone is None
