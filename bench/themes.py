"""The keyword tagger against the labelled comments of tests/fixtures/themes/ (one file per
language, each comment with the themes a reader gives it): precision and recall per theme, and
per language (`python -m bench --only themes`; no DynamoDB needed).

Three sets: the tuning set (the default taxonomy's terms were chosen while reading it, so its
figures flatter the tagger); the first held-out set in holdout/ (written before the tagger saw it;
its misses were then read and general terms added, so it is tuned on now); and the blind set in
blind/ (written by someone who never saw the taxonomy, and never tuned on): the honest estimate for
comments phrased as nobody foresaw.

Precision: of the comments the tagger gave a theme, the share that carry it. Recall: of the
comments that carry a theme, the share the tagger gave it. Micro averages pool every decision.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "themes"


@dataclass
class Counts:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0

    @property
    def precision(self) -> Optional[float]:
        tagged = self.true_positive + self.false_positive
        return self.true_positive / tagged if tagged else None

    @property
    def recall(self) -> Optional[float]:
        carried = self.true_positive + self.false_negative
        return self.true_positive / carried if carried else None


@dataclass
class Scores:
    by_theme: dict[str, Counts] = field(default_factory=dict)
    by_language: dict[str, Counts] = field(default_factory=dict)
    total: Counts = field(default_factory=Counts)
    comments: int = 0
    misses: list[tuple[str, str, list[str], list[str]]] = field(default_factory=list)  # lang, text, wanted, got


def load_cases(folder: Path = LABELLED) -> list[tuple[str, str, list[str]]]:
    """(language, comment, themes) of every labelled comment."""
    return [(path.stem, case["text"], sorted(case["themes"]))
            for path in sorted(folder.glob("*.json")) for case in json.loads(path.read_text("utf-8"))]


def score(cases: Iterable[tuple[str, str, list[str]]], tagger: Callable[[str, str], list[str]],
          themes: Iterable[str]) -> Scores:
    """Each comment's themes against the tagger's, counted per theme, per language and overall."""
    scores = Scores(by_theme={key: Counts() for key in themes})
    for language, text, wanted in cases:
        got, scores.comments = set(tagger(text, language)), scores.comments + 1
        per_language = scores.by_language.setdefault(language, Counts())
        for key in set(wanted) | got:
            kind = "true_positive" if key in wanted and key in got else "false_positive" if key in got \
                else "false_negative"
            for counts in (scores.by_theme.setdefault(key, Counts()), per_language, scores.total):
                setattr(counts, kind, getattr(counts, kind) + 1)
        if got != set(wanted):
            scores.misses.append((language, text, sorted(wanted), sorted(got)))
    return scores


def measure() -> dict[str, Scores]:
    from chalicelib.why import tag_comment, theme_keys

    return {name: score(load_cases(folder), tag_comment, theme_keys())
            for name, folder in (("tuning set", LABELLED), ("first held-out set (tuned on since)", LABELLED / "holdout"),
                                 ("blind set", LABELLED / "blind"))}


def _figure(value: Optional[float]) -> str:
    return "   -" if value is None else f"{value:4.0%}"


def print_themes(sets: dict[str, Scores], show_misses: bool = True) -> None:
    for name, scores in sets.items():
        _print_set(name, scores, show_misses)


def _print_set(name: str, scores: Scores, show_misses: bool) -> None:
    print(f"\n## Comment themes: the keyword tagger on the {name}, {scores.comments} labelled comments\n")
    print(f"{'':<18} {'precision':>9} {'recall':>7}   tp  fp  fn")
    for title, rows in (("theme", scores.by_theme), ("language", scores.by_language)):
        print(f"by {title}")
        for name, counts in rows.items():
            print(f"  {name:<16} {_figure(counts.precision):>9} {_figure(counts.recall):>7}  "
                  f"{counts.true_positive:>3} {counts.false_positive:>3} {counts.false_negative:>3}")
    total = scores.total
    print(f"{'all (micro)':<18} {_figure(total.precision):>9} {_figure(total.recall):>7}  "
          f"{total.true_positive:>3} {total.false_positive:>3} {total.false_negative:>3}")
    if show_misses and scores.misses:
        print("\ncomments tagged otherwise than labelled (language: wanted / got):")
        for language, text, wanted, got in scores.misses:
            print(f"  {language}: {text!r}  {wanted} / {got}")
