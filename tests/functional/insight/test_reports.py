"""GET /v1/reports/summary through chalice's test client: sends and responses are counted at write
time, a changed score moves its count, a withdrawn response leaves, and the day is the send date
in the stage's reporting time zone."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import reset_caches
from tests.functional.helpers import (
    choose_path, confirm, fire_timers, open_page, send_email_survey, send_sms_survey, submit_form, survey,
)


def report(api, **params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return api.http.get(f"/v1/reports/summary?{query}", headers=api.headers)


def summary(api, clock, survey_kind="csat", group_by="all", first=None, last=None) -> dict:
    today = clock.now.date()
    response = report(api, survey=survey_kind, group_by=group_by, **{"from": (first or today).isoformat()},
                      to=(last or today).isoformat())
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def only_group(body: dict) -> dict:
    (group,) = body["groups"]
    return group


def customer(n: int) -> dict:
    return {"id": f"cus_{n}", "email": f"c{n}@example.com", "phone": f"+1415555{n:04d}"}


def email_survey(api, stack, n: int, **overrides):
    return send_email_survey(api, stack, interaction_id=f"zd-{n}", customer=customer(n), **overrides)


def answer(api, clock, link) -> None:
    """A person opens a score link and stays on the page: the score is recorded."""
    page = open_page(api, link)
    assert json.loads(confirm(api, link, page).body)["recorded"] is True
    clock.advance(120)  # the next answer is a person coming back later, not a sweep


def test_a_report_counts_sends_and_responses(api, stack, clock):
    _, first = email_survey(api, stack, 1)
    email_survey(api, stack, 2)
    email_survey(api, stack, 3)
    answer(api, clock, first[5])

    body = summary(api, clock)
    today = clock.now.date().isoformat()
    assert (body["survey"], body["from"], body["to"], body["group_by"]) == ("csat", today, today, "all")
    group = only_group(body)
    assert group["key"] == "all"
    assert (group["sent"], group["responses"], group["response_rate"]) == (3, 1, 0.3333)
    assert group["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert (group["satisfied"], group["csat"], group["average"]) == (1, 100.0, 5.0)
    assert group["ci95"] == [20.7, 100.0] and group["low_sample"] is True
    assert only_group(summary(api, clock, "nps"))["sent"] == 0  # the other kind counts apart


def test_a_changed_score_moves_its_count_and_a_repeat_changes_nothing(api, stack, clock):
    _, links = email_survey(api, stack, 1)
    answer(api, clock, links[2])
    answer(api, clock, links[2])  # the same score confirmed again
    assert only_group(summary(api, clock))["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}

    thanks = submit_form(api, choose_path(links[2]), {"score": "4", "comment": "better now"})
    assert thanks.status_code == 200
    group = only_group(summary(api, clock))
    assert group["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    assert (group["responses"], group["sent"]) == (1, 1)


def test_a_response_withdrawn_as_a_scanner_sweep_does_not_count(api, stack, clock):
    survey_id, links = email_survey(api, stack, 1)
    for score in (1, 2, 3, 4):  # four different scores confirmed within 90 s: a sweep
        page = open_page(api, links[score])
        confirm(api, links[score], page)
        clock.advance(1)
    assert survey(api, survey_id)["score"] is None
    group = only_group(summary(api, clock))
    assert (group["sent"], group["responses"], group["csat"], group["ci95"]) == (1, 0, None, None)
    assert set(group["distribution"].values()) == {0}


def test_an_sms_reply_counts_like_a_click(api, stack, clock):
    from tests.functional.contacts.test_sms_replies import sms_in

    send_sms_survey(api, stack, survey="nps", interaction_id="zd-1", customer=customer(1))
    sms_in(api, "9", sender=customer(1)["phone"])
    sms_in(api, "3", sender=customer(1)["phone"])  # the last choice counts
    group = only_group(summary(api, clock, "nps"))
    assert (group["responses"], group["detractors"], group["promoters"], group["nps"]) == (1, 1, 0, -100.0)


def test_groups_by_agent_team_channel_and_day(api, stack, clock):
    _, a = email_survey(api, stack, 1, survey="nps", agent={"id": "agt_7"}, team="billing")
    _, b = email_survey(api, stack, 2, survey="nps", agent={"id": "agt_9"}, team="billing")
    email_survey(api, stack, 3, survey="nps", agent={"id": "agt_9"}, team="tech")
    send_sms_survey(api, stack, survey="nps", interaction_id="zd-4", customer=customer(4), agent=None, team=None)
    answer(api, clock, a[10])
    answer(api, clock, b[6])

    def groups(group_by):
        return {g["key"]: (g["sent"], g["responses"], g["nps"])
                for g in summary(api, clock, "nps", group_by)["groups"]}

    assert groups("agent") == {"(none)": (1, 0, None), "agt_7": (1, 1, 100.0), "agt_9": (2, 1, -100.0)}
    assert groups("team") == {"(none)": (1, 0, None), "billing": (2, 2, 0.0), "tech": (1, 0, None)}
    assert groups("channel") == {"email": (3, 2, 0.0), "sms": (1, 0, None)}
    today = clock.now.date()
    by_day = summary(api, clock, "nps", "day", first=today - timedelta(days=2), last=today)
    assert [(g["key"], g["sent"], g["responses"]) for g in by_day["groups"]] == [
        ((today - timedelta(days=2)).isoformat(), 0, 0), ((today - timedelta(days=1)).isoformat(), 0, 0),
        (today.isoformat(), 4, 2)]


def test_the_schedule_compacts_closed_days_and_a_late_answer_still_counts(api, stack, clock):
    """Two days on, the minute's schedule folds the day's counter shards (insight/compaction.py):
    the report says the same, and an answer that comes later still counts on the survey's day."""
    _, a = email_survey(api, stack, 1, survey="nps", agent={"id": "agt_7"})
    _, b = email_survey(api, stack, 2, survey="nps", agent={"id": "agt_9"})
    answer(api, clock, a[9])
    day = clock.now.date()

    def groups():
        return {g["key"]: (g["sent"], g["responses"], g["nps"])
                for g in summary(api, clock, "nps", "agent", first=day, last=day)["groups"]}

    before = groups()
    assert before == {"agt_7": (1, 1, 100.0), "agt_9": (1, 0, None)}
    clock.advance(2 * 86400)
    assert compacted()["groups"] == 2 + 1 + 1 + 1  # nps by agent (2), team, channel and all
    assert groups() == before
    assert fire_timers()["reports_compacted"] is None  # once an hour

    answer(api, clock, b[0])  # a late answer to the closed day's survey
    assert groups() == {"agt_7": (1, 1, 100.0), "agt_9": (1, 1, -100.0)}
    clock.advance(3600)
    assert compacted()["shard_items"] == 4  # its one item in each dimension
    assert groups() == {"agt_7": (1, 1, 100.0), "agt_9": (1, 1, -100.0)}


