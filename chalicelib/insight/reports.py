"""Reports: NPS and CSAT summaries per day, agent, team or channel, and per reason or comment theme,
read from the counters kept at write time (insight/counters.py), never from the responses.

The arithmetic (`summarize`, `nps_interval`, `wilson_interval`, `proportion`, `fcr`, `tag_groups`,
`significant_change`) is pure; `summary` reads the counters of a day range (one Query per shard of
one dimension; by reason or theme, of that dimension and of "all", whose responses are the shares'
denominator) and adds them up per group.

Proportions (open and response rates, FCR, a reason's share) are fractions 0..1 rounded to 4 places,
their intervals too; NPS and CSAT keep their own scales (-100..100, percent).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable, Optional

from chalicelib import why
from chalicelib.insight.counters import FCR_NO, FCR_YES, TAG_DIMENSIONS, ReportCounters
from chalicelib.insight.queries import ReportQuery
from chalicelib.surveys import SurveyKind, scoring

Z95 = 1.959963984540054  # the two-sided 95% quantile of the normal distribution
LOW_SAMPLE = 30          # fewer responses than this: the figures are shown but flagged


@dataclass
class Counts:
    """What the counters hold for one group: surveys sent, surveys opened, responses per score, and
    the answers to "Was your issue resolved?" (yes, no)."""
    sent: int = 0
    opened: int = 0
    distribution: dict[int, int] = field(default_factory=dict)
    fcr_yes: int = 0
    fcr_no: int = 0

    @property
    def responses(self) -> int:
        return sum(self.distribution.values())

    def add(self, counters: dict) -> None:
        self.sent += int(counters.get("sent", 0))
        self.opened += int(counters.get("opened", 0))
        self.fcr_yes += int(counters.get(FCR_YES, 0))
        self.fcr_no += int(counters.get(FCR_NO, 0))
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


def proportion(k: int, n: int) -> tuple[Optional[float], Optional[list[float]]]:
    """k of n as a fraction with its 95% Wilson interval, rounded as reports show them; (None, None) for n = 0."""
    interval = wilson_interval(k, n)
    if interval is None:
        return None, None
    return round(k / n, 4), [round(interval[0], 4), round(interval[1], 4)]


def fcr(counts: Counts) -> Optional[dict]:
    """First-contact resolution: of the responses that answered "Was your issue resolved?", how many
    said yes, the rate and its 95% interval; None when nobody in the group answered it."""
    answered = counts.fcr_yes + counts.fcr_no
    if answered <= 0:
        return None
    rate, interval = proportion(counts.fcr_yes, answered)
    return {"answered": answered, "resolved": counts.fcr_yes, "rate": rate, "ci95": interval}


def significant_change(current: Optional[list[float]], previous: Optional[list[float]]) -> Optional[bool]:
    """Whether a figure changed significantly between two periods: their 95% intervals do not
    overlap (a cautious rule: overlapping intervals may still differ, but a lead is never told of a
    change that is noise). None when either period has no interval. The digest and the dashboard use it."""
    if not current or not previous:
        return None
    return current[0] > previous[1] or current[1] < previous[0]


def summarize(kind: SurveyKind, key: str, counts: Counts) -> dict:
    """One group of a report: sent, opened, open rate, responses, response rate, the distribution,
    the score with its 95% interval, whether the sample is small, and FCR."""
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
    group["fcr"] = fcr(counts)
    return group


def tag_groups(kind: SurveyKind, dimension: str, found: dict[str, Counts], total: int) -> list[dict]:
    """The groups of a report by reason or theme: every key the stage offers now, in its order (with
    no responses too), then any other key the counters hold (offered once), sorted. Each is
    summarized as any group, with its label and its share of the range's `total` responses (a
    response may carry several, so shares need not add up to 1). Sends carry no reason or theme:
    sent, opened and their rates are None."""
    offered = why.stage_reasons() if dimension == "reason" else why.theme_keys()
    label = why.reason_label if dimension == "reason" else why.theme_label
    keys = list(offered) + sorted(set(found) - set(offered))
    groups = []
    for key in keys:
        group = summarize(kind, key, found.get(key, Counts()))
        share, interval = proportion(group["responses"], total)
        group.update(sent=None, opened=None, open_rate=None, response_rate=None, label=label(key),
                     share=share, share_ci95=interval)
        groups.append(group)
    return groups


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


def within(rows: Iterable[tuple[date, str, dict]], first: date, last: date) -> list[tuple[date, str, dict]]:
    """The counter rows of the days [first, last] (one read of a longer range serves two periods)."""
    return [row for row in rows if first <= row[0] <= last]


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

_DIMENSION = {"all": "all", "day": "all", "agent": "agent", "team": "team", "channel": "channel",
              "reason": "reason", "theme": "theme"}


def summary(query: ReportQuery, counters: Optional[ReportCounters] = None) -> dict:
    """GET /v1/reports/summary: the report of `query`, from the counters alone. `responses`: all
    the responses of the range (by reason or theme, read from the "all" counters: the shares' base)."""
    counters = counters or ReportCounters()
    kind, first, last = query.survey, query.from_, query.to
    rows = counters.read(kind.value, _DIMENSION[query.group_by], first, last)
    if query.group_by in TAG_DIMENSIONS:
        total = group_counts(counters.read(kind.value, "all", first, last), "all", first, last)["all"].responses
        groups = tag_groups(kind, query.group_by, group_counts(rows, query.group_by, first, last), total)
    else:
        found = group_counts(rows, query.group_by, first, last)
        groups = [summarize(kind, key, counts) for key, counts in found.items()]
        total = sum(group["responses"] for group in groups)
    return {"survey": kind.value, "from": first.isoformat(), "to": last.isoformat(), "group_by": query.group_by,
            "responses": total, "groups": groups}
