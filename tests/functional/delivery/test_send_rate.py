"""The sending rate through the stack: a burst goes out evenly spaced at the configured rate, the
rest waits (in the handler, or on the queue with its reserved moment) and goes later; nothing is
lost, nothing is sent twice; email and SMS have rates of their own; a reminder takes its moment
like a send; SES throttling is retried with backoff and then sent once.

Handlers run one after another here, but each starts at its job's due time on the frozen clock,
and its waits move the clock only while it runs: as if every job had a concurrent handler of its
own. Each message is timed as the provider takes it.
"""
from __future__ import annotations

import heapq
import itertools
import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from chalicelib.contacts import ledger as suppressions
from chalicelib.contacts.model import SuppressionReason
from chalicelib.delivery import send_rate
from chalicelib.delivery.jobs import SendSurvey
from chalicelib.delivery.send_rate import SendMoments
from chalicelib.platform import aws, jobs
from chalicelib.platform.jobs import MAX_DELAY_SECONDS
from chalicelib.platform.settings import reset_settings
from chalicelib.surveys.model import ContactKind
from tests.functional.helpers import deliver, fire_timers, interaction, next_timer_at, post, stored_survey, survey


class TimedQueue:
    """The jobs queue with its delays honoured against the frozen clock (whole seconds, at most 15
    minutes, as SQS); `run` hands each job to the handler at its due time, and when nothing is
    queued runs the schedule at the next timer's time (storage/timers.py)."""

    def __init__(self, monkeypatch, clock):
        self.clock = clock
        self.pending: list[tuple] = []
        self.delays: list[tuple] = []  # (job, delay) of every enqueue, in order
        self._order = itertools.count()
        monkeypatch.setattr(jobs, "enqueue", self.enqueue)
        monkeypatch.setattr(jobs, "enqueue_many", lambda queued: [self.enqueue(job) for job in queued])

    def enqueue(self, job, delay_seconds: float = 0) -> None:
        delay = max(0, min(MAX_DELAY_SECONDS, int(round(delay_seconds))))
        self.delays.append((job, delay))
        heapq.heappush(self.pending, (self.clock.now + timedelta(seconds=delay), next(self._order), job))

    def run(self) -> None:
        while True:
            while self.pending:
                due, _, job = heapq.heappop(self.pending)
                self.clock.set(due)
                deliver(job)
            due = next_timer_at()
            if due is None:
                return
            self.clock.set(max(due, self.clock.now))
            fire_timers()


class Sent:
    """When each message went: SES's SendEmail and SNS's Publish, timed on the frozen clock."""

    def __init__(self, monkeypatch, clock):
        self.times: list[tuple[str, float, str]] = []  # (channel, epoch seconds, recipient)
        for channel, service, method in (("email", "sesv2", "send_email"), ("sms", "sns", "publish")):
            client = aws.client(service)
            monkeypatch.setattr(client, method, self._timed(channel, getattr(client, method), clock))

    def _timed(self, channel, real, clock):
        def call(**kwargs):
            response = real(**kwargs)
            recipient = kwargs["Destination"]["ToAddresses"][0] if channel == "email" else kwargs["PhoneNumber"]
            self.times.append((channel, clock.now.timestamp(), recipient))
            return response
        return call

    def per_second(self, start: float, channel: str = "email") -> list[int]:
        counts: dict[int, int] = {}
        for sent_channel, at, _ in self.times:
            if sent_channel == channel:
                counts[int(at - start)] = counts.get(int(at - start), 0) + 1
        return [counts.get(second, 0) for second in range(max(counts, default=-1) + 1)]

    def offsets(self, start: float, channel: str = "email") -> list[float]:
        return sorted(at - start for sent_channel, at, _ in self.times if sent_channel == channel)


@pytest.fixture
def queue(stack, clock, monkeypatch):
    return TimedQueue(monkeypatch, clock)


@pytest.fixture
def sent(stack, clock, monkeypatch):
    return Sent(monkeypatch, clock)


@pytest.fixture
def waits(clock, monkeypatch) -> list[float]:
    """The handler's waits for its moment: recorded, and passed on the frozen clock."""
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock.advance(seconds)

    monkeypatch.setattr(send_rate, "_sleep", sleep)
    return pauses


def rates(monkeypatch, email: float = 14, sms: float = 20) -> None:
    monkeypatch.setenv("CLOSELOOP_EMAIL_MAX_PER_SECOND", str(email))
    monkeypatch.setenv("CLOSELOOP_SMS_MAX_PER_SECOND", str(sms))
    reset_settings()


def accept(api, number: int, channel: str = "email") -> str:
    """An interaction of a customer of its own (the throttle allows one survey per customer)."""
    customer = {"id": f"cus_{number}", "email": f"customer{number}@example.com",
                "phone": f"+1415555{number:04d}", "name": "Ada"}
    response = post(api, interaction(interaction_id=f"zd-{number}", customer=customer, channel=channel,
                                     survey="nps" if channel == "sms" else "csat"))
    assert response.status_code == 202, response.body
    return json.loads(response.body)["survey_id"]


def rate_deferrals(queue) -> list[float]:
    """The delays of the jobs that went back on the queue to wait for their moment."""
    return [delay for job, delay in queue.delays if job.send_slot is not None]


