"""The themes evaluator (bench/themes.py): its arithmetic on a set worked by hand, and the keyword
tagger's floor on the labelled comments of every language."""
from __future__ import annotations

import pytest

from bench import themes
from chalicelib.why import tag_comment, theme_keys


def test_precision_and_recall_are_counted_per_theme_language_and_overall():
    cases = [("en", "a", ["billing"]), ("en", "b", ["billing", "waiting"]), ("fr", "c", []), ("fr", "d", ["waiting"])]
    answers = {"a": ["billing"], "b": ["billing"], "c": ["billing"], "d": ["waiting", "praise"]}
    scores = themes.score(cases, lambda text, language: answers[text], ["billing", "waiting", "praise"])
    billing, waiting, praise = (scores.by_theme[key] for key in ("billing", "waiting", "praise"))
    assert (billing.true_positive, billing.false_positive, billing.false_negative) == (2, 1, 0)
    assert billing.precision == pytest.approx(2 / 3) and billing.recall == 1
    assert (waiting.precision, waiting.recall) == (1, 0.5)
    assert praise.precision == 0 and praise.recall is None  # never labelled: no recall to speak of
    assert (scores.by_language["en"].precision, scores.by_language["en"].recall) == (1, pytest.approx(2 / 3))
    assert (scores.by_language["fr"].precision, scores.by_language["fr"].recall) == (pytest.approx(1 / 3), 1)
    assert (scores.total.true_positive, scores.total.false_positive, scores.total.false_negative) == (3, 2, 1)
    assert scores.comments == 4 and [miss[1] for miss in scores.misses] == ["b", "c", "d"]


def test_every_language_and_theme_is_labelled():
    cases = themes.load_cases()
    assert {language for language, _, _ in cases} == {"en", "de", "es", "fr", "pt"}
    for language in ("en", "de", "es", "fr", "pt"):
        mine = [labels for tag, _, labels in cases if tag == language]
        assert len(mine) >= 20 and any(not labels for labels in mine)
        assert set(theme_keys()) <= {key for labels in mine for key in labels}


def test_the_keyword_tagger_reaches_its_floor():
    """Precision is what a lead relies on (a tag shown must be right). The sets it was tuned on must
    stay nearly perfect; the blind set, written by someone who never saw the taxonomy and never
    tuned on, measured 83% precision and 71% recall at writing (sarcasm and politeness are what
    keywords cannot read): the floors guard the taxonomy against a change that loses much of it."""
    for folder in (themes.LABELLED, themes.LABELLED / "holdout"):
        tuned = themes.score(themes.load_cases(folder), tag_comment, theme_keys())
        assert tuned.total.precision >= 0.95 and tuned.total.recall >= 0.9, folder.name
        for key, counts in tuned.by_theme.items():
            assert counts.precision >= 0.85 and counts.recall >= 0.8, (folder.name, key)
    blind = themes.score(themes.load_cases(themes.LABELLED / "blind"), tag_comment, theme_keys())
    assert blind.comments == 100
    assert blind.total.precision >= 0.8 and blind.total.recall >= 0.65
