"""Survey kinds, scales, detractors and score labels (chalicelib.scoring)."""
from __future__ import annotations

import pytest

from chalicelib.surveys import scoring
from chalicelib.surveys.scoring import SurveyKind

CSAT, NPS = SurveyKind.CSAT, SurveyKind.NPS


@pytest.mark.parametrize("score", range(0, 7))
def test_nps_0_to_6_is_a_detractor(score):
    assert scoring.is_detractor(NPS, score) is True


@pytest.mark.parametrize("score", range(7, 11))
def test_nps_7_and_above_is_not_a_detractor(score):
    assert scoring.is_detractor(NPS, score) is False


@pytest.mark.parametrize("score", [1, 2])
def test_csat_1_and_2_are_detractors(score):
    assert scoring.is_detractor(CSAT, score) is True


@pytest.mark.parametrize("score", [3, 4, 5])
def test_csat_3_and_above_is_not_a_detractor(score):
    assert scoring.is_detractor(CSAT, score) is False


@pytest.mark.parametrize("kind, score", [
    (CSAT, 0), (CSAT, -1), (CSAT, 6), (CSAT, 10),
    (NPS, -1), (NPS, 11), (NPS, -100),
])
def test_a_score_outside_the_scale_is_never_a_detractor(kind, score):
    assert scoring.is_detractor(kind, score) is False


@pytest.mark.parametrize("kind", [CSAT, NPS])
def test_no_score_is_never_a_detractor(kind):
    assert scoring.is_detractor(kind, None) is False


def test_csat_scale_is_1_to_5():
    assert list(scoring.scale(CSAT)) == [1, 2, 3, 4, 5]


def test_nps_scale_is_0_to_10():
    assert list(scoring.scale(NPS)) == list(range(0, 11))


def test_scale_accepts_the_kind_as_its_string_value():
    assert list(scoring.scale("nps")) == list(range(0, 11))
    assert scoring.is_detractor("csat", 2) is True


@pytest.mark.parametrize("kind, inside, outside", [
    (CSAT, [1, 5], [0, 6]),
    (NPS, [0, 10], [-1, 11]),
])
def test_valid_scores_are_exactly_the_scale(kind, inside, outside):
    assert all(scoring.is_valid_score(kind, s) for s in inside)
    assert not any(scoring.is_valid_score(kind, s) for s in outside)


def test_every_csat_score_has_its_own_label():
    labels = [scoring.score_label(CSAT, s) for s in scoring.scale(CSAT)]
    assert labels == ["Very unsatisfied", "Unsatisfied", "Neutral", "Satisfied", "Very satisfied"]


def test_nps_ends_have_words_and_the_middle_says_out_of_10():
    assert scoring.score_label(NPS, 0) == "Not at all likely"
    assert scoring.score_label(NPS, 10) == "Extremely likely"
    assert scoring.score_label(NPS, 6) == "6 out of 10"


@pytest.mark.parametrize("kind", [CSAT, NPS])
def test_endpoint_labels_match_the_labels_of_the_first_and_last_score(kind):
    low, high = scoring.endpoint_labels(kind)
    assert scoring.score_label(kind, scoring.scale(kind)[0]) == low
    assert scoring.score_label(kind, scoring.scale(kind)[-1]) == high


def test_nps_question_names_the_company():
    assert "Acme" in scoring.question(NPS, "Acme")
    assert scoring.question(CSAT, "Acme").endswith("?")
