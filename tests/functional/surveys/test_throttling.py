"""Who must not be surveyed: one survey per customer per throttle window (by customer id, email and
phone, across channels), none while a recovery follow-up is open, none to a suppressed contact.
A suppressed request answers 200 {"survey_id", "status": "suppressed", "reason"}, is stored (so
its repeat answers the same) and is counted; nothing is sent."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib.contacts import ledger as suppressions
from chalicelib.contacts.model import SuppressionReason
from chalicelib.followups.jobs import SendResurvey
from chalicelib.followups.lifecycle import Change
from chalicelib.followups.model import FollowUpStatus
from chalicelib.surveys.model import ContactKind
from tests.functional.helpers import (
    PHONE, confirm, deliver, fire_timers, interaction, open_page, post, send_email_survey, stored_items, stored_survey,
    survey, take_jobs,
)
from tests.repos import Repositories

DAY = 86400


@pytest.fixture
def throttle_days(monkeypatch):
    """Set CLOSELOOP_THROTTLE_DAYS for one test (read at once, before the test client's stage config)."""
    from chalicelib.platform import settings as config

    def set_days(days: int):
        monkeypatch.setenv("CLOSELOOP_THROTTLE_DAYS", str(days))
        config.reset_settings()
        config.get_settings()

    return set_days


def accepted(response, status=202) -> dict:
    assert response.status_code == status, (response.status_code, response.body)
    return json.loads(response.body)


def suppressed(response) -> dict:
    body = accepted(response, 200)
    assert set(body) == {"survey_id", "status", "reason"} and body["status"] == "suppressed", body
    return body


def sent_count(stack) -> int:
    return len(stack.emails()) + len(stack.sms())


def stats(api) -> dict:
    response = api.http.get("/v1/suppressions/stats", headers=api.headers)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def assert_stored_suppressed(api, survey_id, reason):
    shown = survey(api, survey_id)
    assert shown["status"] == "suppressed" and shown["suppressed_reason"] == reason and shown["sent_at"] is None


# --- the throttle window ---------------------------------------------------------------------

def test_a_second_interaction_of_the_customer_within_30_days_is_suppressed(api, stack, clock):
    first = accepted(post(api, interaction(interaction_id="zd-1")))
    stack.run_jobs()
    clock.advance(29 * DAY)
    second = suppressed(post(api, interaction(interaction_id="zd-2")))
    assert second["reason"] == "surveyed within the last 30 days: customer cus_19"
    stack.run_jobs()

    assert sent_count(stack) == 1
    assert [job.survey_id for job, _ in stack.delays] == [first["survey_id"]]  # nothing queued for the second
    assert_stored_suppressed(api, second["survey_id"], second["reason"])
    assert stored_survey(second["survey_id"]).interaction_id == "zd-2"
    # Repeats answer as before, 200, and send nothing.
    assert suppressed(post(api, interaction(interaction_id="zd-2"))) == second
    assert accepted(post(api, interaction(interaction_id="zd-1")), 200)["survey_id"] == first["survey_id"]
    stack.run_jobs()
    assert sent_count(stack) == 1


def test_the_same_email_under_another_customer_id_is_throttled(api, stack, clock):
    send_email_survey(api, stack)
    body = suppressed(post(api, interaction(interaction_id="zd-2", customer={"id": "cus_other",
                                                                             "email": "Ada@Example.COM"})))
    assert body["reason"] == "surveyed within the last 30 days: email ada@example.com"
    stack.run_jobs()
    assert sent_count(stack) == 1


def test_the_same_phone_by_sms_is_throttled_across_channels(api, stack, clock):
    send_email_survey(api, stack)  # by email, to a customer who also gave this phone
    body = suppressed(post(api, interaction(interaction_id="zd-2", channel="sms",
                                            customer={"id": "cus_other", "phone": PHONE})))
    assert body["reason"] == f"surveyed within the last 30 days: phone {PHONE}"
    stack.run_jobs()
    assert stack.sms() == [] and len(stack.emails()) == 1


def test_after_the_window_the_customer_is_surveyed_again(api, stack, clock):
    send_email_survey(api, stack)
    clock.advance(30 * DAY - 1)
    suppressed(post(api, interaction(interaction_id="zd-2")))
    clock.advance(2)
    third = accepted(post(api, interaction(interaction_id="zd-3")))
    stack.run_jobs()
    assert survey(api, third["survey_id"])["status"] == "sent" and len(stack.emails()) == 2


def test_the_window_is_configurable_and_0_turns_it_off(api, stack, clock, throttle_days):
    throttle_days(0)
    for n in range(3):
        accepted(post(api, interaction(interaction_id=f"zd-{n}")))
    stack.run_jobs()
    assert len(stack.emails()) == 3
    assert not [item for item in stored_items(stack) if item["pk"]["S"].startswith("THROTTLE#")]

    throttle_days(1)
    accepted(post(api, interaction(interaction_id="zd-a")))
    body = suppressed(post(api, interaction(interaction_id="zd-b")))
    assert body["reason"] == "surveyed within the last 1 day: customer cus_19"
    clock.advance(DAY + 1)
    accepted(post(api, interaction(interaction_id="zd-c")))


def test_concurrent_interactions_of_one_customer_schedule_exactly_one(api, stack, clock):
    from chalicelib import surveys
    from chalicelib.surveys.model import InteractionIn

    requests = [InteractionIn.model_validate(interaction(interaction_id=f"zd-{n}")) for n in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda r: surveys.accept_interaction(r, "http://127.0.0.1:8000").view(), requests))
    assert sorted(a["status"] for a in answers) == ["scheduled"] + ["suppressed"] * 5
    stack.run_jobs()
    assert len(stack.emails()) == 1
    assert stats(api)["by_reason"]["throttled"] == 5


