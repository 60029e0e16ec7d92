"""The sending-rate item (delivery/send_rate.py: SendMoments.reserve) on DynamoDB Local: each reservation gets the
channel's next free moment, evenly spaced, shared by concurrent callers."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib.delivery.send_rate import SendMoments

NOW = 1_795_000_000_000_000  # epoch microseconds
STEP = 71_429  # 14 a second


def test_an_idle_channel_reserves_now_then_one_step_after_the_last(repos):
    assert [repos.moments.reserve("email", NOW, STEP) for _ in range(3)] == [NOW, NOW + STEP, NOW + 2 * STEP]


def test_once_the_reserved_moments_are_past_the_next_is_now_again(repos):
    repos.moments.reserve("email", NOW, STEP)
    later = NOW + 5_000_000
    assert repos.moments.reserve("email", later, STEP) == later
    assert repos.moments.reserve("email", later, STEP) == later + STEP


def test_a_backlog_keeps_booking_ahead_whatever_the_callers_clock_says(repos):
    for _ in range(100):
        repos.moments.reserve("email", NOW, STEP)
    assert repos.moments.reserve("email", NOW + 1_000_000, STEP) == NOW + 100 * STEP


def test_channels_reserve_apart(repos):
    repos.moments.reserve("email", NOW, STEP)
    assert repos.moments.reserve("sms", NOW, 50_000) == NOW


def test_concurrent_callers_each_get_a_moment_of_their_own(repos):
    with ThreadPoolExecutor(max_workers=16) as pool:
        moments = list(pool.map(lambda _: repos.moments.reserve("email", NOW, STEP), range(64)))
    assert sorted(moments) == [NOW + n * STEP for n in range(64)]


def test_a_reservation_is_one_write_while_the_regime_holds_and_two_when_it_changes(repos, monkeypatch):
    writes = []
    real_update = type(repos.table).update

    def counted(table, *args, **kwargs):
        writes.append(args[1] if len(args) > 1 else kwargs.get("expression"))
        return real_update(table, *args, **kwargs)

    monkeypatch.setattr(type(repos.table), "update", counted)
    monkeypatch.setattr(SendMoments, "_last_us", {})  # a fresh container
    assert repos.moments.reserve("email", NOW, STEP) == NOW  # idle, nothing known: "now" first
    assert len(writes) == 1
    for _ in range(5):  # a burst: the container knows a backlog is booked, "after the last" first
        repos.moments.reserve("email", NOW, STEP)
    assert len(writes) == 6
    later = NOW + 60_000_000
    assert repos.moments.reserve("email", later, STEP) == later  # idle again: its last moment is past
    assert len(writes) == 7
    monkeypatch.setattr(SendMoments, "_last_us", {})  # another fresh container, in the backlog
    assert repos.moments.reserve("email", later, STEP) == later + STEP  # guessed "now": wrong, then right
    assert len(writes) == 9
