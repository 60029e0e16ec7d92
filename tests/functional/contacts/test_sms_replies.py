"""Two-way SMS: replies arrive on the SNS replies topic and reach `handle_sms_reply`."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from tests.conftest import reset_caches
from tests.functional.helpers import PHONE, interaction, opens, post, send_sms_survey, stored_items, survey

OUR_NUMBER = "+18885550100"
STRANGER = "+14155550999"


def sms_in(api, body: str, sender: str = PHONE, message_id: str | None = None) -> str:
    """Deliver one inbound SMS to the app's SNS handler, as End User Messaging publishes it."""
    message_id = message_id or str(uuid.uuid4())
    message = {"originationNumber": sender, "destinationNumber": OUR_NUMBER, "messageKeyword": "KEYWORD_1",
               "messageBody": body, "inboundMessageId": message_id, "previousPublishedMessageId": "p1"}
    event = api.events.generate_sns_event(message=json.dumps(message))
    api.lambda_.invoke("handle_sms_reply", event)
    return message_id


def texts_to(stack, number: str = PHONE) -> list[str]:
    return [text for to, text in stack.sms() if to == number]


def phone_suppression(number: str = PHONE):
    from chalicelib.surveys.model import ContactKind
    from tests.repos import Repositories

    found = Repositories().suppressions.find([(ContactKind.PHONE, number)])
    return found[0] if found else None


def nps_sms_survey(api, stack, **overrides) -> str:
    survey_id, _ = send_sms_survey(api, stack, survey="nps", **overrides)
    return survey_id


@pytest.fixture
def no_throttle(api, monkeypatch):
    """Several surveys to one number within days (the throttle would suppress all but the first)."""
    from chalicelib.platform.settings import get_settings

    monkeypatch.setenv("CLOSELOOP_THROTTLE_DAYS", "0")
    reset_caches()
    get_settings()  # read now: chalice's test client would otherwise apply config.json's variables


# --- STOP, HELP, START ---------------------------------------------------------------------

@pytest.mark.parametrize("body", ["STOP", " stop ", "Unsubscribe", "cancel.", "END", "quit", "REVOKE", "OptOut",
                                  "STOPALL"])
def test_stop_suppresses_the_number_and_confirms_once(api, stack, body):
    message_id = sms_in(api, body)
    entry = phone_suppression()
    assert entry is not None and entry.reason.value == "sms_stop" and entry.source == "sms"
    (confirmation,) = texts_to(stack)
    assert "START" in confirmation and len(confirmation) <= 160

    sms_in(api, body, message_id=message_id)  # SNS redelivers the same reply
    sms_in(api, "STOP")                       # the customer says it again
    assert texts_to(stack) == [confirmation]


def test_a_number_suppressed_before_gets_one_confirmation_and_keeps_its_reason(api, stack):
    from chalicelib.contacts import ledger as suppressions
    from chalicelib.contacts.model import SuppressionReason
    from chalicelib.surveys.model import ContactKind

    suppressions.suppress(ContactKind.PHONE, PHONE, SuppressionReason.MANUAL, "tests")
    sms_in(api, "STOP")
    sms_in(api, "STOP")
    assert len(texts_to(stack)) == 1
    assert phone_suppression().reason is SuppressionReason.MANUAL


def test_stop_puts_the_number_in_the_ledger_that_stops_the_next_survey(api, stack):
    from chalicelib.contacts import ledger as suppressions
    from chalicelib.surveys.model import Customer

    sms_in(api, "STOP")
    entry = suppressions.suppression_for(Customer(id="cus_other", phone=PHONE))
    assert entry is not None and entry.reason.value == "sms_stop"


def test_after_stop_the_next_sms_survey_to_that_number_is_suppressed(api, stack):
    sms_in(api, "STOP")
    response = post(api, interaction(interaction_id="after-stop", channel="sms",
                                     customer={"id": "cus_new", "phone": PHONE}))
    stack.run_jobs()
    assert texts_to(stack) and len(texts_to(stack)) == 1  # the confirmation only
    answer = json.loads(response.body)
    assert answer["status"] == "suppressed" and answer["reason"].startswith("sms_stop")
    assert survey(api, answer["survey_id"])["status"] == "suppressed"


def test_help_answers_with_the_company_and_its_contact(api, stack, monkeypatch):
    from chalicelib.platform.settings import get_settings

    monkeypatch.setenv("CLOSELOOP_HELP_CONTACT", "help@acme.example")
    monkeypatch.setenv("CLOSELOOP_COMPANY_NAME", "Acme")
    reset_caches()
    get_settings()  # read now, as the fixture's settings are (chalice's client would apply config.json's)
    sms_in(api, " Help ")
    (answer,) = texts_to(stack)
    assert "Acme" in answer and "help@acme.example" in answer and "STOP" in answer and len(answer) <= 160
    assert phone_suppression() is None


def test_help_is_answered_even_after_stop(api, stack):
    sms_in(api, "STOP")
    sms_in(api, "HELP")
    assert len(texts_to(stack)) == 2


def test_start_lifts_an_sms_stop_and_confirms(api, stack):
    sms_in(api, "STOP")
    start_id = sms_in(api, "Start")
    assert phone_suppression() is None
    assert len(texts_to(stack)) == 2 and "STOP" in texts_to(stack)[1]
    sms_in(api, "START", message_id=start_id)
    sms_in(api, "START")  # nothing left to lift: no further text
    assert len(texts_to(stack)) == 2
    sms_in(api, "STOP")   # a new opt-out is confirmed again
    assert len(texts_to(stack)) == 3 and phone_suppression() is not None