# --- the ledger ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, value, reason, channel, expected", [
    (ContactKind.CUSTOMER, "cus_19", SuppressionReason.MANUAL, "email", "manual: customer cus_19"),
    (ContactKind.EMAIL, "ADA@example.com", SuppressionReason.UNSUBSCRIBED, "email",
     "unsubscribed: email ada@example.com"),
    (ContactKind.PHONE, PHONE, SuppressionReason.SMS_STOP, "sms", f"sms_stop: phone {PHONE}"),
], ids=["customer", "email", "phone"])
def test_a_suppressed_contact_is_not_surveyed(api, stack, clock, kind, value, reason, channel, expected):
    suppressions.suppress(kind, value, reason, "test")
    body = suppressed(post(api, interaction(channel=channel)))
    assert body["reason"] == expected
    stack.run_jobs()
    assert sent_count(stack) == 0 and stack.delays == []
    assert_stored_suppressed(api, body["survey_id"], expected)
    assert suppressed(post(api, interaction(channel=channel))) == body  # the repeat: same answer
    assert stats(api)["by_reason"][reason.value] == 1

    # A suppressed survey stamps no throttle: once lifted, the customer is surveyed at once.
    suppressions.lift_suppression(kind, value)
    accepted(post(api, interaction(interaction_id="zd-after-lift", channel=channel)))
    stack.run_jobs()
    assert sent_count(stack) == 1


def test_a_stop_by_sms_does_not_stop_email_surveys(api, stack, clock):
    suppressions.suppress(ContactKind.PHONE, PHONE, SuppressionReason.SMS_STOP, "sms")
    accepted(post(api, interaction(channel="email")))
    stack.run_jobs()
    assert len(stack.emails()) == 1


def test_a_contact_suppressed_after_acceptance_is_not_sent_to(api, stack, clock):
    body = accepted(post(api, interaction()))
    (job,) = take_jobs(stack)
    suppressions.suppress(ContactKind.EMAIL, "ada@example.com", SuppressionReason.BOUNCED, "ses")
    deliver(job)
    deliver(job)  # SQS delivers at least once
    stack.run_jobs()
    assert stack.emails() == []
    assert_stored_suppressed(api, body["survey_id"], "bounced: email ada@example.com")
    assert stats(api)["by_reason"]["bounced"] == 1
    assert accepted(post(api, interaction()), 200) == {"survey_id": body["survey_id"], "status": "suppressed",
                                                       "reason": "bounced: email ada@example.com"}


# --- open recovery follow-ups ----------------------------------------------------------------

