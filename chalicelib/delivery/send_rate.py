"""Sending rate: a per-channel limit shared by every concurrent handler.

SES accepts at most the account's maximum send rate and refuses the rest ("Throttling: Maximum
sending rate exceeded"); SNS has an SMS throughput of its own. Every survey or reminder send,
first try or retry, reserves a moment as it starts (delivery.send_once, the one way a message
goes out): the channel's next free moment, a step after the last one reserved, or now when the
channel is idle. One DynamoDB item per channel holds it (`SendMoments.reserve`: one
conditional UpdateItem, two when the regime changes between idle and busy), shared by every
handler however many run at once. Moments are evenly spaced a little wider than 1/rate (step_us),
so that any second holds at most the rate, wherever it starts, even with sends a little late.

A moment at most WAIT_AT_MOST_SECONDS ahead is waited for in the handler, right before the
provider call (the message is built before the wait, so nothing slow comes between). A later one is waited
for on the queue: the job goes back with the moment it reserved (`SendSlot`), timed to come back
a second or two before it (SQS delays are whole seconds, and the queue may be a little late), and
then sends without reserving again. A burst of any size thus costs one reservation per message
and drains at the rate, in the order the jobs first came, nothing lost or sent twice (the send
itself stays a once-only step). A send that would leave more than `late_allowance` after its
moment (a slow handler, a late queue) does not: it reserves a fresh moment instead, so a late
message never crowds the moments of the ones after it; the lapsed moment goes unused.

The rate is `email_max_per_second` / `sms_max_per_second` (any positive number: 14, 14.5, 0.5
for one message every 2 seconds); moments are whole microseconds, rounded so as never to exceed it.
The stream then runs at rate / 1.05, and no one-second window holds more than the rate.
"""
from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass
from typing import Callable, Optional, Union

from botocore.exceptions import ClientError

from chalicelib.delivery.jobs import SendReminder, SendSlot, SendSurvey
from chalicelib.platform import clock, jobs
from chalicelib.platform.settings import Settings, get_settings
from chalicelib.storage.repository import Repository
from chalicelib.storage.table import ConditionFailed, ItemKey
from chalicelib.surveys import Channel

log = logging.getLogger(__name__)

# A moment this close is waited for in the handler; a later one on the queue.
WAIT_AT_MOST_SECONDS = 2.0
# How long before its moment a job comes back from the queue (whole seconds, see above).
COME_BACK_EARLY_SECONDS = 1
# When DynamoDB itself throttles the item (far more attempts than sends at once), the job waits a
# few seconds, at random so that the retries spread out; nothing was sent or reserved.
BUSY_DEFER_SECONDS = (1, 5)
_DYNAMODB_BUSY = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
# How often a reservation that lost to a concurrent one is tried (twice per round).
_RESERVE_ROUNDS = 5

# Waiting for a moment sleeps in the handler; tests replace it.
_sleep = time.sleep


@dataclass(frozen=True)
class Slot:
    """What reserving says: send not before `at` and not from `until` on (epoch seconds); or, when
    `defer` > 0, send nothing now and re-queue the job after `defer` seconds, carrying `booking`
    (None: reserve afresh then)."""
    at: float = 0.0
    until: float = math.inf
    defer: int = 0
    booking: Optional[SendSlot] = None


class Deferred(Exception):
    """No send now: nothing was sent; re-queue the job after `seconds`, carrying `booking`."""

    def __init__(self, seconds: int, booking: Optional[SendSlot] = None):
        super().__init__(f"send rate: try again in {seconds} s")
        self.seconds, self.booking = seconds, booking

    def requeue(self, job: Union[SendSurvey, SendReminder]) -> None:
        """Put the send or reminder job back on the queue, carrying the moment it reserved."""
        jobs.enqueue(job.model_copy(update={"send_slot": self.booking}), self.seconds)


def rate_of(channel: Channel, settings: Settings) -> float:
    return settings.email_max_per_second if Channel(channel) is Channel.EMAIL else settings.sms_max_per_second


# How long after its moment a send may still leave; a later one takes a fresh moment instead.
LATE_ALLOWANCE_SECONDS = 0.05


def step_us(per_second: float) -> int:
    """Microseconds between two moments: (1 + LATE_ALLOWANCE_SECONDS) / rate, rounded up.

    Sends leave between their moment and LATE_ALLOWANCE_SECONDS after it, so the r-th send after
    any one leaves at least r x step - allowance = 1 s later: no second, wherever it starts, holds
    more than the rate (SES counts requests in any one-second window). The price: the stream runs
    at rate / 1.05."""
    return math.ceil(1_000_000 * (1 + LATE_ALLOWANCE_SECONDS) / per_second - 1e-6)


