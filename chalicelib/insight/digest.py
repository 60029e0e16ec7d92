"""The weekly digest: each lead's email of the past 7 days against the 7 days before.

The minute schedule calls `queue_due_digests`; once per hour window (per container, as the
report compaction) it reads the leads (one Query) and queues a `SendDigest` for each lead whose
local time is within their digest hour (leads/digests.py). The job emails the digest once per lead
and ISO week, whatever the redelivery or the containers that queued it: a once-only step
`digest_<YYYY-Www>` on the lead's item (storage/steps.py).

What it holds, from the same sources as the API (the days are whole days in the stage's
reporting time zone, the last 7 before today):
- NPS and CSAT with their 95% intervals (insight/reports.py), the change against the 7 days
  before, "not a significant change" when the two intervals overlap;
- the response rate of each;
- why, for each kind answered in the week: FCR and the TOP_WHY most common reasons and comment
  themes with their share, against the 7 days before by the same rule (the dashboard's why panel,
  insight/dashboard.py); one read of each counter dimension covers both weeks;
- follow-ups opened in the week, and of those the resolved, overdue and recovered (followups/recovery.py);
- the three most helpful comments of promoters and of detractors: "helpful" is the longest (the
  most said), the newer first on a tie. The email's footnote states these rules.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Optional
from zoneinfo import ZoneInfo

from chalicelib import leads
from chalicelib.followups import followup_stats
from chalicelib.insight import reports
from chalicelib.insight.counters import ReportCounters
from chalicelib.insight.dashboard import why_panel
from chalicelib.insight.jobs import SendDigest
from chalicelib.platform import clock, jobs, staff_mail
from chalicelib.platform.rendering import render
from chalicelib.platform.settings import get_settings
from chalicelib.storage.steps import run_once
from chalicelib.surveys import ResponseIndex, SurveyKind, scoring

log = logging.getLogger(__name__)

HOUR_SECONDS = 3600
TOP_COMMENTS = 3
TOP_WHY = 3  # reasons and themes of the week, the most common first
_SCORE = {SurveyKind.NPS: "nps", SurveyKind.CSAT: "csat"}
_queued_window: Optional[int] = None  # the hour this container last looked for due digests


def queue_due_digests(now: Optional[datetime] = None) -> Optional[int]:
    """Queue the digests due now, once per hour window in this container; how many, or None when
    this container looked in this hour already (another container's look is harmless: the job's step)."""
    global _queued_window
    now = now or clock.now()
    window = int(now.timestamp()) // HOUR_SECONDS
    if window == _queued_window:
        return None
    due = [SendDigest(email=lead.email, week=week) for lead in leads.list_leads()
           if (week := leads.digest_week_due(lead, now))]
    jobs.enqueue_many(due)
    _queued_window = window
    if due:
        log.info("queued %d weekly digests", len(due))
    return len(due)


def handle_send_digest(job: SendDigest) -> str:
    lead = leads.get_lead(job.email)
    if lead is None:
        return "not a lead"
    if not lead.digest_enabled:
        return "switched off"
    sent = run_once(leads.lead_key(lead.email), f"digest_{job.week.replace('-', '_')}",
                    lambda: send_digest(lead, clock.now()) is not None)
    return "sent" if sent else "already sent"


def send_digest(lead, now: datetime) -> EmailMessage:
    """Build and send `lead`'s digest of the 7 days before `now`'s day; the message sent."""
    settings = get_settings()
    values = digest_values(now)
    base = (settings.public_url or "").rstrip("/")
    values.update(lead_name=lead.name, dashboard=f"{base}/dashboard",
                  week=leads.iso_week(now.astimezone(leads.digest_zone(lead)).date()), email=lead.email)
    message = staff_mail.send(lead.email, f"Your weekly closeloop digest: {values['first']} to {values['last']}",
                              render("email/digest.txt", **values), render("email/digest.html", **values))
    log.info("weekly digest sent to %s", lead.email)
    return message


def periods(now: datetime) -> tuple[tuple[date, date], tuple[date, date]]:
    """The last 7 whole days before `now`'s day (reporting time zone), and the 7 before those."""
    today = now.astimezone(ZoneInfo(get_settings().reporting_timezone)).date()
    week = (today - timedelta(days=7), today - timedelta(days=1))
    return week, (week[0] - timedelta(days=7), week[1] - timedelta(days=7))


def digest_values(now: datetime) -> dict:
    """What the digest shows (pure of the lead): scores, rates, why, follow-ups and comments."""
    week, before = periods(now)
    first, last = week
    start, end = _instant(first), _instant(last + timedelta(days=1))
    counters, scores, why = ReportCounters(), [], []
    for kind in SurveyKind:
        both = list(counters.read(kind.value, "all", before[0], last))  # one read for the two weeks
        current, previous = (_week_group(kind, both, days) for days in (week, before))
        scores.append(compare(kind, current, previous))
        if current["responses"]:
            why.append({"kind": kind.value.upper(), **why_panel(kind, counters, both, week, before, top=TOP_WHY)})
    stats = followup_stats(start, end, now)
    promoters, detractors = top_comments(start, end)
    return dict(first=first.isoformat(), last=last.isoformat(), scores=scores, why=why, followups=stats,
                promoters=promoters, detractors=detractors, top=TOP_COMMENTS, top_why=TOP_WHY)


def compare(kind: SurveyKind, current: dict, previous: dict) -> dict:
    """One score of the digest: this week's, last week's, the change, and whether it is significant
    (the two 95% intervals do not overlap)."""
    name = _SCORE[kind]
    score, before = current.get(name), previous.get(name)
    change = round(score - before, 1) if score is not None and before is not None else None
    significant = reports.significant_change(current.get("ci95"), previous.get("ci95"))
    return {"kind": kind.value.upper(), "score": score, "ci95": current.get("ci95"), "previous": before,
            "previous_ci95": previous.get("ci95"), "change": change, "significant": significant,
            "responses": current["responses"], "sent": current["sent"], "response_rate": current["response_rate"],
            "low_sample": current["low_sample"]}


def top_comments(start: datetime, end: datetime) -> tuple[list[dict], list[dict]]:
    """The TOP_COMMENTS longest comments of promoters and of detractors responding in [start, end)."""
    promoters, detractors = [], []
    for survey, _ in ResponseIndex().newest_first(start, clock.iso(end), has_comment=True):
        if survey is None or not survey.comment:
            continue
        entry = {"kind": survey.kind.value.upper(), "score": survey.score, "comment": survey.comment.strip(),
                 "agent": (survey.agent.name or survey.agent.id) if survey.agent else None}
        if scoring.is_promoter(survey.kind, survey.score):
            promoters.append(entry)
        elif scoring.is_detractor(survey.kind, survey.score):
            detractors.append(entry)
    # Newest first already: a stable sort keeps the newer first among comments of equal length.
    return tuple(sorted(found, key=lambda e: -len(e["comment"]))[:TOP_COMMENTS] for found in (promoters, detractors))


def _week_group(kind: SurveyKind, rows: list, days: tuple[date, date]) -> dict:
    """The week's one group, as GET /v1/reports/summary gives it for those days, from rows read once."""
    counts = reports.group_counts(reports.within(rows, *days), "all", *days)["all"]
    return reports.summarize(kind, "all", counts)


def _instant(day: date) -> datetime:
    """Midnight starting `day` in the reporting time zone."""
    return datetime.combine(day, time(), ZoneInfo(get_settings().reporting_timezone))
