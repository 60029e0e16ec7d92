"""The sending-rate arithmetic: evenly spaced moments, waiting in the handler or on the queue, and
what a burst costs.

A reservation in memory stands in for the DynamoDB item (tests/storage/delivery/test_send_moments.py holds
the real one to the same contract) and the clock is frozen, so every figure is exact.
"""
from __future__ import annotations

import heapq
import math
import random
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from chalicelib.delivery import send_rate
from chalicelib.delivery.jobs import SendSlot
from chalicelib.delivery.send_rate import Deferred, Slot, late_allowance, step_us, take_slot
from chalicelib.platform import clock
from chalicelib.platform.jobs import MAX_DELAY_SECONDS
from chalicelib.platform.settings import Settings
from chalicelib.surveys.model import Channel

T = 1_795_000_000  # a whole epoch second


class Moments:
    """SendMoments.reserve's contract, in memory."""

    def __init__(self):
        self.next_us: dict[str, int] = {}
        self.writes = 0

    def reserve(self, channel: str, now_us: int, step: int) -> int:
        self.writes += 1
        moment = max(now_us, self.next_us.get(channel, 0))
        self.next_us[channel] = moment + step
        return moment


@pytest.fixture
def at():
    """Freeze the clock at an epoch second (float)."""
    def freeze(epoch: float) -> None:
        clock.set_now(datetime.fromtimestamp(epoch, timezone.utc))
    yield freeze
    clock.set_now(None)


def rate(email: float = 14, sms: float = 20) -> Settings:
    return Settings(email_max_per_second=email, sms_max_per_second=sms)


# --- the arithmetic --------------------------------------------------------------------------

@pytest.mark.parametrize("per_second,step", [(14, 75_000), (1, 1_050_000), (100, 10_500), (14.5, 72_414),
                                             (0.5, 2_100_000), (3, 350_000), (1000, 1050), (4.2, 250_000)])
def test_moments_are_spaced_so_the_rate_holds_even_for_sends_a_little_late(per_second, step):
    assert step_us(per_second) == step
    # The r-th send after any one leaves at least r x step - allowance later: a whole second.
    assert per_second * step / 1_000_000 - late_allowance(per_second) >= 1 - 1e-9


def test_a_send_may_leave_a_twentieth_of_a_second_late_at_any_rate():
    assert late_allowance(4) == late_allowance(100) == late_allowance(0.5) == 0.05


# --- reserving ---------------------------------------------------------------------------------

def test_an_idle_channel_sends_now_then_evenly_spaced(at):
    moments = Moments()
    at(T + 0.5)
    slots = [take_slot(Channel.EMAIL, rate(email=4.2), moments=moments) for _ in range(4)]  # a step of 0.25 s
    assert slots == [Slot(at=T + 0.5 + offset, until=T + 0.55 + offset) for offset in (0, 0.25, 0.5, 0.75)]
    assert moments.writes == 4


def test_a_moment_further_ahead_waits_on_the_queue_and_comes_back_for_it(at):
    moments = Moments()
    at(T)
    slots = [take_slot(Channel.EMAIL, rate(email=4.2), moments=moments) for _ in range(16)]
    # Up to 2 s ahead the handler waits; beyond, the job comes back 1-2 s before its moment.
    assert [slot.defer for slot in slots] == [0] * 9 + [1, 1, 1, 2, 2, 2, 2]
    tenth = slots[9]
    assert tenth == Slot(at=T, defer=1, booking=SendSlot(at=T + 2.25))

    at(T + 1)
    assert take_slot(Channel.EMAIL, rate(email=4.2), tenth.booking, moments=moments) == Slot(at=T + 2.25,
                                                                                              until=T + 2.3)
    assert moments.writes == 16  # the booked moment costs nothing more


def test_a_long_backlog_hops_in_15_minutes_keeping_its_moment(at):
    moments = Moments()
    booking = SendSlot(at=T + 2000.5)
    at(T)
    assert take_slot(Channel.EMAIL, rate(), booking, moments=moments) == Slot(at=T, defer=MAX_DELAY_SECONDS, booking=booking)
    at(T + 1800)
    assert take_slot(Channel.EMAIL, rate(), booking, moments=moments) == Slot(at=T + 1800, defer=199, booking=booking)
    assert moments.writes == 0


def test_a_job_back_too_late_for_its_moment_reserves_afresh(at):
    moments = Moments()
    moments.next_us["email"] = (T + 60) * 1_000_000  # a backlog booked a minute ahead
    at(T + 10.3)  # its moment was T + 10, allowance 0.05 s
    slot = take_slot(Channel.EMAIL, rate(email=4.2), SendSlot(at=T + 10), moments=moments)
    assert slot == Slot(at=T + 10.3, defer=48, booking=SendSlot(at=T + 60))
    at(T + 10.03)  # still within the allowance: goes at once
    assert take_slot(Channel.EMAIL, rate(email=4.2), SendSlot(at=T + 10), moments=moments) == Slot(at=T + 10,
                                                                                                   until=T + 10.05)


def test_below_one_per_second(at):
    moments = Moments()
    at(T)
    slow = rate(email=0.525)  # a step of 2 s
    assert take_slot(Channel.EMAIL, slow, moments=moments) == Slot(at=T, until=T + 0.05)
    assert take_slot(Channel.EMAIL, slow, moments=moments) == Slot(at=T + 2, until=T + 2.05)
    assert take_slot(Channel.EMAIL, slow, moments=moments) == Slot(at=T, defer=3, booking=SendSlot(at=T + 4))