def late_allowance(per_second: float) -> float:
    """How long after its moment a send may still leave (the same at every rate; see step_us)."""
    return LATE_ALLOWANCE_SECONDS


class SendMoments(Repository):
    """Item: pk=SENDRATE#<channel>, sk=SENDRATE; `next_us`, the channel's next free send moment
    (epoch microseconds)."""

    # The last moment this container reserved, per channel: while it is ahead of now a backlog is
    # booked, so the next reservation tries "after the last one" first, else "now" first. Each
    # way is one conditional UpdateItem; guessing right saves the one that would have failed.
    _last_us: dict[str, int] = {}

    def reserve(self, channel: str, now_us: int, step_us: int) -> int:
        """Reserve `channel`'s next free send moment (epoch microseconds) and return it: `step_us`
        after the one reserved before it, or `now_us` when that one is past (atomic across all
        callers). One UpdateItem when the guess above is right, two when it is not."""
        item = ItemKey("SENDRATE#" + channel, "SENDRATE")
        names, values = {"#next": "next_us"}, {":now": now_us, ":step": step_us}

        def booked_ahead() -> int:  # the moment after the last one reserved
            updated = self.table.update(item, "SET #next = #next + :step", "#next >= :now", names, values,
                                        returns="UPDATED_NEW")
            return int(updated["next_us"]) - step_us

        def idle() -> int:  # now
            self.table.update(item, "SET #next = :now + :step", "attribute_not_exists(#next) OR #next < :now",
                              names, values)
            return now_us

        ways = (booked_ahead, idle) if self._last_us.get(channel, 0) >= now_us else (idle, booked_ahead)
        for _ in range(_RESERVE_ROUNDS):
            for way in ways:
                try:
                    moment = way()
                except ConditionFailed:  # the other way, or another caller moved it meanwhile
                    continue
                SendMoments._last_us[channel] = moment
                return moment
        raise ConditionFailed(f"the {channel} send-rate moment kept changing")


def take_slot(channel: Channel, settings: Optional[Settings] = None, booked: Optional[SendSlot] = None,
              moments: Optional[SendMoments] = None) -> Slot:
    """A moment for a send about to start: `booked`, the job's own, unless it lapsed; else a fresh
    reservation (one DynamoDB write, sometimes two)."""
    settings = settings or get_settings()
    per_second = rate_of(channel, settings)
    now = clock.now().timestamp()
    if booked is not None and now < booked.at + late_allowance(per_second):
        return _slot(booked.at, now, per_second)
    try:
        moment_us = (moments or SendMoments()).reserve(Channel(channel).value, math.floor(now * 1_000_000),
                                                       step_us(per_second))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in _DYNAMODB_BUSY:
            raise
        log.warning("send-rate item busy (%s); send deferred", error.response["Error"]["Code"])
        return Slot(at=now, defer=random.randint(*BUSY_DEFER_SECONDS))
    return _slot(moment_us / 1_000_000, now, per_second)


# A handler that keeps missing its moments (starved of CPU) gives the job back to the queue.
_RETAKES = 3


def wait_for(slot: Slot, retake: Optional[Callable[[], Slot]] = None) -> None:
    """Right before the provider call: sleep until the slot's moment. A moment that lapsed (a
    slow handler) is not used: `retake` reserves a fresh one, waited for here when it is near,
    else Deferred (nothing sent; the job goes back to the queue, carrying the new moment)."""
    for retakes in range(_RETAKES + 1):
        pause = slot.at - clock.now().timestamp()
        if pause > 0:
            _sleep(pause)
        late = clock.now().timestamp() - slot.until
        if late < 0:
            return
        log.info("send-rate moment lapsed %.3f s before its send", late)
        if retake is None or retakes == _RETAKES:
            break
        slot = retake()
        if slot.defer:
            raise Deferred(slot.defer, slot.booking)
    raise Deferred(1)


def _slot(moment: float, now: float, per_second: float) -> Slot:
    if moment - now <= WAIT_AT_MOST_SECONDS:
        return Slot(at=moment, until=moment + late_allowance(per_second))
    # Hops of at most 15 minutes; the last one comes back a second or two before the moment.
    delay = min(jobs.MAX_DELAY_SECONDS, math.floor(moment - now) - COME_BACK_EARLY_SECONDS)
    return Slot(at=now, defer=max(1, delay), booking=SendSlot(at=moment))