def compacted() -> dict:
    """Run the minute's schedule until its compaction finishes (a run has seconds for it); the sums."""
    total: Counter = Counter()
    for _ in range(10):
        ran = fire_timers()["reports_compacted"]
        total.update({k: v for k, v in ran.items() if k != "finished"})
        if ran["finished"]:
            return total
    raise AssertionError("compaction never finished")


@pytest.fixture
def new_york_reports(api, monkeypatch):
    from chalicelib.platform.settings import get_settings

    monkeypatch.setenv("CLOSELOOP_REPORTING_TIMEZONE", "America/New_York")
    reset_caches()
    get_settings()  # read now: chalice's test client would otherwise apply config.json's variables


def test_the_day_is_the_send_date_in_the_reporting_time_zone(api, stack, clock, new_york_reports):
    clock.set(datetime(2026, 11, 25, 3, 30, tzinfo=timezone.utc))  # 22:30 on the 24th in New York
    _, links = email_survey(api, stack, 1)
    clock.advance(3600)  # answered at 23:30 UTC-5 ... and this answer counts on the send day
    answer(api, clock, links[4])
    clock.advance(6 * 3600)  # the 25th everywhere: still counted on the 24th
    by_day = summary(api, clock, "csat", "day", first=datetime(2026, 11, 24).date(),
                     last=datetime(2026, 11, 25).date())
    assert [(g["key"], g["sent"], g["responses"]) for g in by_day["groups"]] == [
        ("2026-11-24", 1, 1), ("2026-11-25", 0, 0)]


