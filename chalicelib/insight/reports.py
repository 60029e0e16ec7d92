"""Reports: NPS and CSAT summaries per day, agent, team or channel, read from the counters kept at
write time (insight/counters.py), never from the responses.

The arithmetic (`summarize`, `nps_interval`, `wilson_interval`) is pure; `summary` reads the
counters of a day range (one Query per shard of one dimension) and adds them up per group.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable, Optional

from chalicelib.insight.counters import ReportCounters
from chalicelib.insight.queries import ReportQuery
from chalicelib.surveys import SurveyKind, scoring

Z95 = 1.959963984540054  # the two-sided 95% quantile of the normal distribution
LOW_SAMPLE = 30          # fewer responses than this: the figures are shown but flagged


@dataclass
class Counts:
    """What the counters hold for one group: surveys sent, surveys opened and responses per score."""
    sent: int = 0
    opened: int = 0
    distribution: dict[int, int] = field(default_factory=dict)

    @property
    def responses(self) -> int:
        return sum(self.distribution.values())

    def add(self, counters: dict) -> None:
        self.sent += int(counters.get("sent", 0))
        self.opened += int(counters.get("opened", 0))
        for name, value in counters.items():
            if name.startswith("s") and name[1:].isdigit():
                score = int(name[1:])
                self.distribution[score] = self.distribution.get(score, 0) + int(value)


# --- the arithmetic (pure) -------------------------------------------------------------------

def wilson_interval(successes: int, n: int, z: float = Z95) -> Optional[tuple[float, float]]:
    """Wilson's score interval for a proportion (0..1); None without observations."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def nps_interval(promoters: int, passives: int, detractors: int, z: float = Z95) -> Optional[tuple[float, float]]:
    """A 95% interval for NPS (-100..100): the normal approximation with the variance of one
    response's score (+1 promoter, 0 passive, -1 detractor), Var = pP + pD - (pP - pD)^2, computed
    on counts with z^2/3 pseudo-responses added to each category (an adjusted Wald interval, as
    Agresti-Coull adds z^2/2 to each side of a proportion), so that one response, or all alike,
    still gives an interval of sensible width. None without responses; clipped to -100..100.

    The adjustment pulls the centre toward 0, so with very few responses the interval can miss
    the observed NPS (one promoter: 100, adjusted [-53.5, 94.8]); it is then widened to include
    it. Widening never lowers coverage, and a lead never reads a figure outside its own interval."""
    n = promoters + passives + detractors
    if n <= 0:
        return None
    extra = z * z / 3
    total = n + 3 * extra
    p_promoter, p_detractor = (promoters + extra) / total, (detractors + extra) / total
    centre = p_promoter - p_detractor
    variance = (p_promoter + p_detractor - centre * centre) / total
    half = z * math.sqrt(variance)
    observed = (promoters - detractors) / n
    return max(-100.0, 100 * min(centre - half, observed)), min(100.0, 100 * max(centre + half, observed))


def summarize(kind: SurveyKind, key: str, counts: Counts) -> dict:
    """One group of a report: sent, opened, open rate, responses, response rate, the distribution,
    the score with its 95% interval and whether the sample is small."""
    kind = SurveyKind(kind)
    distribution = {str(score): counts.distribution.get(score, 0) for score in scoring.scale(kind)}
    n = sum(distribution.values())
    group = {"key": key, "sent": counts.sent, "opened": counts.opened,
             "open_rate": round(counts.opened / counts.sent, 4) if counts.sent else None, "responses": n,
             "response_rate": round(n / counts.sent, 4) if counts.sent else None,
             "distribution": distribution}
    if kind is SurveyKind.NPS:
        promoters = sum(c for s, c in distribution.items() if scoring.is_promoter(kind, int(s)))
        detractors = sum(c for s, c in distribution.items() if scoring.is_detractor(kind, int(s)))
        passives = n - promoters - detractors
        interval = nps_interval(promoters, passives, detractors)
        group.update(promoters=promoters, passives=passives, detractors=detractors,
                     nps=round(100 * (promoters - detractors) / n, 1) if n else None,
                     ci95=[round(interval[0], 1), round(interval[1], 1)] if interval else None)
    else:
        satisfied = sum(distribution[str(s)] for s in (4, 5))
        interval = wilson_interval(satisfied, n)
        group.update(satisfied=satisfied, csat=round(100 * satisfied / n, 1) if n else None,
                     average=round(sum(int(s) * c for s, c in distribution.items()) / n, 2) if n else None,
                     ci95=[round(100 * interval[0], 1), round(100 * interval[1], 1)] if interval else None)
    group["low_sample"] = n < LOW_SAMPLE
    return group


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def group_counts(rows: Iterable[tuple[date, str, dict]], group_by: str, first: date, last: date
                 ) -> dict[str, Counts]:
    """Counter rows (day, group, counters) added up per report group, keys in report order."""
    if group_by == "day":
        found: dict[str, Counts] = {day.isoformat(): Counts() for day in days(first, last)}
    elif group_by == "all":
        found = {"all": Counts()}
    else:
        found = defaultdict(Counts)
    for day, group, counters in rows:
        found[day.isoformat() if group_by == "day" else group].add(counters)
    return found if group_by in ("day", "all") else dict(sorted(found.items()))


def week_of(day: date) -> date:
    """The Monday that starts the ISO week of `day`."""
    return day - timedelta(days=day.weekday())


def week_counts(rows: Iterable[tuple[date, str, dict]], first: date, last: date) -> dict[str, Counts]:
    """Counter rows added up per ISO week (keyed by its Monday), every week of [first, last] in
    order, empty ones included: the same sums as the days', only coarser (for long trends)."""
    found: dict[str, Counts] = {}
    for day in days(first, last):
        found.setdefault(week_of(day).isoformat(), Counts())
    for day, _group, counters in rows:
        found[week_of(day).isoformat()].add(counters)
    return found


# --- the report ------------------------------------------------------------------------------

_DIMENSION = {"all": "all", "day": "all", "agent": "agent", "team": "team", "channel": "channel"}


def summary(query: ReportQuery, counters: Optional[ReportCounters] = None) -> dict:
    """GET /v1/reports/summary: the report of `query`, from the counters alone."""
    rows = (counters or ReportCounters()).read(query.survey.value, _DIMENSION[query.group_by], query.from_, query.to)
    groups = group_counts(rows, query.group_by, query.from_, query.to)
    return {"survey": query.survey.value, "from": query.from_.isoformat(), "to": query.to.isoformat(),
            "group_by": query.group_by,
            "groups": [summarize(query.survey, key, counts) for key, counts in groups.items()]}
