"""The arithmetic of reports by reason and theme, FCR and the change against the period before
(chalicelib/insight/reports.py, dashboard.py): pure."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib import why
from chalicelib.insight import dashboard
from chalicelib.insight.reports import Counts, fcr, proportion, significant_change, tag_groups, wilson_interval
from chalicelib.platform import settings as config
from chalicelib.surveys.scoring import SurveyKind


@pytest.fixture
def two_reasons(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_REASONS", "waited,other")
    config.reset_settings()
    yield
    config.reset_settings()


def counts(fcr_yes=0, fcr_no=0, **scores) -> Counts:
    return Counts(distribution={int(name[1:]): n for name, n in scores.items()}, fcr_yes=fcr_yes, fcr_no=fcr_no)


def test_fcr_is_the_share_of_yes_among_those_who_answered_with_wilsons_interval():
    found = fcr(counts(fcr_yes=3, fcr_no=1, s5=4, s1=2))
    low, high = wilson_interval(3, 4)
    assert found == {"answered": 4, "resolved": 3, "rate": 0.75, "ci95": [round(low, 4), round(high, 4)]}
    assert 0 < found["ci95"][0] < 0.75 < found["ci95"][1] < 1


def test_fcr_is_null_when_nobody_answered_even_with_responses():
    assert fcr(counts(s5=10)) is None
    assert fcr(counts(fcr_no=1))["rate"] == 0.0


def test_counts_add_up_the_fcr_answers_of_counter_items():
    total = Counts()
    total.add({"responses": 2, "s4": 2, "fcr_yes": 1, "fcr_no": 1})
    total.add({"responses": 1, "s1": 1, "fcr_no": 1})
    assert (total.fcr_yes, total.fcr_no, total.responses) == (1, 2, 3)


def test_a_proportion_is_a_fraction_with_its_interval_and_nothing_of_nothing():
    assert proportion(1, 3) == (0.3333, [round(x, 4) for x in wilson_interval(1, 3)])
    assert proportion(0, 0) == (None, None)


@pytest.mark.parametrize("current, previous, significant", [
    ([60.0, 70.0], [40.0, 55.0], True),    # apart, up
    ([10.0, 20.0], [25.0, 30.0], True),    # apart, down
    ([50.0, 70.0], [40.0, 55.0], False),   # overlap
    ([50.0, 60.0], [40.0, 50.0], False),   # touching ends overlap
    (None, [40.0, 55.0], None),
    ([50.0, 60.0], None, None),
])
def test_a_change_is_significant_only_when_the_intervals_do_not_overlap(current, previous, significant):
    assert significant_change(current, previous) is significant


def test_by_reason_every_offered_reason_in_order_then_the_others_with_label_and_share(two_reasons):
    found = {"other": counts(s1=1), "waited": counts(fcr_no=2, s2=3), "transferred": counts(s3=1)}
    groups = tag_groups(SurveyKind.CSAT, "reason", found, total=10)
    assert [g["key"] for g in groups] == ["waited", "other", "transferred"]
    waited = groups[0]
    assert (waited["label"], waited["responses"], waited["share"]) == (why.reason_label("waited"), 3, 0.3)
    assert waited["share_ci95"] == [round(x, 4) for x in wilson_interval(3, 10)]
    assert waited["csat"] == 0.0 and waited["fcr"]["answered"] == 2
    assert (waited["sent"], waited["opened"], waited["open_rate"], waited["response_rate"]) == (None,) * 4
    assert groups[2]["label"] == why.reason_label("transferred")  # no longer offered, still named


def test_an_offered_reason_without_responses_is_a_zero_group_and_no_responses_no_share(two_reasons):
    groups = tag_groups(SurveyKind.NPS, "reason", {}, total=5)
    assert [(g["key"], g["responses"], g["share"], g["nps"], g["fcr"]) for g in groups] == [
        ("waited", 0, 0.0, None, None), ("other", 0, 0.0, None, None)]
    assert groups[0]["share_ci95"][0] == 0.0 < groups[0]["share_ci95"][1]
    assert [g["share"] for g in tag_groups(SurveyKind.NPS, "reason", {}, total=0)] == [None, None]


def test_by_theme_every_theme_of_the_taxonomy_with_its_label():
    groups = tag_groups(SurveyKind.CSAT, "theme", {why.theme_keys()[0]: counts(s5=1)}, total=2)
    assert [g["key"] for g in groups] == why.theme_keys()
    assert [g["label"] for g in groups] == [why.theme_label(key) for key in why.theme_keys()]
    assert groups[0]["share"] == 0.5


def test_a_change_is_in_percentage_points_with_the_significance_rule():
    assert dashboard.shift(0.75, [0.3, 0.95], 0.0, [0.0, 0.49]) == {
        "previous": 0.0, "change": 75.0, "significant": False}
    assert dashboard.shift(0.0, [0.0, 0.49], 1.0, [0.51, 1.0])["significant"] is True
    assert dashboard.shift(0.5, [0.2, 0.8], None, None) == {"previous": None, "change": None, "significant": None}


def test_the_fcr_row_compares_with_the_period_before_when_it_has_answers():
    now, before = fcr(counts(fcr_no=4)), fcr(counts(fcr_yes=4))
    row = dashboard.fcr_row(now, before)
    assert (row["rate"], row["previous"], row["change"], row["significant"]) == (0.0, 1.0, -100.0, True)
    assert dashboard.fcr_row(now, None)["change"] is None
    assert dashboard.fcr_row(None, before) is None


def test_the_period_before_has_as_many_days_and_ends_the_day_before():
    assert dashboard.previous_period(date(2026, 11, 24), date(2026, 11, 24)) == (date(2026, 11, 23), date(2026, 11, 23))
    assert dashboard.previous_period(date(2026, 11, 1), date(2026, 11, 30)) == (date(2026, 10, 2), date(2026, 10, 31))
