"""Sending when the providers misbehave: throttling is retried, refusals are final, and a survey
is never sent twice, even when a job is delivered again or a worker dies midway."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from chalicelib.delivery.sending import SEND_LEASE_SECONDS
from chalicelib.platform import aws
from chalicelib.storage.steps import StepBusy
from chalicelib.surveys.repository import SurveyRepository
from tests.functional.helpers import (
    BROWSER, confirm, deliver, interaction, open_page, path_of, post, requested_delays, score_links, survey, take_jobs,
)


class FlakyProvider:
    """Replaces a client method: raises `code` for the first `failures` calls, then calls through."""

    def __init__(self, monkeypatch, service: str, method: str, code: str, failures: int):
        client = aws.client(service)
        self.real = getattr(client, method)
        self.code, self.failures, self.calls = code, failures, 0
        self.operation = "".join(part.title() for part in method.split("_"))
        monkeypatch.setattr(client, method, self)

    def __call__(self, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise ClientError({"Error": {"Code": self.code, "Message": "injected by the test"}}, self.operation)
        return self.real(**kwargs)


CHANNELS = {
    "email": {"service": "sesv2", "method": "send_email", "body": {"channel": "email"}},
    "sms": {"service": "sns", "method": "publish", "body": {"channel": "sms", "survey": "nps"}},
}


def flaky(monkeypatch, channel: str, code: str, failures: int) -> FlakyProvider:
    spec = CHANNELS[channel]
    return FlakyProvider(monkeypatch, spec["service"], spec["method"], code, failures)


def sent_on(stack, channel: str) -> list:
    return stack.emails() if channel == "email" else stack.sms()


def accept(api, channel: str = "email") -> str:
    response = post(api, interaction(**CHANNELS[channel]["body"]))
    assert response.status_code == 202
    return json.loads(response.body)["survey_id"]


@pytest.mark.parametrize("channel,code", [("email", "Throttling"), ("email", "TooManyRequestsException"),
                                          ("sms", "Throttling"), ("sms", "TooManyRequestsException")])
def test_throttling_is_retried_with_growing_backoff_and_then_sent_exactly_once(api, stack, monkeypatch,
                                                                               channel, code):
    provider = flaky(monkeypatch, channel, code, failures=3)
    survey_id = accept(api, channel)

    stack.run_jobs()

    assert provider.calls == 4
    assert len(sent_on(stack, channel)) == 1
    retries = requested_delays(stack, "send_survey")[1:]
    assert [attempt for attempt, _ in retries] == [1, 2, 3]
    delays = [delay for _, delay in retries]
    assert delays[0] > 0 and all(later > earlier for earlier, later in zip(delays, delays[1:])), delays
    state = survey(api, survey_id)
    assert state["status"] == "sent" and state["sent_at"] and state["failure_reason"] is None


@pytest.mark.parametrize("channel,code", [("email", "MessageRejected"), ("email", "AccountSuspendedException"),
                                          ("sms", "InvalidParameter"), ("sms", "OptedOut")])
def test_a_permanent_refusal_fails_the_survey_with_the_reason_and_sends_nothing(api, stack, monkeypatch,
                                                                               channel, code):
    provider = flaky(monkeypatch, channel, code, failures=99)
    survey_id = accept(api, channel)

    stack.run_jobs()

    assert provider.calls == 1  # not retried
    assert sent_on(stack, channel) == []
    assert requested_delays(stack, "send_survey") == [(0, 0)]
    state = survey(api, survey_id)
    assert state["status"] == "failed" and state["sent_at"] is None
    assert code in state["failure_reason"] and "refused" in state["failure_reason"]


def test_when_retries_are_exhausted_the_survey_fails_and_nothing_is_sent(api, stack, monkeypatch):
    provider = flaky(monkeypatch, "email", "Throttling", failures=99)
    survey_id = accept(api)

    stack.run_jobs()

    assert provider.calls == 5  # CLOSELOOP_MAX_SEND_ATTEMPTS defaults to 5
    assert stack.emails() == []
    delays = [delay for _, delay in requested_delays(stack, "send_survey")[1:]]
    assert len(delays) == 4 and all(later > earlier for earlier, later in zip(delays, delays[1:])), delays
    state = survey(api, survey_id)
    assert state["status"] == "failed"
    assert "5 attempts" in state["failure_reason"] and "Throttling" in state["failure_reason"]


def test_a_send_job_delivered_twice_sends_once(api, stack):
    survey_id = accept(api)
    (job,) = take_jobs(stack)

    deliver(job)
    deliver(job)
    stack.run_jobs()

    assert len(stack.emails()) == 1
    assert survey(api, survey_id)["status"] == "sent"


def test_the_same_interaction_posted_while_its_send_is_queued_sends_once(api, stack):
    survey_id = accept(api)
    again = post(api, interaction())
    assert again.status_code == 200 and json.loads(again.body)["survey_id"] == survey_id
    stack.run_jobs()  # two send jobs for one survey
    assert len(stack.emails()) == 1


def test_a_crash_after_the_provider_took_the_email_never_sends_a_second_one(api, stack, monkeypatch, clock):
    real_mark_sent = SurveyRepository.mark_sent
    crashes = []

    def mark_sent_crashing_once(self, *args, **kwargs):
        if not crashes:
            crashes.append(1)
            raise RuntimeError("worker died after SES accepted the message")
        return real_mark_sent(self, *args, **kwargs)

    monkeypatch.setattr(SurveyRepository, "mark_sent", mark_sent_crashing_once)
    survey_id = accept(api)
    (job,) = take_jobs(stack)

    with pytest.raises(RuntimeError):
        deliver(job)  # SQS will deliver the message again
    assert len(stack.emails()) == 1
    assert survey(api, survey_id)["status"] == "scheduled"

    clock.advance(SEND_LEASE_SECONDS - 10)
    with pytest.raises(StepBusy):
        deliver(job)  # inside the lease: the first worker might still be sending
    assert len(stack.emails()) == 1

    clock.advance(11)  # the lease ran out without the send being marked done
    deliver(job)
    deliver(job)
    stack.run_jobs()

    assert len(stack.emails()) == 1
    state = survey(api, survey_id)
    assert state["status"] == "failed" and "stopped midway" in state["failure_reason"]

    # The one email that did go out still works for the customer.
    link = path_of(score_links(stack.emails()[0].part("plain"))[4])
    clock.advance(60)
    page = open_page(api, link, BROWSER)
    clock.advance(3)
    assert json.loads(confirm(api, link, page).body) == {"recorded": True, "score": 4}
    assert survey(api, survey_id)["score"] == 4


def test_a_transient_error_releases_the_send_so_a_redelivery_can_send_at_once(api, stack, monkeypatch):
    provider = flaky(monkeypatch, "email", "ServiceUnavailable", failures=1)
    survey_id = accept(api)
    (job,) = take_jobs(stack)

    deliver(job)  # fails, queues a retry
    assert survey(api, survey_id)["status"] == "scheduled"
    deliver(job)  # the original message comes back before the retry: no lease in the way
    stack.run_jobs()  # then the retry finds it sent

    assert provider.calls == 2 and len(stack.emails()) == 1
    assert survey(api, survey_id)["status"] == "sent"