def test_a_burst_goes_out_evenly_spaced_at_the_rate_each_survey_exactly_once(api, stack, clock, queue, sent,
                                                                              waits, monkeypatch):
    rates(monkeypatch, email=3.15)  # moments 1.05/3.15 s apart: a third of a second
    start = clock.now.timestamp()
    survey_ids = [accept(api, number) for number in range(10)]  # all in one instant

    queue.run()

    assert sent.per_second(start) == [3, 3, 3, 1]
    assert sent.offsets(start) == pytest.approx([n * 0.333334 for n in range(10)], abs=1e-5)
    # Moments up to 2 s ahead are waited for in the handler; the last four come back from the
    # queue a second or two before theirs, carrying it.
    assert len(waits) == 9 and max(waits) <= send_rate.WAIT_AT_MOST_SECONDS
    assert rate_deferrals(queue) == [1, 1, 1, 2]
    assert queue.pending == []
    emailed = sorted(recipient for _, _, recipient in sent.times)
    assert emailed == sorted(f"customer{number}@example.com" for number in range(10))  # once each
    assert {survey(api, survey_id)["status"] for survey_id in survey_ids} == {"sent"}


def test_sms_and_email_have_rates_of_their_own(api, stack, clock, queue, sent, waits, monkeypatch):
    rates(monkeypatch, email=2, sms=4)
    start = clock.now.timestamp()
    emails = [accept(api, number, "email") for number in range(5)]
    texts = [accept(api, number, "sms") for number in range(100, 109)]

    queue.run()

    assert sent.per_second(start, "email") == [2, 2, 1]
    assert sent.per_second(start, "sms") == [4, 4, 1]
    assert {survey(api, survey_id)["status"] for survey_id in emails + texts} == {"sent"}
    assert len({recipient for channel, _, recipient in sent.times if channel == "sms"}) == 9


def test_below_one_per_second(api, stack, clock, queue, sent, waits, monkeypatch):
    rates(monkeypatch, email=0.525)  # moments 2 s apart
    start = clock.now.timestamp()
    for number in range(4):
        accept(api, number)

    queue.run()

    assert sent.offsets(start) == pytest.approx([0, 2, 4, 6])


def test_checks_that_stop_a_send_come_before_its_moment(api, stack, clock, queue, sent, waits, monkeypatch):
    rates(monkeypatch, email=1)
    start = clock.now.timestamp()
    suppressed = accept(api, 1)
    suppressions.suppress(ContactKind.EMAIL, "customer1@example.com", SuppressionReason.MANUAL, "test")
    wanted = accept(api, 2)

    queue.run()

    assert survey(api, suppressed)["status"] == "suppressed"
    assert survey(api, wanted)["status"] == "sent"
    assert sent.offsets(start) == [0]  # the suppressed survey reserved nothing: no wait


def test_a_reminder_takes_its_moment_like_a_send(api, stack, clock, queue, sent, waits, monkeypatch):
    rates(monkeypatch, email=1.05)  # moments 1 s apart
    monkeypatch.setenv("CLOSELOOP_REMINDER_AFTER_SECONDS", "60")
    reset_settings()
    start = clock.now.timestamp()
    reminded = accept(api, 1)
    clock.advance(60)
    other = accept(api, 2)  # due in the same instant as the first survey's reminder

    queue.run()

    # The second survey took the moment at 60 s, the reminder the next one; then the second's reminder.
    assert [(at - start, recipient) for _, at, recipient in sorted(sent.times, key=lambda t: t[1])] == [
        (0, "customer1@example.com"), (60, "customer2@example.com"), (61, "customer1@example.com"),
        (120, "customer2@example.com")]
    assert stored_survey(reminded).reminded_at is not None and survey(api, other)["status"] == "sent"


@pytest.mark.parametrize("code", ["ThrottlingException", "Throttling"])
def test_ses_maximum_sending_rate_exceeded_is_retried_with_backoff_then_sent_once(api, stack, clock, queue, waits,
                                                                                  monkeypatch, code):
    """SES v2 answers ThrottlingException, the v1 API Throttling; both "Maximum sending rate
    exceeded." (another sender on the account, say). The rate's wait does not count as a try."""
    ses = aws.client("sesv2")
    real_send, calls = ses.send_email, []

    def send_email(**kwargs):
        calls.append(clock.now)
        if len(calls) <= 2:
            raise ClientError({"Error": {"Code": code, "Message": "Maximum sending rate exceeded."}}, "SendEmail")
        return real_send(**kwargs)

    monkeypatch.setattr(ses, "send_email", send_email)
    survey_id = accept(api, 1)

    queue.run()

    retries = [(job.attempt, delay) for job, delay in queue.delays if isinstance(job, SendSurvey)][1:]
    assert retries == [(1, jobs.backoff_seconds(0)), (2, jobs.backoff_seconds(1))]
    assert [(at - calls[0]).total_seconds() for at in calls] == [0, 5, 15]
    assert len(stack.emails()) == 1
    state = survey(api, survey_id)
    assert state["status"] == "sent" and state["failure_reason"] is None


def test_a_busy_rate_item_defers_the_send_and_nothing_is_lost(api, stack, clock, queue, sent, waits, monkeypatch):
    real_reserve, busy = SendMoments.reserve, []

    def reserve(self, *args):
        if not busy:
            busy.append(1)
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "busy"}},
                              "UpdateItem")
        return real_reserve(self, *args)

    monkeypatch.setattr(SendMoments, "reserve", reserve)
    start = clock.now.timestamp()
    survey_id = accept(api, 1)

    queue.run()

    ((_, delay),) = queue.delays[1:]
    assert 1 <= delay <= 5
    assert sent.offsets(start) == [delay]
    assert survey(api, survey_id)["status"] == "sent"


def test_a_job_delivered_twice_with_its_moment_sends_once(api, stack, clock, queue, sent, waits, monkeypatch):
    rates(monkeypatch, email=1)
    for number in range(4):
        accept(api, number)
    queue.run()
    booked = [job for job, _ in queue.delays if job.send_slot is not None]
    assert booked

    deliver(booked[-1])  # SQS delivers at least once: the same message again, later

    assert len(stack.emails()) == 4
