"""Compaction of closed days' report counters (insight/compaction.py) on DynamoDB Local: a closed
day's shard items fold into one item per group, reports read days x groups and say the same as
before, a late change still counts, and a run that meets a change or dies halfway loses nothing."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.insight import compaction
from chalicelib.insight import counters as aggregates
from chalicelib.platform import clock
from chalicelib.storage.table import ConditionFailed
from tests.storage.insight.test_report_counters import reads_of_a_report, report, respond, scheduled, send

START = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)
AGENTS = ("agt_1", "agt_2", "agt_3")
DAYS = 5


def counter_items(repos) -> list[dict]:
    found, kwargs = [], {"TableName": repos.table.name, "ConsistentRead": True}
    while True:
        page = repos.table.db.scan(**kwargs)
        found += [item for item in page["Items"] if item["pk"]["S"].startswith("AGG#")]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def shard_items(repos, day: date | None = None) -> list[dict]:
    return [i for i in counter_items(repos) if not i["pk"]["S"].endswith("#closed")
            and (day is None or i["sk"]["S"].startswith(day.isoformat()))]


def busy_days(repos, per_day: int) -> list:
    """`per_day` surveys a day for DAYS days, over three agents, each answered."""
    made = []
    for day in range(DAYS):
        for n in range(per_day):
            at = START + timedelta(days=day, minutes=n)
            survey = send(repos, scheduled(agent=AGENTS[n % 3], at=at), at)
            respond(repos, survey.survey_id, 1 + n % 5, at + timedelta(minutes=30))
            made.append(survey)
    return made


def all_reports(repos) -> dict:
    first, last = START.date(), START.date() + timedelta(days=DAYS)
    return {(kind, group_by): report(repos, kind, group_by, first, last)
            for kind in ("csat", "nps") for group_by in ("all", "day", "agent", "team", "channel")}


def test_closed_days_fold_into_one_item_per_group_and_reports_say_the_same(repos):
    busy_days(repos, per_day=24)
    before = all_reports(repos)
    last_closed = START.date() + timedelta(days=DAYS - 2)

    done = compaction.compact(table=repos.table, before=last_closed + timedelta(days=1))

    assert done["finished"] and done["conflicts"] == 0
    assert all_reports(repos) == before
    assert shard_items(repos, last_closed) == [] and shard_items(repos, START.date()) == []
    assert shard_items(repos, last_closed + timedelta(days=1))  # the open day stays on its shards
    folded = [i for i in counter_items(repos) if i["pk"]["S"] == "AGG#csat#agent#closed"]
    assert len(folded) == (DAYS - 1) * len(AGENTS)  # one per closed day and agent
    again = compaction.compact(table=repos.table, before=last_closed + timedelta(days=1))
    assert again["groups"] == 0 and all_reports(repos) == before  # nothing left to fold, nothing doubled


def test_a_report_over_closed_days_reads_days_times_groups_however_many_responses(repos):
    first, last = START.date(), START.date() + timedelta(days=DAYS - 1)
    busy_days(repos, per_day=3)
    compaction.compact(table=repos.table, before=last + timedelta(days=1))
    few_calls, few_items = reads_of_a_report(repos, "agent", first, last)
    busy_days(repos, per_day=30)
    compaction.compact(table=repos.table, before=last + timedelta(days=1))
    many_calls, many_items = reads_of_a_report(repos, "agent", first, last)

    assert few_calls == many_calls == ["Query"] * (aggregates.SHARDS + 1)
    assert few_items == many_items == DAYS * len(AGENTS)
    assert report(repos, "csat", "agent", first, last)["agt_1"][1] == DAYS * (1 + 10)


def test_a_late_change_to_a_closed_day_counts_at_once_and_folds_in_later(repos):
    made = busy_days(repos, per_day=6)
    day = START.date()
    compaction.compact(table=repos.table, before=day + timedelta(days=DAYS))
    before = report(repos, "csat", "agent", day, day)

    changed = made[0]  # agt_1's first survey of the first day: answered 1, now 5
    respond(repos, changed.survey_id, 5, START + timedelta(days=20))
    late = send(repos, scheduled(agent="agt_2", at=START), START)  # a survey of that day, sent late
    after = report(repos, "csat", "agent", day, day)
    assert after["agt_1"][2]["1"] == before["agt_1"][2]["1"] - 1
    assert after["agt_1"][2]["5"] == before["agt_1"][2]["5"] + 1
    assert after["agt_2"][0] == before["agt_2"][0] + 1
    assert len(shard_items(repos, day)) > 0

    compaction.compact(table=repos.table, before=day + timedelta(days=DAYS))
    assert shard_items(repos, day) == [] and report(repos, "csat", "agent", day, day) == after
    assert late.survey_id


def test_a_shard_item_that_changes_while_folding_is_left_for_the_next_run(repos, monkeypatch):
    made = busy_days(repos, per_day=3)
    day = START.date()
    expected = all_reports(repos)
    real_fold = compaction._fold
    raced = []

    def fold_after_a_change(table, folded_pk, sk, items):
        if not raced and folded_pk == "AGG#csat#all#closed":
            raced.append(sk)
            respond(repos, made[0].survey_id, 4, START + timedelta(days=9))  # lands between read and fold
        real_fold(table, folded_pk, sk, items)

    monkeypatch.setattr(compaction, "_fold", fold_after_a_change)
    done = compaction.compact(table=repos.table, before=day + timedelta(days=DAYS))
    assert done["conflicts"] >= 1
    expected_after = all_reports(repos)  # with the change: counted once, nowhere lost
    assert expected_after != expected
    monkeypatch.setattr(compaction, "_fold", real_fold)
    assert compaction.compact(table=repos.table, before=day + timedelta(days=DAYS))["conflicts"] == 0
    assert all_reports(repos) == expected_after and shard_items(repos) == []


def test_a_run_that_dies_halfway_or_is_told_to_stop_is_finished_by_the_next(repos, monkeypatch):
    busy_days(repos, per_day=6)
    expected = all_reports(repos)
    close = START.date() + timedelta(days=DAYS)
    real_transact = type(repos.table).transact
    commits = []

    def dies_on_the_fifth(table, writes):
        if len(commits) == 4:
            raise RuntimeError("Lambda timed out")
        commits.append(len(writes))
        return real_transact(table, writes)

    with monkeypatch.context() as patched:
        patched.setattr(type(repos.table), "transact", dies_on_the_fifth)
        with pytest.raises(RuntimeError):
            compaction.compact(table=repos.table, before=close)
    assert all_reports(repos) == expected  # four groups folded whole, the rest untouched

    budget = iter([True] * 3)
    cut = compaction.compact(table=repos.table, before=close, keep_going=lambda: next(budget, False))
    assert not cut["finished"] and cut["groups"] == 3 and all_reports(repos) == expected

    assert compaction.compact(table=repos.table, before=close)["finished"]
    assert shard_items(repos) == [] and all_reports(repos) == expected


def test_the_open_days_are_today_and_yesterday_in_the_reporting_zone(monkeypatch):
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_REPORTING_TIMEZONE", "America/New_York")
    config.reset_settings()
    clock.set_now(datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc))  # 22:00 on the 4th in New York
    try:
        assert compaction.first_open_day() == date(2026, 12, 3)
    finally:
        clock.set_now(None)
        config.reset_settings()


def test_a_fold_that_cannot_commit_raises_nothing_but_counts_a_conflict(repos, monkeypatch):
    busy_days(repos, per_day=1)

    def refused(*args, **kwargs):
        raise ConditionFailed("changed meanwhile")

    monkeypatch.setattr(compaction, "_fold", refused)
    done = compaction.compact(table=repos.table, before=START.date() + timedelta(days=DAYS))
    assert done["groups"] == 0 and done["conflicts"] > 0 and done["finished"]
