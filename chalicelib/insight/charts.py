"""The dashboard's charts as data: coordinates, labels and the same figures as table rows.

Pure functions of report groups (insight/reports.py `summarize`). They compute numbers only;
templates/dashboard/_*_chart.html draw them as inline SVG with Jinja2 autoescaping, so no text
here is ever put into markup by hand. Every chart carries a title, a one-sentence description and
table rows: the text alternative a screen reader (or a lead who wants the exact figures) reads.

Geometry is in SVG user units of a fixed viewBox; the SVG scales to the width of the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Optional

from chalicelib.insight.reports import LOW_SAMPLE
from chalicelib.surveys import SurveyKind, scoring

# The trend is wide; the distribution and the funnel sit side by side on a desktop, so they are
# narrower: text keeps a readable size as each SVG scales to its box (down to a phone's width).
WIDTH, HEIGHT = 480, 250
SMALL_WIDTH = 360
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 36     # margins around the plot area
MAX_X_LABELS = 8                               # more would overlap on a phone

# The score's axis: NPS runs -100..100, CSAT (percent satisfied) 0..100.
AXIS = {SurveyKind.NPS: (-100, 100, 50), SurveyKind.CSAT: (0, 100, 25)}
SCORE_NAME = {SurveyKind.NPS: "NPS", SurveyKind.CSAT: "CSAT"}


def score_of(kind: SurveyKind, group: dict) -> Optional[float]:
    """The group's headline figure: its NPS or its CSAT (percent satisfied); None without answers."""
    return group.get("nps" if SurveyKind(kind) is SurveyKind.NPS else "csat")


@dataclass(frozen=True)
class Bucket:
    """One step of the trend: a day or an ISO week, and its report group. `tick` is the shorter
    label of the x axis (e.g. "Nov 16" for the week of Nov 16), `label` names it in the table."""
    start: date
    label: str
    group: dict
    tick: Optional[str] = None


@dataclass
class Chart:
    """What a chart template draws. `rows` are the figures of the text alternative."""
    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    rows: list[dict] = field(default_factory=list)
    parts: dict = field(default_factory=dict)


# --- scales ----------------------------------------------------------------------------------

def y_of(kind: SurveyKind, value: float) -> float:
    """The SVG y of a score: the axis' top at TOP, its bottom at HEIGHT - BOTTOM."""
    low, high, _step = AXIS[SurveyKind(kind)]
    share = (min(max(value, low), high) - low) / (high - low)
    return round(HEIGHT - BOTTOM - share * (HEIGHT - BOTTOM - TOP), 1)


def x_of(index: int, count: int, width: int = WIDTH) -> float:
    """The SVG x of the middle of slot `index` of `count` equal slots across the plot."""
    slot = (width - LEFT - RIGHT) / max(count, 1)
    return round(LEFT + (index + 0.5) * slot, 1)


