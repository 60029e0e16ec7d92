"""The dashboard's charts (chalicelib/insight/charts.py) and their SVG templates: scales, the interval band,
gaps for days without answers, hollow low-sample points, the text alternative, escaping."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from chalicelib.insight import charts, reports
from chalicelib.surveys.scoring import SurveyKind

FIRST = date(2026, 11, 2)  # a Monday


def buckets(kind, by_day: dict[int, dict], count: int) -> list[charts.Bucket]:
    """`count` daily buckets from FIRST; by_day maps a day's index to its counters."""
    rows = [(FIRST + timedelta(days=i), "all", counters) for i, counters in by_day.items()]
    last = FIRST + timedelta(days=count - 1)
    return [charts.Bucket(date.fromisoformat(key), key, reports.summarize(kind, key, counts))
            for key, counts in reports.group_counts(rows, "day", FIRST, last).items()]


def render(macro: str, chart, *args) -> str:
    from chalicelib.platform.rendering import environment

    template = environment().from_string(
        f'{{% from "dashboard/_charts.html" import {macro} %}}{{{{ {macro}(chart, "c", *args) }}}}')
    return template.render(chart=chart, args=args)


# --- scales ----------------------------------------------------------------------------------

def test_the_score_axis_maps_the_scale_ends_to_the_plot_edges():
    bottom = charts.HEIGHT - charts.BOTTOM
    assert charts.y_of(SurveyKind.NPS, -100) == bottom and charts.y_of(SurveyKind.NPS, 100) == charts.TOP
    assert charts.y_of(SurveyKind.NPS, 0) == pytest.approx((bottom + charts.TOP) / 2, abs=0.1)
    assert charts.y_of(SurveyKind.CSAT, 0) == bottom and charts.y_of(SurveyKind.CSAT, 100) == charts.TOP
    assert charts.y_of(SurveyKind.CSAT, 50) == pytest.approx((bottom + charts.TOP) / 2, abs=0.1)
    assert charts.y_of(SurveyKind.CSAT, 140) == charts.TOP  # never drawn outside the plot


def test_buckets_are_spread_evenly_across_the_plot():
    xs = [charts.x_of(i, 4) for i in range(4)]
    slot = (charts.WIDTH - charts.LEFT - charts.RIGHT) / 4
    assert xs[0] == pytest.approx(charts.LEFT + slot / 2, abs=0.1)
    assert [round(b - a, 1) for a, b in zip(xs, xs[1:])] == [round(slot, 1)] * 3
    assert charts.x_of(0, 1) == pytest.approx((charts.LEFT + charts.WIDTH - charts.RIGHT) / 2, abs=0.1)


# --- the trend -------------------------------------------------------------------------------

def test_each_point_sits_at_its_score_and_the_band_covers_its_interval():
    days = buckets(SurveyKind.NPS, {0: {"s10": 20, "s0": 5}, 1: {"s9": 10, "s3": 10}, 2: {"s8": 40}}, 3)
    chart = charts.trend(SurveyKind.NPS, days, "NPS by day")
    (run,) = chart.parts["runs"]
    for point, bucket in zip(chart.parts["points"], days):
        low, high = bucket.group["ci95"]
        assert point["y"] == charts.y_of(SurveyKind.NPS, bucket.group["nps"])
        assert point["y_high"] == charts.y_of(SurveyKind.NPS, high) <= point["y"] <= charts.y_of(SurveyKind.NPS, low)
        assert f"{point['x']},{point['y_high']}" in run["band"] and f"{point['x']},{point['y_low']}" in run["band"]
    # The polygon goes along the upper bounds left to right, then back along the lower bounds.
    corners = run["band"].split()
    assert len(corners) == 6 and corners[0].startswith(str(chart.parts["points"][0]["x"]))
    assert corners[-1].startswith(str(chart.parts["points"][0]["x"]))


def test_a_day_without_responses_is_a_gap_not_a_zero():
    days = buckets(SurveyKind.CSAT, {0: {"s5": 3}, 1: {"s4": 2}, 3: {"s1": 1}}, 5)
    chart = charts.trend(SurveyKind.CSAT, days, "CSAT by day")
    runs = chart.parts["runs"]
    assert len(runs) == 2
    assert len(runs[0]["line"].split()) == 2 and runs[0]["band"]
    assert len(runs[1]["line"].split()) == 1 and runs[1]["band"] is None  # a lone point: its whisker shows the interval
    assert [p["label"] for p in chart.parts["points"]] == [days[0].label, days[1].label, days[3].label]
    assert [row["value"] for row in chart.rows] == [100.0, 100.0, None, 0.0, None]
    svg = render("trend_chart", chart, "day", 30)
    assert svg.count("<polyline") == 2 and svg.count("<polygon") == 1 and svg.count('class="whisker"') == 3


def test_points_on_a_low_sample_are_hollow_and_said_so():
    days = buckets(SurveyKind.CSAT, {0: {"s5": 40}, 1: {"s5": 4}}, 2)
    chart = charts.trend(SurveyKind.CSAT, days, "CSAT by day")
    assert [p["low_sample"] for p in chart.parts["points"]] == [False, True]
    svg = render("trend_chart", chart, "day", 30)
    assert svg.count('class="point hollow"') == 1 and svg.count('class="point"') == 1
    assert "low sample (n=4)" in svg and "Hollow point: fewer than 30 responses" in svg