def test_email_and_sms_are_reserved_apart(at):
    moments = Moments()
    at(T)
    take_slot(Channel.EMAIL, rate(email=1, sms=1), moments=moments)
    assert take_slot(Channel.SMS, rate(email=1, sms=1), moments=moments) == Slot(at=T, until=T + 0.05)


def test_a_busy_item_defers_a_few_seconds_without_a_booking(at):
    class Busy:
        def reserve(self, *args):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "busy"}},
                              "UpdateItem")

    at(T)
    slot = take_slot(Channel.EMAIL, rate(), moments=Busy())
    assert 1 <= slot.defer <= 5 and slot.booking is None


def test_other_errors_of_the_item_are_not_swallowed(at):
    class Broken:
        def reserve(self, *args):
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no table"}}, "UpdateItem")

    at(T)
    with pytest.raises(ClientError):
        take_slot(Channel.EMAIL, rate(), moments=Broken())


# --- right before the send -------------------------------------------------------------------

def test_waiting_for_a_moment_sleeps_until_it(at, monkeypatch):
    pauses = []
    monkeypatch.setattr(send_rate, "_sleep", pauses.append)
    at(T + 0.25)
    send_rate.wait_for(Slot(at=T + 0.75, until=T + 1))
    send_rate.wait_for(Slot(at=T, until=T + 1))
    assert pauses == [pytest.approx(0.5)]


def test_a_moment_that_lapsed_before_the_send_is_not_used(at, monkeypatch):
    at(T + 1.0)  # a slow handler: too late for its moment
    with pytest.raises(Deferred) as deferred:
        send_rate.wait_for(Slot(at=T + 0.5, until=T + 1))
    assert deferred.value.seconds == 1 and deferred.value.booking is None
    # Or the pause itself overran.
    monkeypatch.setattr(send_rate, "_sleep", lambda seconds: at(T + 0.5 + seconds + 0.2))
    at(T + 0.5)
    with pytest.raises(Deferred):
        send_rate.wait_for(Slot(at=T + 0.9, until=T + 1))


def test_a_lapsed_moment_is_replaced_by_a_fresh_one_waited_for_in_the_handler(at, monkeypatch):
    pauses = []
    monkeypatch.setattr(send_rate, "_sleep", lambda seconds: (pauses.append(seconds), at(clock.now().timestamp() + seconds)))
    at(T + 1.0)  # too late for the moment at T + 0.5
    fresh = [Slot(at=T + 1.25, until=T + 1.5)]
    send_rate.wait_for(Slot(at=T + 0.5, until=T + 0.6), retake=fresh.pop)
    assert pauses == [pytest.approx(0.25)] and not fresh


def test_a_fresh_moment_far_ahead_sends_the_job_back_carrying_it(at):
    at(T + 1.0)
    booking = SendSlot(at=T + 60)
    with pytest.raises(Deferred) as deferred:
        send_rate.wait_for(Slot(at=T + 0.5, until=T + 0.6), retake=lambda: Slot(at=T + 1, defer=58, booking=booking))
    assert deferred.value.seconds == 58 and deferred.value.booking == booking


def test_a_handler_that_keeps_missing_its_moments_gives_the_job_back(at):
    at(T + 5.0)
    retakes = []

    def retake():
        retakes.append(1)
        return Slot(at=T + 1, until=T + 2)  # lapsed again at once

    with pytest.raises(Deferred) as deferred:
        send_rate.wait_for(Slot(at=T + 0.5, until=T + 0.6), retake=retake)
    assert deferred.value.seconds == 1 and len(retakes) == send_rate._RETAKES


# --- a burst ---------------------------------------------------------------------------------

@pytest.mark.parametrize("per_second,burst", [(14, 10_000), (100, 10_000), (3, 100), (0.5, 7)])
def test_a_burst_all_at_once_drains_at_the_rate_with_one_write_a_send(at, per_second, burst):
    """Every job of the burst reaches a handler in the same instant (unbounded concurrency) and
    comes back exactly when its delay says; each handler sends at its slot's moment, or up to the
    allowance later (a busy machine)."""
    moments, settings = Moments(), rate(email=per_second)
    queue = [(float(T), job, None) for job in range(burst)]
    heapq.heapify(queue)
    sent_at: dict[int, float] = {}
    while queue:
        now, job, booking = heapq.heappop(queue)
        at(now)
        slot = take_slot(Channel.EMAIL, settings, booking, moments=moments)
        if slot.defer:
            heapq.heappush(queue, (now + slot.defer, job, slot.booking))
            continue
        assert now <= slot.at < slot.until and slot.at - now <= send_rate.WAIT_AT_MOST_SECONDS
        assert job not in sent_at
        sent_at[job] = slot.at

    assert len(sent_at) == burst and moments.writes == burst  # each sent once, one reservation each
    moments_sent = sorted(sent_at.values())
    step = step_us(per_second) / 1_000_000
    assert min(b - a for a, b in zip(moments_sent, moments_sent[1:])) == pytest.approx(step, rel=1e-4)
    # At most the rate in any second, wherever it starts, whether each send leaves at its moment or
    # late within the allowance; the burst drains at rate / 1.05.
    late = random.Random(per_second)
    for times in (moments_sent, sorted(m + late.choice((0, late_allowance(per_second))) for m in moments_sent)):
        most, first = 0, 0
        for last, moment in enumerate(times):
            while times[first] <= moment - 1:
                first += 1
            most = max(most, last - first + 1)
        assert most <= max(1, math.floor(per_second))
    assert moments_sent[-1] - T == pytest.approx((burst - 1) * step, rel=1e-3)
