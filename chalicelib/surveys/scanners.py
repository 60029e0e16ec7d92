"""Is a survey page view a person or a machine? The one place that judges it.

Mail security scanners (Safe Links, Mimecast, Proofpoint...) fetch every link of a message within
seconds of delivery, HEAD then GET, some in a headless browser that runs scripts and submits forms.
A person opens one score link and stays. So a score counts only when the page confirms it after
being visible for a while, and the confirmation is refused when the evidence looks like a sweep:
- HEAD requests and self-declared robots (link checkers, previewers, HTTP libraries);
- the hidden honeypot link of the email was fetched around the same time;
- links of other scores were opened around the same time, before any of them was confirmed;
- many different scores confirmed one after another within a minute or two;
- a page confirming itself sooner than it could have been visible for the dwell time.
A person who comes back later and picks another score is not a sweep: the earlier choice had been
confirmed before the new link was opened.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from chalicelib.surveys.model import OpenVerdict, SurveyOpen

HONEYPOT = -1  # the score recorded for a fetch of the hidden link
BURST_WINDOW = timedelta(seconds=15)
HONEYPOT_WINDOW = timedelta(seconds=60)
SWEEP_WINDOW = timedelta(seconds=90)
SWEEP_DISTINCT_SCORES = 4
# An explicit form submission is a stronger signal than a page confirming itself, so it is refused
# only when the burst covers this many different scores (a scanner submitting every page's form).
EXPLICIT_BURST_SCORES = 3

_AUTOMATED_AGENTS = re.compile(
    r"bot\b|bot/|spider|crawl|slurp|preview|scanner|checker|validator|monitor|"
    r"python-requests|python-urllib|aiohttp|httpx|curl/|wget/|go-http-client|java/|okhttp|"
    r"libwww|httpclient|node-fetch|axios/|postmanruntime|"
    r"mimecast|proofpoint|barracuda|safelinks|symantec|forcepoint|trend ?micro|sophos|"
    r"facebookexternalhit|whatsapp|telegram|skypeuripreview|discordbot|slackbot|bingpreview|"
    r"googleimageproxy|yahoomailproxy|ms-office|microsoft office|outlook-ios-linkchecker",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Judgement:
    automated: bool
    reason: Optional[str] = None
    sweep: bool = False  # a sweep was detected after responses had been counted: withdraw them


PERSON = Judgement(automated=False)


def judge_fetch(method: str, user_agent: str) -> Judgement:
    """First look at a single fetch, before any confirmation."""
    if method.upper() == "HEAD":
        return Judgement(True, "HEAD request: link checkers probe, browsers do not")
    if not user_agent.strip():
        return Judgement(True, "no User-Agent header")
    if _AUTOMATED_AGENTS.search(user_agent):
        return Judgement(True, "User-Agent of an automated client")
    return PERSON


def judge_confirmation(view: SurveyOpen, recent: list[SurveyOpen], user_agent: str, now: datetime,
                       explicit: bool, min_visible: timedelta = timedelta(0)) -> Judgement:
    """Judge a page view's confirmation of a score against the survey's recent page views.

    `min_visible` is how long the page must have been open before it may confirm itself: the
    page waits that long, so an earlier confirmation comes from a script, not from the page.
    """
    first_look = judge_fetch("GET", user_agent)
    if first_look.automated:
        return first_look
    if view.verdict is OpenVerdict.AUTOMATED:
        return Judgement(True, view.reason or "the page view was judged automated")
    if not explicit and now - view.at < min_visible:
        return Judgement(True, "confirmed sooner than the page could have been seen")
    others = [o for o in recent if o.open_id != view.open_id]
    if any(o.score == HONEYPOT and abs(o.at - view.at) <= HONEYPOT_WINDOW for o in others):
        return Judgement(True, "the hidden link of the email was fetched at the same time")
    burst_scores = {o.score for o in others if _in_same_burst(view, o)}
    if burst_scores and (not explicit or len(burst_scores | {view.score}) >= EXPLICIT_BURST_SCORES):
        return Judgement(True, f"links of {len(burst_scores) + 1} scores opened within "
                               f"{int(BURST_WINDOW.total_seconds())} s before any was confirmed")
    swept = {o.score for o in others if o.verdict is OpenVerdict.COUNTED and o.score is not None
             and o.confirmed_at and now - o.confirmed_at <= SWEEP_WINDOW}
    if view.score is not None and len(swept | {view.score}) >= SWEEP_DISTINCT_SCORES:
        return Judgement(True, f"{len(swept | {view.score})} different scores confirmed within "
                               f"{int(SWEEP_WINDOW.total_seconds())} s", sweep=True)
    return PERSON


def _in_same_burst(view: SurveyOpen, other: SurveyOpen) -> bool:
    """Two score links opened close together, neither confirmed before the other was opened."""
    if other.score is None or other.score == HONEYPOT or view.score is None or other.score == view.score:
        return False
    if abs(other.at - view.at) > BURST_WINDOW:
        return False
    earlier, later = (other, view) if other.at <= view.at else (view, other)
    confirmed_first = earlier.confirmed_at is not None and earlier.verdict is OpenVerdict.COUNTED \
        and earlier.confirmed_at <= later.at
    return not confirmed_first
