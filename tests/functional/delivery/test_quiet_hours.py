"""SMS quiet hours through the stack: a text due at night waits for 09:00 local; email does not."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.platform.settings import reset_settings
from tests.functional.helpers import deliver, fire_timers, interaction, post, survey, survey_timer, take_jobs

NY = ZoneInfo("America/New_York")
# 23:00 on 2026-11-23 in New York (EST, UTC-5).
NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=NY).astimezone(timezone.utc)
NEXT_NINE = datetime(2026, 11, 24, 9, 0, tzinfo=NY).astimezone(timezone.utc)


@pytest.fixture
def quiet_hours(stack, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_SMS_QUIET_HOURS_ENABLED", "true")
    reset_settings()


def accept(api, **overrides) -> str:
    response = post(api, interaction(occurred_at="2026-11-24T03:30:00Z", **overrides))
    assert response.status_code == 202, response.body
    return json.loads(response.body)["survey_id"]


def test_sms_at_night_is_deferred_to_nine_local_and_sent_once(api, stack, clock, quiet_hours):
    clock.set(NIGHT)
    survey_id = accept(api, channel="sms")
    (job,) = take_jobs(stack)
    stack.delays.clear()
    deliver(job)

    assert stack.sms() == []
    assert survey(api, survey_id)["status"] == "scheduled"
    # Ten hours is beyond a queue delay: the send waits as a timer on the survey, in one step.
    assert stack.delays == [] and survey_timer(survey_id) == (NEXT_NINE, job)
    clock.set(datetime(2026, 11, 24, 8, 59, tzinfo=NY).astimezone(timezone.utc))
    assert fire_timers()["timers_fired"] == 0 and stack.sms() == []  # still quiet

    clock.set(NEXT_NINE)
    assert fire_timers()["timers_fired"] == 1
    stack.run_jobs()
    assert len(stack.sms()) == 1
    assert survey(api, survey_id)["status"] == "sent"
    stack.run_jobs()
    assert len(stack.sms()) == 1


def test_email_at_night_is_sent_at_once(api, stack, clock, quiet_hours):
    clock.set(NIGHT)
    survey_id = accept(api, channel="email")
    stack.run_jobs()
    assert len(stack.emails()) == 1
    assert survey(api, survey_id)["status"] == "sent"
    assert all(delay == 0 for job, delay in stack.delays if job.survey_id == survey_id and job.kind == "send_survey")


def test_no_customer_timezone_uses_the_stage_default(api, stack, clock, quiet_hours, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_DEFAULT_TIMEZONE", "Europe/London")
    reset_settings()
    customer = {**interaction()["customer"]}
    customer.pop("timezone")
    # 23:00 New York is 04:00 in London: quiet there too, until 09:00 GMT (= 09:00 UTC).
    clock.set(NIGHT)
    survey_id = accept(api, channel="sms", customer=customer)
    (job,) = take_jobs(stack)
    deliver(job)
    assert stack.sms() == []
    assert survey_timer(survey_id) == (datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc), job)  # 5 hours later

    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc))
    fire_timers()
    stack.run_jobs()
    assert len(stack.sms()) == 1
    assert survey(api, survey_id)["status"] == "sent"


def test_a_customer_zone_where_it_is_daytime_is_sent_at_once(api, stack, clock, quiet_hours):
    clock.set(NIGHT)  # 04:00 UTC is 13:00 in Tokyo
    customer = {**interaction()["customer"], "timezone": "Asia/Tokyo"}
    accept(api, channel="sms", customer=customer)
    stack.run_jobs()
    assert len(stack.sms()) == 1