def detractor_followup(api, stack, link) -> str:
    page = open_page(api, link)
    assert json.loads(confirm(api, link, page).body)["recorded"] is True
    stack.run_jobs()
    followups = [item for item in stored_items(stack) if item["pk"]["S"].startswith("FOLLOWUP#")]
    assert len(followups) == 1
    return followups[0]["followup_id"]["S"]


def test_an_open_followup_blocks_surveys_and_a_resolved_one_does_not(api, stack, clock, throttle_days):
    from chalicelib.followups import lifecycle as followups

    throttle_days(0)  # only the follow-up rule at work
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])

    body = suppressed(post(api, interaction(interaction_id="zd-2")))
    assert body["reason"] == "open follow-up"
    followups.change(followup_id, Change(status=FollowUpStatus.CLAIMED, owner="sam"), "lead")
    assert suppressed(post(api, interaction(interaction_id="zd-3")))["reason"] == "open follow-up"

    followups.change(followup_id, Change(status=FollowUpStatus.RESOLVED), "sam")
    accepted(post(api, interaction(interaction_id="zd-4")))
    assert stats(api)["by_reason"]["open_followup"] == 2

    followups.change(followup_id, Change(status=FollowUpStatus.OPEN), "lead")  # reopened: blocks again
    assert suppressed(post(api, interaction(interaction_id="zd-5")))["reason"] == "open follow-up"


def test_the_resurvey_after_a_resolved_followup_is_sent_despite_the_throttle(api, stack, clock):
    from chalicelib.followups import lifecycle as followups

    original_id, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    followups.change(followup_id, Change(status=FollowUpStatus.CLAIMED, owner="sam"), "lead")
    followups.change(followup_id, Change(status=FollowUpStatus.RESOLVED), "sam")
    clock.advance(3 * DAY)
    assert fire_timers()["timers_fired"] == 1  # the re-survey's timer
    (job,) = [j for j in take_jobs(stack) if isinstance(j, SendResurvey)]
    deliver(job)
    stack.run_jobs()

    resurvey_id = Repositories().followups.get(followup_id).resurvey_id
    assert resurvey_id and resurvey_id != original_id
    assert survey(api, resurvey_id)["status"] == "sent" and len(stack.emails()) == 2
    # The throttle still counts from the original survey: a new interaction now is suppressed.
    assert suppressed(post(api, interaction(interaction_id="zd-2")))["reason"].startswith("surveyed within")


def test_the_ledger_still_applies_to_a_resurvey(api, stack, clock):
    from chalicelib.followups import lifecycle as followups

    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    followups.change(followup_id, Change(status=FollowUpStatus.CLAIMED, owner="sam"), "lead")
    followups.change(followup_id, Change(status=FollowUpStatus.RESOLVED), "sam")
    suppressions.suppress(ContactKind.EMAIL, "ada@example.com", SuppressionReason.UNSUBSCRIBED, "unsubscribe-link")
    clock.advance(3 * DAY)
    assert fire_timers()["timers_fired"] == 1  # the re-survey's timer
    (job,) = [j for j in take_jobs(stack) if isinstance(j, SendResurvey)]
    deliver(job)
    stack.run_jobs()

    resurvey_id = Repositories().followups.get(followup_id).resurvey_id
    assert survey(api, resurvey_id)["status"] == "suppressed" and len(stack.emails()) == 1
    assert survey(api, resurvey_id)["suppressed_reason"] == "unsubscribed: email ada@example.com"


# --- counters --------------------------------------------------------------------------------

def test_suppressions_are_counted_by_reason_once_per_survey(api, stack, clock):
    assert stats(api) == {"suppressed": 0, "by_reason": {reason: 0 for reason in suppressions.COUNTED_REASONS}}
    send_email_survey(api, stack)
    for _ in range(3):  # one suppressed interaction, posted three times
        suppressed(post(api, interaction(interaction_id="zd-2")))
    suppressions.suppress(ContactKind.CUSTOMER, "cus_19", SuppressionReason.MANUAL, "test")
    suppressed(post(api, interaction(interaction_id="zd-3")))
    counted = stats(api)
    assert counted["suppressed"] == 2
    assert counted["by_reason"]["throttled"] == 1 and counted["by_reason"]["manual"] == 1