@pytest.mark.parametrize("params, field", [
    ({"survey": "nps", "from": "2026-11-31", "to": "2026-12-01"}, "from"),
    ({"survey": "nps", "from": "24.11.2026", "to": "2026-12-01"}, "from"),
    ({"survey": "nps", "from": "2026-11-01", "to": "tomorrow"}, "to"),
    ({"survey": "nps", "from": "2026-12-02", "to": "2026-12-01"}, "from"),
    ({"survey": "nps", "from": "2025-01-01", "to": "2026-12-01"}, "to"),
    ({"survey": "ces", "from": "2026-11-01", "to": "2026-12-01"}, "survey"),
    ({"from": "2026-11-01", "to": "2026-12-01"}, "survey"),
    ({"survey": "nps", "to": "2026-12-01"}, "from"),
    ({"survey": "nps", "from": "2026-11-01", "to": "2026-12-01", "group_by": "week"}, "group_by"),
    ({"survey": "nps", "from": "2026-11-01", "to": "2026-12-01", "agent": "agt_7"}, "agent"),
])
def test_bad_input_is_a_400_naming_the_parameter(api, params, field):
    response = report(api, **params)
    assert response.status_code == 400
    assert [f["field"] for f in json.loads(response.body)["fields"]] == [field]


def test_a_range_of_exactly_400_days_is_allowed(api, clock):
    last = clock.now.date()
    assert len(summary(api, clock, "csat", "day", first=last - timedelta(days=399), last=last)["groups"]) == 400


def test_the_report_needs_the_api_key(api):
    response = api.http.get("/v1/reports/summary?survey=nps&from=2026-11-01&to=2026-11-02")
    assert response.status_code in (401, 403)


def test_a_resurvey_and_its_answer_do_not_count(api, stack, clock):
    from tests.functional.followups.test_recovery import detractor_followup, emails_of, resolve, run_resurvey
    from tests.functional.helpers import path_of, score_links

    sent_on = clock.now.date()
    _, links = email_survey(api, stack, 1)
    followup_id = detractor_followup(api, stack, links[1])
    resolve(followup_id)
    _, resurvey_id = run_resurvey(stack, clock, followup_id)
    (mail,) = emails_of(stack, resurvey_id)
    resurvey_link = path_of(score_links(mail.part("plain"))[5])
    answer(api, clock, resurvey_link)
    assert survey(api, resurvey_id)["score"] == 5

    body = summary(api, clock, first=sent_on, last=clock.now.date())
    group = only_group(body)
    assert (group["sent"], group["responses"]) == (1, 1)  # the first survey only, with its score of 1
    assert group["distribution"]["1"] == 1 and group["distribution"]["5"] == 0


# --- opened: the funnel's middle step --------------------------------------------------------

def test_machines_opening_the_links_count_no_open_and_a_person_counts_one(api, stack, clock):
    from tests.functional.helpers import SCRIPT, token_of

    _, links = email_survey(api, stack, 1)
    api.http.get(f"/h/{token_of(links[1])}", headers={"User-Agent": SCRIPT})  # the hidden honeypot link
    api.http.head(links[3], headers={"User-Agent": "Mozilla/5.0"})
    open_page(api, links[4], SCRIPT)
    group = only_group(summary(api, clock))
    assert (group["sent"], group["opened"], group["open_rate"]) == (1, 0, 0.0)

    clock.advance(120)
    open_page(api, links[2])  # a person looks, and comes back later to another score
    clock.advance(120)
    answer(api, clock, links[5])
    group = only_group(summary(api, clock))
    assert (group["sent"], group["opened"], group["open_rate"], group["responses"]) == (1, 1, 1.0, 1)


def test_an_sms_reply_counts_as_opened_and_opened_is_at_least_responses(api, stack, clock):
    from tests.functional.contacts.test_sms_replies import sms_in

    send_sms_survey(api, stack, survey="nps", interaction_id="zd-1", customer=customer(1))
    email_survey(api, stack, 2, survey="nps")  # sent, never opened
    sms_in(api, "9", sender=customer(1)["phone"])
    sms_in(api, "10", sender=customer(1)["phone"])
    group = only_group(summary(api, clock, "nps"))
    assert (group["sent"], group["opened"], group["open_rate"], group["responses"]) == (2, 1, 0.5, 1)


def test_nothing_sent_has_no_open_rate(api, clock):
    group = only_group(summary(api, clock, "nps"))
    assert (group["sent"], group["opened"], group["open_rate"]) == (0, 0, None)