def _every_nth(count: int) -> int:
    return max(1, -(-count // MAX_X_LABELS))


# --- the trend with its interval band ----------------------------------------------------------

def trend(kind: SurveyKind, buckets: list[Bucket], title: str) -> Chart:
    """The score per bucket with its 95% interval: a line and a band over each run of buckets with
    answers (a bucket without answers breaks both: a gap, not a zero), whiskers for every point,
    and points under LOW_SAMPLE answers drawn hollow."""
    kind = SurveyKind(kind)
    points = [_point(kind, i, len(buckets), b) for i, b in enumerate(buckets)]
    low, high, step = AXIS[kind]
    every = _every_nth(len(buckets))
    chart = Chart(title=title, description=_trend_description(kind, points),
                  rows=[_trend_row(p) for p in points])
    chart.parts = {
        "plot": {"left": LEFT, "right": WIDTH - RIGHT, "top": TOP, "bottom": HEIGHT - BOTTOM},
        "y_ticks": [{"y": y_of(kind, v), "label": str(v)} for v in range(low, high + 1, step)],
        "zero": y_of(kind, 0) if low < 0 else None,
        "x_labels": [{"x": p["x"], "label": p["tick"]} for i, p in enumerate(points) if i % every == 0],
        "runs": [_run(run) for run in _runs(points)],
        "points": [p for p in points if p["value"] is not None],
    }
    return chart


def _point(kind: SurveyKind, index: int, count: int, bucket: Bucket) -> dict:
    group, value = bucket.group, score_of(kind, bucket.group)
    ci = group.get("ci95") if value is not None else None
    return {"x": x_of(index, count), "label": bucket.label, "tick": bucket.tick or bucket.label,
            "start": bucket.start.isoformat(),
            "value": value, "n": group.get("responses", 0), "ci": ci,
            "y": y_of(kind, value) if value is not None else None,
            "y_low": y_of(kind, ci[0]) if ci else None, "y_high": y_of(kind, ci[1]) if ci else None,
            "low_sample": bool(group.get("low_sample", True))}


def _runs(points: list[dict]) -> list[list[dict]]:
    """Consecutive points that have a value; an empty bucket ends a run."""
    runs, current = [], []
    for point in points:
        if point["value"] is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(point)
    return runs + ([current] if current else [])


def _run(points: list[dict]) -> dict:
    """One unbroken stretch: the line through its points and the band between its bounds."""
    upper = [f"{p['x']},{p['y_high']}" for p in points if p["ci"]]
    lower = [f"{p['x']},{p['y_low']}" for p in reversed(points) if p["ci"]]
    return {"line": " ".join(f"{p['x']},{p['y']}" for p in points),
            "band": " ".join(upper + lower) if len(upper) > 1 else None}


def _trend_row(point: dict) -> dict:
    return {"label": point["label"], "value": point["value"], "ci": point["ci"], "n": point["n"],
            "low_sample": point["value"] is not None and point["low_sample"]}


def _trend_description(kind: SurveyKind, points: list[dict]) -> str:
    answered = [p for p in points if p["value"] is not None]
    name = SCORE_NAME[kind]
    if not answered:
        return f"No responses in this range, so there is no {name} to draw."
    last = answered[-1]
    ci = f" (95% interval {last['ci'][0]} to {last['ci'][1]})" if last["ci"] else ""
    return (f"{name} for {len(answered)} of {len(points)} periods with responses; "
            f"the latest, {last['label']}, is {last['value']}{ci} from {last['n']} responses. "
            f"Hollow points rest on fewer than {LOW_SAMPLE} responses; the shaded band is the 95% interval.")


# --- the score distribution -------------------------------------------------------------------

def distribution(kind: SurveyKind, group: dict, title: str) -> Chart:
    """One bar per score of the scale, its height the share of answers, coloured by what the
    score counts as (detractor, passive or neutral, promoter or satisfied)."""
    kind = SurveyKind(kind)
    scores = list(scoring.scale(kind))
    counts = {int(s): int(c) for s, c in (group.get("distribution") or {}).items()}
    total = sum(counts.values())
    tallest = max(counts.values(), default=0) or 1
    floor, top = HEIGHT - BOTTOM, TOP + 14   # room above the tallest bar for its count
    rows, bars = [], []
    slot = (SMALL_WIDTH - LEFT - RIGHT) / len(scores)
    for index, score in enumerate(scores):
        count = counts.get(score, 0)
        height = round(count / tallest * (floor - top), 1)
        share = round(100 * count / total, 1) if total else None
        rows.append({"score": score, "count": count, "share": share, "kind": score_class(kind, score)})
        bars.append({"x": round(LEFT + index * slot + slot * 0.15, 1), "width": round(slot * 0.7, 1),
                     "y": round(floor - height, 1), "height": height, "mid": x_of(index, len(scores), SMALL_WIDTH),
                     "score": score, "count": count, "kind": score_class(kind, score)})
    description = (f"{total} responses across scores {scores[0]} to {scores[-1]}."
                   if total else "No responses in this range.")
    return Chart(title=title, description=description, width=SMALL_WIDTH, rows=rows,
                 parts={"bars": bars, "floor": floor, "label_y": floor + 18})


def score_class(kind: SurveyKind, score: int) -> str:
    """What a score counts as, for colour and for words: detractor, passive or promoter."""
    if scoring.is_detractor(kind, score):
        return "detractor"
    promoter_from = 9 if SurveyKind(kind) is SurveyKind.NPS else 4
    return "promoter" if score >= promoter_from else "passive"


# --- the response funnel -----------------------------------------------------------------------

def funnel(group: dict, title: str) -> Chart:
    """sent → opened → responded as horizontal bars, widths relative to sent. `opened` is left out
    (and said so) when the counters do not hold it."""
    sent = int(group.get("sent") or 0)
    stages = [("Sent", sent), ("Opened", group.get("opened")), ("Responded", int(group.get("responses") or 0))]
    rows, bars = [], []
    bar_left, bar_width, step = 84, SMALL_WIDTH - 84 - 100, 46
    for index, (name, count) in enumerate(stages):
        share = round(100 * count / sent, 1) if sent and count is not None else None
        rows.append({"stage": name, "count": count, "share": share})
        width = round(bar_width * min(count / sent, 1), 1) if sent and count else 0
        bars.append({"name": name, "count": count, "share": share, "y": TOP + index * step,
                     "x": bar_left, "width": width, "label_x": bar_left + width + 8})
    counted = [r for r in rows if r["count"] is not None]
    description = "; ".join(f"{r['stage']} {r['count']}" + (f" ({r['share']}% of sent)" if r["share"] is not None
                                                           and r["stage"] != "Sent" else "") for r in counted)
    description += "." if group.get("opened") is not None else ". Opens are not counted for this range."
    return Chart(title=title, description=description, width=SMALL_WIDTH, height=TOP + 3 * step, rows=rows,
                 parts={"bars": bars, "bar_height": 30, "label_x": bar_left - 8})