def test_a_range_without_responses_draws_axes_only_and_says_why():
    chart = charts.trend(SurveyKind.NPS, buckets(SurveyKind.NPS, {}, 7), "NPS by day")
    assert chart.parts["runs"] == [] and chart.parts["points"] == []
    assert chart.description == "No responses in this range, so there is no NPS to draw."


def test_long_ranges_label_only_some_buckets():
    chart = charts.trend(SurveyKind.NPS, buckets(SurveyKind.NPS, {}, 31), "NPS by day")
    assert 1 < len(chart.parts["x_labels"]) <= charts.MAX_X_LABELS


def test_weeks_add_up_the_days_of_each_iso_week():
    rows = [(date(2026, 11, 2), "all", {"sent": 2, "s5": 1}), (date(2026, 11, 8), "all", {"sent": 1, "s1": 1}),
            (date(2026, 11, 9), "all", {"sent": 4, "s4": 2})]
    weeks = reports.week_counts(rows, date(2026, 11, 4), date(2026, 11, 20))
    assert list(weeks) == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert (weeks["2026-11-02"].sent, weeks["2026-11-02"].distribution) == (3, {5: 1, 1: 1})
    assert weeks["2026-11-16"].responses == 0


# --- the chart is an image with a text alternative ----------------------------------------------

@pytest.mark.parametrize("macro", ["trend_chart", "distribution_chart", "funnel_chart"])
def test_every_chart_is_a_labelled_image_with_its_figures_as_a_table(macro):
    group = reports.summarize(SurveyKind.NPS, "all", reports.Counts(sent=10, distribution={9: 3, 2: 1}))
    chart = {"trend_chart": lambda: charts.trend(SurveyKind.NPS, buckets(SurveyKind.NPS, {0: {"s9": 3}}, 2), "T"),
             "distribution_chart": lambda: charts.distribution(SurveyKind.NPS, group, "D"),
             "funnel_chart": lambda: charts.funnel(group, "F")}[macro]()
    svg = render(macro, chart, *(("day", 30) if macro == "trend_chart" else ()))
    assert re.search(r'<svg [^>]*role="img"[^>]*aria-labelledby="c-title" aria-describedby="c-desc"', svg)
    assert '<title id="c-title">' in svg and '<desc id="c-desc">' in svg
    assert "<details>" in svg and "<table>" in svg and "<caption" in svg


def test_text_in_a_chart_is_escaped():
    chart = charts.trend(SurveyKind.NPS, buckets(SurveyKind.NPS, {0: {"s9": 1}}, 1), '<script>alert(1)</script>')
    chart.rows[0]["label"] = "<img src=x onerror=alert(1)>"
    svg = render("trend_chart", chart, "day", 30)
    assert "<script>" not in svg and "<img" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "&lt;img src=x onerror=alert(1)&gt;" in svg


# --- distribution and funnel -------------------------------------------------------------------

def test_distribution_bars_are_as_tall_as_their_share_and_coloured_by_what_they_count_as():
    group = reports.summarize(SurveyKind.NPS, "all", reports.Counts(distribution={10: 4, 7: 2, 0: 1}))
    chart = charts.distribution(SurveyKind.NPS, group, "Scores")
    bars = {bar["score"]: bar for bar in chart.parts["bars"]}
    assert len(bars) == 11 and bars[3]["height"] == 0
    assert bars[7]["height"] == pytest.approx(bars[10]["height"] / 2, abs=0.1)
    assert bars[10]["y"] + bars[10]["height"] == pytest.approx(chart.parts["floor"], abs=0.1)
    assert (bars[0]["kind"], bars[7]["kind"], bars[10]["kind"]) == ("detractor", "passive", "promoter")
    assert [row["share"] for row in chart.rows if row["count"]] == [14.3, 28.6, 57.1]
    csat = charts.distribution(SurveyKind.CSAT, reports.summarize(SurveyKind.CSAT, "all", reports.Counts()), "C")
    assert [b["kind"] for b in csat.parts["bars"]] == ["detractor", "detractor", "passive", "promoter", "promoter"]
    assert csat.description == "No responses in this range."


def test_the_funnel_scales_each_stage_to_the_surveys_sent():
    chart = charts.funnel({"sent": 200, "opened": 100, "responses": 50}, "Funnel")
    sent, opened, responded = chart.parts["bars"]
    assert opened["width"] == pytest.approx(sent["width"] / 2, abs=0.1)
    assert responded["width"] == pytest.approx(sent["width"] / 4, abs=0.1)
    assert [row["share"] for row in chart.rows] == [100.0, 50.0, 25.0]
    assert chart.description == "Sent 200; Opened 100 (50.0% of sent); Responded 50 (25.0% of sent)."


def test_the_funnel_says_so_when_opens_are_not_counted():
    chart = charts.funnel({"sent": 10, "responses": 5}, "Funnel")
    assert chart.rows[1] == {"stage": "Opened", "count": None, "share": None}
    assert chart.description.endswith("Opens are not counted for this range.")
    assert "not counted" in render("funnel_chart", chart)