def test_start_does_not_lift_a_suppression_for_another_reason(api, stack):
    from chalicelib.contacts import ledger as suppressions
    from chalicelib.contacts.model import SuppressionReason
    from chalicelib.surveys.model import ContactKind

    suppressions.suppress(ContactKind.PHONE, PHONE, SuppressionReason.MANUAL, "tests")
    sms_in(api, "START")
    assert phone_suppression().reason is SuppressionReason.MANUAL
    assert texts_to(stack) == []


# --- scores ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body,score", [("8", 8), ("9/10", 9), ("nine", 9), ("10!", 10), (" Ten ", 10), ("0", 0)])
def test_a_score_reply_answers_the_latest_sms_survey(api, stack, body, score):
    survey_id = nps_sms_survey(api, stack)
    sms_in(api, body)
    answer = survey(api, survey_id)
    assert answer["score"] == score and answer["status"] == "responded"
    thanks = texts_to(stack)[-1]
    assert str(score) in thanks and len(texts_to(stack)) == 2
    (evidence,) = opens(api, survey_id)
    assert evidence["method"] == "SMS" and evidence["user_agent"] == "sms" and evidence["verdict"] == "counted"


def test_a_redelivered_score_reply_counts_once(api, stack):
    from tests.functional.helpers import stored_survey

    survey_id = nps_sms_survey(api, stack)
    message_id = sms_in(api, "8")
    sms_in(api, "8", message_id=message_id)
    assert stored_survey(survey_id).response_version == 1
    assert len(texts_to(stack)) == 2  # the survey and one thank-you
    assert len(opens(api, survey_id)) == 1


def test_the_last_score_counts(api, stack):
    survey_id = nps_sms_survey(api, stack)
    sms_in(api, "8")
    sms_in(api, "9")
    assert survey(api, survey_id)["score"] == 9


def test_a_reply_answers_the_survey_texted_last(api, stack, no_throttle):
    first = nps_sms_survey(api, stack, interaction_id="first")
    from datetime import datetime, timezone

    from chalicelib.platform import clock

    clock.set_now(datetime.now(timezone.utc) + timedelta(seconds=5))
    response = post(api, interaction(interaction_id="second", channel="sms", survey="nps"))
    second = json.loads(response.body)["survey_id"]
    stack.run_jobs()
    sms_in(api, "7")
    assert survey(api, second)["score"] == 7 and survey(api, first)["score"] is None


def test_a_detractor_reply_queues_the_follow_up_decision_like_a_click(api, stack):
    survey_id = nps_sms_survey(api, stack)
    sms_in(api, "3")
    handle = [(job, delay) for job, delay in stack.delays if job.kind == "handle_response"]
    assert [(job.survey_id, job.expected_version, delay) for job, delay in handle] == [(survey_id, 1, 10)]
    stack.run_jobs()
    (alert,) = stack.alerts()
    assert "3" in alert["message"] and "zd-48213" in alert["message"]


def test_a_score_outside_the_scale_is_an_unknown_reply(api, stack):
    survey_id, _ = send_sms_survey(api, stack, survey="csat")
    sms_in(api, "7")
    sms_in(api, "9/10")
    assert survey(api, survey_id)["score"] is None
    assert len(texts_to(stack)) == 2 and "1 to 5" in texts_to(stack)[1]
    sms_in(api, "4/5")
    assert survey(api, survey_id)["score"] == 4


def test_a_score_after_stop_is_recorded_without_a_reply(api, stack):
    survey_id = nps_sms_survey(api, stack)
    sms_in(api, "STOP")
    sms_in(api, "9")
    assert survey(api, survey_id)["score"] == 9
    assert len(texts_to(stack)) == 2  # the survey and the STOP confirmation


def test_a_reply_to_an_expired_survey_says_it_is_closed_once(api, stack):
    from datetime import datetime, timezone

    from chalicelib.platform import clock

    survey_id = nps_sms_survey(api, stack)
    clock.set_now(datetime.now(timezone.utc) + timedelta(days=29))
    sms_in(api, "9")
    sms_in(api, "9")
    assert survey(api, survey_id)["score"] is None
    assert len(texts_to(stack)) == 2 and "closed" in texts_to(stack)[1]


# --- anything else ---------------------------------------------------------------------------

def test_unknown_text_gets_one_help_reply_per_survey_and_changes_nothing(api, stack, no_throttle):
    survey_id = nps_sms_survey(api, stack)
    before = [item for item in stored_items(stack) if item["sk"]["S"] == "SURVEY"]
    sms_in(api, "thanks, that was quick")
    sms_in(api, "who is this?")
    assert len(texts_to(stack)) == 2 and "0 to 10" in texts_to(stack)[1]
    after = [item for item in stored_items(stack) if item["sk"]["S"] == "SURVEY"]
    assert after == before and phone_suppression() is None
    nps_sms_survey_again = post(api, interaction(interaction_id="another", channel="sms", survey="nps"))
    assert nps_sms_survey_again.status_code == 202
    stack.run_jobs()
    sms_in(api, "hm")  # a new survey: one more help reply
    assert len(texts_to(stack)) == 4


def test_a_number_never_surveyed_gets_one_short_reply(api, stack):
    sms_in(api, "8", sender=STRANGER)
    sms_in(api, "hello", sender=STRANGER)
    (reply,) = texts_to(stack, STRANGER)
    assert "no open survey" in reply


def test_a_malformed_message_is_dropped(api, stack):
    for message in ("not json", json.dumps({"originationNumber": "12", "messageBody": "STOP",
                                            "inboundMessageId": "x"}), json.dumps({"messageBody": "STOP"})):
        api.lambda_.invoke("handle_sms_reply", api.events.generate_sns_event(message=message))
    assert stored_items(stack) == [] and stack.sms() == []
