"""The report arithmetic (chalicelib/insight/reports.py) and the counter changes
(chalicelib/insight/counters.py): pure."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.insight import counters as aggregates
from chalicelib.insight.reports import Counts, group_counts, nps_interval, summarize, wilson_interval
from chalicelib.surveys.model import Agent, Channel, Customer, Survey, SurveyStatus
from chalicelib.surveys.scoring import SurveyKind


def counts(sent=0, **scores) -> Counts:
    return Counts(sent=sent, distribution={int(name[1:]): n for name, n in scores.items()})


# --- NPS -------------------------------------------------------------------------------------

def test_nps_is_promoters_minus_detractors_in_percent_with_every_score_present():
    group = summarize(SurveyKind.NPS, "all", counts(sent=20, s10=5, s9=1, s8=2, s7=1, s3=1))
    assert group["distribution"] == {str(s): n for s, n in
                                     zip(range(11), [0, 0, 0, 1, 0, 0, 0, 1, 2, 1, 5])}
    assert (group["promoters"], group["passives"], group["detractors"]) == (6, 3, 1)
    assert group["responses"] == 10 and group["sent"] == 20 and group["response_rate"] == 0.5
    assert group["nps"] == 50.0
    low, high = group["ci95"]
    assert -100 <= low < 50 < high <= 100
    assert group["low_sample"] is True


def test_nps_of_all_promoters_and_all_detractors_is_plus_and_minus_100():
    assert summarize(SurveyKind.NPS, "a", counts(s9=40))["nps"] == 100.0
    assert summarize(SurveyKind.NPS, "a", counts(s0=40))["nps"] == -100.0
    assert summarize(SurveyKind.NPS, "a", counts(s9=40))["ci95"][1] == 100.0  # clipped, not above


def test_nps_without_responses_has_no_score_and_no_interval():
    group = summarize(SurveyKind.NPS, "a", counts(sent=3))
    assert (group["nps"], group["ci95"], group["response_rate"], group["responses"]) == (None, None, 0.0, 0)
    assert summarize(SurveyKind.NPS, "a", counts())["response_rate"] is None  # nothing sent


def test_one_response_gives_a_wide_interval_not_a_point():
    low, high = nps_interval(1, 0, 0)
    assert high - low > 100 and low > -100
    low, high = nps_interval(0, 0, 1)
    assert high - low > 100 and high < 100


@pytest.mark.parametrize("promoters, passives, detractors", [
    (1, 0, 0), (0, 0, 1), (0, 1, 0), (2, 0, 0), (3, 0, 1), (0, 0, 5), (40, 0, 0), (7, 2, 1), (1, 5, 9)])
def test_the_nps_interval_always_holds_the_observed_nps(promoters, passives, detractors):
    # The adjustment pulls the centre toward 0; with few, unanimous answers the interval is widened
    # to the observed figure (one promoter: 100) rather than shown beside it.
    low, high = nps_interval(promoters, passives, detractors)
    observed = 100 * (promoters - detractors) / (promoters + passives + detractors)
    assert low <= observed <= high


def test_the_nps_interval_matches_the_normal_approximation_for_large_samples():
    promoters, passives, detractors = 5000, 3000, 2000
    n = promoters + passives + detractors
    pp, pd = promoters / n, detractors / n
    half = 1.96 * math.sqrt((pp + pd - (pp - pd) ** 2) / n) * 100
    low, high = nps_interval(promoters, passives, detractors)
    assert low == pytest.approx(30 - half, abs=0.2) and high == pytest.approx(30 + half, abs=0.2)


def test_the_nps_interval_narrows_as_responses_grow():
    widths = [(lambda i: i[1] - i[0])(nps_interval(6 * k, 3 * k, k)) for k in (1, 10, 100)]
    assert widths[0] > widths[1] > widths[2]


# --- CSAT ------------------------------------------------------------------------------------

def test_csat_is_the_share_of_4_and_5_with_the_average():
    group = summarize(SurveyKind.CSAT, "billing", counts(sent=8, s5=3, s4=1, s3=1, s1=1))
    assert group["distribution"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 3}
    assert group["satisfied"] == 4 and group["csat"] == pytest.approx(66.7)
    assert group["average"] == pytest.approx((15 + 4 + 3 + 1) / 6, abs=0.01)
    assert group["response_rate"] == 0.75
    assert "nps" not in group and "promoters" not in group


def test_the_csat_interval_is_wilsons():
    low, high = wilson_interval(8, 10)
    # Wilson's interval for 8/10 at 95%: 0.4902 .. 0.9433
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    group = summarize(SurveyKind.CSAT, "a", counts(s5=8, s1=2))
    assert group["ci95"] == [49.0, 94.3]


def test_the_csat_interval_of_one_response_and_of_none():
    assert summarize(SurveyKind.CSAT, "a", counts(s5=1))["ci95"] == [20.7, 100.0]
    assert summarize(SurveyKind.CSAT, "a", counts(s1=1))["ci95"] == [0.0, 79.3]
    group = summarize(SurveyKind.CSAT, "a", counts(sent=1))
    assert (group["csat"], group["average"], group["ci95"]) == (None, None, None)


def test_low_sample_below_30_responses():
    assert summarize(SurveyKind.CSAT, "a", counts(s5=29))["low_sample"] is True
    assert summarize(SurveyKind.CSAT, "a", counts(s5=30))["low_sample"] is False


# --- grouping --------------------------------------------------------------------------------

def test_by_day_every_day_of_the_range_is_a_group_in_order():
    rows = [(date(2026, 11, 3), "all", {"sent": 2, "s5": 1, "responses": 1}),
            (date(2026, 11, 3), "all", {"sent": 1}),  # another shard
            (date(2026, 11, 1), "all", {"s4": 2, "responses": 2})]
    groups = group_counts(rows, "day", date(2026, 11, 1), date(2026, 11, 3))
    assert list(groups) == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert groups["2026-11-03"].sent == 3 and groups["2026-11-03"].distribution == {5: 1}
    assert groups["2026-11-02"].responses == 0


def test_by_agent_groups_are_summed_over_days_and_shards_and_sorted():
    rows = [(date(2026, 11, 1), "agt_9", {"s1": 1}), (date(2026, 11, 2), "agt_7", {"s5": 1}),
            (date(2026, 11, 1), "agt_7", {"s5": 2, "sent": 4})]
    groups = group_counts(rows, "agent", date(2026, 11, 1), date(2026, 11, 2))
    assert list(groups) == ["agt_7", "agt_9"]
    assert groups["agt_7"].distribution == {5: 3} and groups["agt_7"].sent == 4


# --- counter changes -------------------------------------------------------------------------

def a_survey(**overrides) -> Survey:
    at = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
    values = dict(survey_id="0123456789abcdef", interaction_id="zd-1", kind=SurveyKind.NPS, channel=Channel.SMS,
                  status=SurveyStatus.SENT, customer=Customer(id="cus_1", phone="+14155550123"),
                  agent=Agent(id="agt_7"), team="billing", base_url="http://x", created_at=at, send_at=at,
                  sent_at=at, expires_at=at + timedelta(days=28))
    return Survey(**{**values, **overrides})


def test_a_first_response_counts_in_every_dimension_on_the_send_day_in_the_reporting_zone():
    changes = aggregates.response_changes(a_survey(), None, 9, "America/New_York")
    shard = aggregates.shard_of("0123456789abcdef")
    assert [(c.pk, c.sk) for c in changes] == [
        (f"AGG#nps#all#{shard}", "2026-11-24#all"), (f"AGG#nps#agent#{shard}", "2026-11-24#agt_7"),
        (f"AGG#nps#team#{shard}", "2026-11-24#billing"), (f"AGG#nps#channel#{shard}", "2026-11-24#sms")]
    assert all(c.deltas == {"s9": 1, "responses": 1} for c in changes)
    assert aggregates.response_changes(a_survey(), None, 9, "UTC")[0].sk == "2026-11-25#all"


def test_a_changed_score_moves_a_count_and_a_withdrawal_takes_it_back():
    (moved, *_) = aggregates.response_changes(a_survey(), 3, 9, "UTC")
    assert moved.deltas == {"s3": -1, "s9": 1}
    (withdrawn, *_) = aggregates.response_changes(a_survey(), 3, None, "UTC")
    assert withdrawn.deltas == {"s3": -1, "responses": -1}
    assert aggregates.response_changes(a_survey(), 9, 9, "UTC") == []  # a comment only: nothing moves


def test_re_surveys_count_nothing_and_missing_groups_are_named():
    assert aggregates.response_changes(a_survey(followup_id="fu_1"), None, 9, "UTC") == []
    assert aggregates.sent_changes(a_survey(followup_id="fu_1"), a_survey().sent_at, "UTC") == []
    changes = aggregates.sent_changes(a_survey(agent=None, team=None), a_survey().sent_at, "UTC")
    assert [c.sk for c in changes][1:3] == ["2026-11-25#(none)", "2026-11-25#(none)"]
    assert all(c.deltas == {"sent": 1} for c in changes)


def test_a_survey_opens_once_for_a_person_or_its_first_response():
    from chalicelib.surveys.model import OpenVerdict, SurveyOpen

    survey = a_survey()
    person = SurveyOpen(open_id="o1", survey_id=survey.survey_id, at=survey.sent_at, method="GET")
    machine = person.model_copy(update={"verdict": OpenVerdict.AUTOMATED})
    assert aggregates.opens_now(survey, person) and aggregates.opens_now(survey)
    assert not aggregates.opens_now(survey, machine)
    assert not aggregates.opens_now(survey.model_copy(update={"opened_at": survey.sent_at}), person)
    assert not aggregates.opens_now(a_survey(followup_id="fu_1"), person)
    assert all(c.deltas == {"opened": 1} for c in aggregates.opened_changes(survey, "UTC"))
    (first, *_) = aggregates.response_changes(survey, None, 9, "UTC", first_open=True)
    assert first.deltas == {"opened": 1, "s9": 1, "responses": 1}


def test_opened_and_the_open_rate_in_a_group():
    group = summarize(SurveyKind.CSAT, "a", Counts(sent=8, opened=6, distribution={5: 3}))
    assert (group["opened"], group["open_rate"], group["response_rate"]) == (6, 0.75, 0.375)
    assert summarize(SurveyKind.CSAT, "a", Counts())["open_rate"] is None
    found = Counts()
    found.add({"sent": 2, "opened": 1, "responses": 1, "s4": 1})
    assert (found.sent, found.opened, found.distribution) == (2, 1, {4: 1})


def test_shards_spread_surveys_evenly():
    import secrets

    spread = [0] * aggregates.SHARDS
    for _ in range(32_000):
        spread[aggregates.shard_of(secrets.token_hex(8))] += 1
    assert min(spread) > 800 and max(spread) < 1200


# --- the setting ---------------------------------------------------------------------------------

def test_the_reporting_time_zone_defaults_to_utc_and_must_be_an_iana_name(monkeypatch):
    from pydantic import ValidationError

    from chalicelib.platform import settings as config
    from chalicelib.platform.settings import Settings

    assert Settings().reporting_timezone == "UTC"
    assert Settings(reporting_timezone="America/New_York").reporting_timezone == "America/New_York"
    with pytest.raises(ValidationError, match="reporting_timezone"):
        Settings(reporting_timezone="Mars/Olympus")
    monkeypatch.setenv("CLOSELOOP_REPORTING_TIMEZONE", "Europe/Paris")
    config.reset_settings()
    try:
        assert config.get_settings().reporting_timezone == "Europe/Paris"
    finally:
        monkeypatch.delenv("CLOSELOOP_REPORTING_TIMEZONE")
        config.reset_settings()
