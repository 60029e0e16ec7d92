"""Demo data for `python -m devstack --demo` (what `make run` starts): 90 days of surveys, page
views, responses and recovery follow-ups, so the reports and dashboard have something to show.

Everything is written through the product's own writes (SurveyRepository.create,
delivery.mark_sent, surveys.keep_view and count_response, FollowUpRepository.open) with back-dated times, so the report
counters and indexes are exactly what the product would have written. Nothing is queued or sent:
alerts, escalations and re-surveys are what the product would send, so the seeding leaves them
out (overdue follow-ups are marked escalated back then, as the escalation run would have done,
and each follow-up is stored once, in its state of now).

The plan is drawn from a seeded random generator: the same seed and `now` give the same data.
"""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from chalicelib.delivery import mark_sent
from chalicelib.followups import FollowUp, FollowUpRepository, FollowUpStatus, escalation, lifecycle
from chalicelib.platform import clock
from chalicelib.platform.settings import get_settings
from chalicelib.surveys import (
    Agent, Channel, Customer, OpenVerdict, Survey, SurveyKind, SurveyOpen, SurveyRepository, SurveyStatus,
    count_response, keep_view, scanners, scoring,
)
from chalicelib.why import stage_reasons

DAYS = 90
SURVEYS_PER_DAY = 19          # ~1,700 surveys over 90 days
SEED = 20261124
OWNERS = ("sam", "kim")      # the local routing's owners (.chalice/config.json); they claim the rest too
DEMO_LEAD = ("lead@example.com", "Lee (demo lead)", "sam")
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
SCANNER_AGENTS = ("Mimecast-Scanner/2.1", "python-requests/2.32.3")
_WORKERS = 4


@dataclass(frozen=True)
class DemoAgent:
    id: str
    name: str
    team: str
    quality: float          # the share of happy customers at the start of the 90 days
    trend: float = 0.0      # how that share moves by the end of them
    share: float = 1.0      # relative number of interactions (a new hire has few)
    starts_on_day: int = 0  # the first day (0..DAYS-1) with interactions


AGENTS = (
    DemoAgent("agt_ana", "Ana Souza", "billing", 0.86),
    DemoAgent("agt_ben", "Ben Carter", "billing", 0.58, trend=0.25),           # getting better
    DemoAgent("agt_chen", "Chen Wei", "technical", 0.82),
    DemoAgent("agt_dev", "Dev Patel", "technical", 0.78, trend=-0.3),          # getting worse
    DemoAgent("agt_elise", "Élise Martin", "onboarding", 0.9),
    DemoAgent("agt_fay", "Fay Olsen", "onboarding", 0.75, share=0.25, starts_on_day=DAYS - 12),  # new: few responses
)
CUSTOMER_NAMES = ("Ada Lovelace", "Grace Hopper", "José Álvarez", "Zoë Kravitz", "Björn Ström", "Amélie Poulain",
                  "Nguyễn Văn An", "Søren Kierkegaard", "Mary O'Neil", "Ravi Shankar", "Chloé Dubois", "Li Na")
HAPPY_COMMENTS = ("Quick and kind, thank you!", "Très bien, merci — problème résolu.", "Sorted in minutes.",
                  "Great help from the team 👍", "Ana knew exactly what to do.", "Explained everything clearly.")
NEUTRAL_COMMENTS = ("Fine, but it took two emails.", "OK. The first answer missed the point.",
                    "Solved eventually.")
UNHAPPY_COMMENTS = ("Still waiting for my refund.", "<b>Nobody</b> read my ticket properly <script>alert(1)</script>",
                    "=SUM(A1:A9) is what your invoice shows, not a total", "Três dias sem resposta. Péssimo.",
                    "Closed my ticket without fixing anything!", "+1 for the bot, -10 for the humans")
NOTES = ("Called back, apologised, credited the month.", "Left a voicemail.", "Customer confirmed it works now.",
         "Escalated to tier 2 — fix shipped.")


@dataclass
class PlannedSurvey:
    """One back-dated survey and what happens to it."""
    survey: Survey
    sent_at: datetime
    scanner_at: Optional[datetime] = None        # a mail scanner's sweep (counts nothing)
    viewed_at: Optional[datetime] = None         # a person opened the link
    answers: list[tuple[datetime, int, Optional[str]]] = field(default_factory=list)  # (at, score, comment)
    reasons: list[str] = field(default_factory=list)  # ticked with the answers (issue 14's "why")
    resolved: Optional[bool] = None                   # the answer to "Was your issue resolved?", if asked


@dataclass(frozen=True)
class Seeded:
    surveys: int
    responses: int
    followups: dict[str, int]
    seconds: float


# --- the plan (pure: no I/O) -------------------------------------------------------------------

def plan(now: datetime, seed: int = SEED) -> list[PlannedSurvey]:
    """Every survey of the 90 days before `now`, and its views and answers."""
    rng = random.Random(seed)
    window = timedelta(days=get_settings().response_window_days)
    planned, start = [], now - timedelta(days=DAYS)
    weights = [agent.share for agent in AGENTS]
    for day in range(DAYS):
        for _ in range(rng.randint(SURVEYS_PER_DAY - 5, SURVEYS_PER_DAY + 5)):
            agent = rng.choices(AGENTS, weights)[0]
            if day < agent.starts_on_day:
                continue
            sent_at = start + timedelta(days=day, seconds=rng.randint(8 * 3600, 19 * 3600))
            if sent_at >= now:
                continue
            planned.append(_planned(rng, len(planned), agent, day, sent_at, min(now, sent_at + window)))
    planned += _fresh_detractors(rng, len(planned), now)
    _add_why(random.Random(seed + 2), planned)  # a generator of its own: the rest of the plan stays as it was
    return planned


def _add_why(rng: random.Random, planned: list[PlannedSurvey]) -> None:
    """Reasons after a detractor or passive score (0 to 2 of the stage's), and "resolved?" answered on
    most surveys: yes mostly from happy customers. The unhappy tick "waited" more and more over the
    days, so the why panel has a change to show against the period before."""
    offered = stage_reasons()
    for n, item in enumerate(planned):
        if not item.answers:
            continue
        kind, score = item.survey.kind, item.answers[-1][1]
        happy = scoring.is_promoter(kind, score)
        if not happy and offered:
            count = rng.choice((0, 1, 1, 2))
            weights = [1 + (3 * n / len(planned) if key == "waited" else 0) for key in offered]
            picked = {rng.choices(offered, weights)[0] for _ in range(count)}
            item.reasons = [key for key in offered if key in picked]
        if rng.random() < 0.8:
            item.resolved = rng.random() < (0.9 if happy else 0.4)


def _planned(rng: random.Random, n: int, agent: DemoAgent, day: int, sent_at: datetime,
             until: datetime) -> PlannedSurvey:
    kind = SurveyKind.NPS if rng.random() < 0.35 else SurveyKind.CSAT
    channel = Channel.SMS if rng.random() < 0.3 else Channel.EMAIL
    item = PlannedSurvey(_survey(rng, n, agent, kind, channel, sent_at), sent_at)
    if channel is Channel.EMAIL and rng.random() < 0.15:
        item.scanner_at = sent_at + timedelta(seconds=rng.randint(2, 40))
    answers = rng.random() < (0.45 if channel is Channel.SMS else 0.35)
    if channel is Channel.EMAIL and (answers or rng.random() < 0.4):
        item.viewed_at = sent_at + timedelta(minutes=rng.randint(3, 36 * 60))
    if answers:
        first = (item.viewed_at or sent_at + timedelta(minutes=rng.randint(2, 24 * 60))) + timedelta(seconds=5)
        quality = min(0.97, max(0.05, agent.quality + agent.trend * day / DAYS))
        item.answers.append((first, _score(rng, kind, quality), None))
        if rng.random() < 0.04:  # a change of mind, later
            item.answers.append((first + timedelta(hours=rng.randint(1, 48)), _score(rng, kind, quality), None))
        item.answers = [(at, score, _comment(rng, kind, score)) for at, score, _ in item.answers if at < until]
    # Nothing happens after `now`, nor after the survey expired.
    item.scanner_at = item.scanner_at if item.scanner_at and item.scanner_at < until else None
    item.viewed_at = item.viewed_at if item.viewed_at and item.viewed_at < until else None
    return item


def _fresh_detractors(rng: random.Random, n: int, now: datetime) -> list[PlannedSurvey]:
    """A few unhappy answers of the last hours, so follow-ups still within their deadline exist."""
    fresh = []
    for i, agent in enumerate((AGENTS[3], AGENTS[5], AGENTS[1])):
        sent_at = now - timedelta(hours=5 - i)
        item = PlannedSurvey(_survey(rng, n + i, agent, SurveyKind.CSAT, Channel.EMAIL, sent_at), sent_at,
                             viewed_at=sent_at + timedelta(minutes=30))
        item.answers.append((item.viewed_at + timedelta(seconds=5), 1 + i % 2, UNHAPPY_COMMENTS[i]))
        fresh.append(item)
    return fresh


def _survey(rng: random.Random, n: int, agent: DemoAgent, kind: SurveyKind, channel: Channel,
            sent_at: datetime) -> Survey:
    name = rng.choice(CUSTOMER_NAMES)
    customer = Customer(id=f"demo_cus_{n}", name=name, email=f"customer{n}@example.com",
                        phone=f"+1555{n:07d}")
    return Survey(
        survey_id=f"{rng.getrandbits(64):016x}", interaction_id=f"demo-{n}", kind=kind, channel=channel,
        status=SurveyStatus.SCHEDULED, customer=customer, agent=Agent(id=agent.id, name=agent.name),
        team=agent.team, base_url=get_settings().public_url or "http://127.0.0.1:8000",
        created_at=sent_at - timedelta(minutes=1), occurred_at=sent_at - timedelta(minutes=5), send_at=sent_at,
        expires_at=sent_at + timedelta(days=get_settings().response_window_days),
    )


def _score(rng: random.Random, kind: SurveyKind, quality: float) -> int:
    happy = rng.random() < quality
    if kind is SurveyKind.CSAT:
        return rng.choice((4, 5, 5)) if happy else rng.choice((1, 2, 2, 3, 3))
    if happy:
        return rng.choice((9, 10, 10))
    return rng.choice((7, 8)) if rng.random() < 0.45 else rng.randint(0, 6)


def _comment(rng: random.Random, kind: SurveyKind, score: int) -> Optional[str]:
    if rng.random() > 0.4:
        return None
    if scoring.is_detractor(kind, score):
        return rng.choice(UNHAPPY_COMMENTS)
    happy = score >= (9 if kind is SurveyKind.NPS else 4)
    return rng.choice(HAPPY_COMMENTS if happy else NEUTRAL_COMMENTS)


# --- writing it through the product's own writes ------------------------------------------------

def seed(now: Optional[datetime] = None, seed_value: int = SEED) -> Optional[Seeded]:
    """Write the demo data into the stage's table; None when it is there already."""
    started = time.monotonic()
    now = now or clock.now()
    planned = plan(now, seed_value)
    if SurveyRepository().survey_id_for_interaction(planned[0].survey.interaction_id) is not None:
        return None
    with ThreadPoolExecutor(_WORKERS) as pool:  # surveys are independent; DynamoDB Local takes several
        answered = [survey for survey in pool.map(_write_survey, planned) if survey]
    rng = random.Random(seed_value + 1)
    states: dict[str, int] = {}
    for survey in answered:  # in plan order: the routing's round-robin and the states are repeatable
        if scoring.is_detractor(survey.kind, survey.score):
            state = _write_followup(rng, survey, now)
            states[state] = states.get(state, 0) + 1
    return Seeded(len(planned), len(answered), states, time.monotonic() - started)


def _write_survey(item: PlannedSurvey) -> Optional[Survey]:
    """Create, send, view and answer one survey; the answered survey as stored, or None."""
    surveys = SurveyRepository()
    survey = item.survey
    surveys.create(survey)
    mark_sent(survey, item.sent_at, f"demo-message-{survey.interaction_id}")
    survey = survey.model_copy(update={"status": SurveyStatus.SENT, "sent_at": item.sent_at})
    if item.scanner_at:
        for method, agent, score in (("HEAD", BROWSER, None), ("GET", SCANNER_AGENTS[0], None),
                                     ("GET", SCANNER_AGENTS[1], scanners.HONEYPOT)):
            keep_view(survey, _page_view(survey, item.scanner_at, method, agent, score))
    view = None
    if item.viewed_at:
        view = _page_view(survey, item.viewed_at, "GET", BROWSER, None)
        keep_view(survey, view)
    for at, score, comment in item.answers:
        survey, _ = surveys.get_with_opens(survey.survey_id)
        evidence = view or _page_view(survey, at, "SMS" if survey.channel is Channel.SMS else "POST",
                                      "sms" if survey.channel is Channel.SMS else BROWSER, score)
        if view is None:
            surveys.add_open(evidence)  # the answer came without a page view first (as surveys/responses.py keeps it)
        counted = evidence.model_copy(update={"verdict": OpenVerdict.COUNTED, "confirmed_at": at, "reason": None})
        count_response(survey, counted, score, comment, at, item.resolved, reasons=item.reasons)
    return surveys.get(survey.survey_id) if item.answers else None


def _page_view(survey: Survey, at: datetime, method: str, user_agent: str, score: Optional[int]) -> SurveyOpen:
    """A page view judged as surveys.view_page judges it (the honeypot link is always a machine)."""
    judged = scanners.judge_fetch(method, user_agent)
    if score == scanners.HONEYPOT:
        judged = scanners.Judgement(True, "fetched the hidden link that people never see")
    return SurveyOpen(open_id=f"demo-{survey.interaction_id}-{method}-{int(at.timestamp() * 1000)}-{score}",
                      survey_id=survey.survey_id, at=at, method=method, score=score, user_agent=user_agent,
                      verdict=OpenVerdict.AUTOMATED if judged.automated else OpenVerdict.PENDING,
                      reason=judged.reason)


# --- follow-ups --------------------------------------------------------------------------------

S = FollowUpStatus
# Where a follow-up past its first deadline ended up by now, and how often. Claimed and contacted
# ones got a later deadline from their owner ("waiting for the customer"); open ones are overdue.
_ENDINGS = ((S.RESOLVED, 0.7), (S.UNREACHABLE, 0.06), (S.CONTACTED, 0.08), (S.CLAIMED, 0.06), (S.OPEN, 0.1))


def _write_followup(rng: random.Random, survey: Survey, now: datetime) -> str:
    """Open the detractor's follow-up when the product would have (the comment wait after the
    answer) and take it through the lifecycle up to a state chosen by its age; returns the state
    ("open", "claimed", ..., with " (overdue)" when it is past its deadline)."""
    opened_at = survey.responded_at + timedelta(seconds=get_settings().comment_wait_seconds)
    followup = lifecycle.new_followup(survey, opened_at)
    if now >= followup.due_at:  # past its first deadline: things happened since
        followup = _lifecycle(rng, followup, now)
    # Stored once, as it is now: stored earlier, the running stack's escalation would find it
    # overdue (and send) before the seeding marked it escalated back then.
    FollowUpRepository().open(followup)
    return followup.status.value + (" (overdue)" if followup.is_overdue(now) else "")


def _lifecycle(rng: random.Random, followup: FollowUp, now: datetime) -> FollowUp:
    """The follow-up's changes by its owner (claim, contact, resolve...) and by the escalation run,
    each at its own moment before `now` (pure: lifecycle.apply, escalation.escalated)."""
    ending = rng.choices([state for state, _ in _ENDINGS], [weight for _, weight in _ENDINGS])[0]
    at, owner = followup.opened_at, followup.owner or rng.choice(OWNERS)
    steps = {S.OPEN: [], S.CLAIMED: [S.CLAIMED], S.CONTACTED: [S.CLAIMED, S.CONTACTED],
             S.RESOLVED: [S.CLAIMED, S.CONTACTED, S.RESOLVED], S.UNREACHABLE: [S.CLAIMED, S.UNREACHABLE]}[ending]
    if ending is S.OPEN and followup.status is S.CLAIMED:
        steps = [S.OPEN]  # routing assigned it and the owner let it go
    for status in steps:
        at += timedelta(minutes=rng.randint(20, 8 * 60))
        if at >= now:
            break
        followup = _escalated_by(followup, at)
        waiting = status is steps[-1] and status in (S.CLAIMED, S.CONTACTED)
        later = now + timedelta(hours=rng.randint(12, 72)) if waiting else None
        if status is followup.status and later is None:
            continue
        note = rng.choice(NOTES) if status in (S.CONTACTED, S.RESOLVED) else None
        change = lifecycle.Change(status=status, owner=owner if status is not S.OPEN else None, note=note,
                                  due_at=later)
        # Not lifecycle.change: that writes now, and a resolve would queue a re-survey.
        followup = lifecycle.apply(followup, change, owner, at)
    return _escalated_by(followup, now)


def _escalated_by(followup: FollowUp, at: datetime) -> FollowUp:
    """The follow-up as the escalation run would have left it by `at`: marked escalated a minute
    after its deadline if it was still not closed then (the seeding sends nothing)."""
    escalated_at = followup.due_at + timedelta(minutes=1)
    if followup.escalated_at is not None or escalated_at > at or not followup.is_overdue(escalated_at):
        return followup
    return escalation.escalated(followup, escalated_at)


def add_demo_lead() -> Optional[str]:
    """The demo lead on the dashboard's allowed list (leads/allowed_list.py); their address."""
    from chalicelib import leads

    email, name, owner = DEMO_LEAD
    leads.add_lead(email, name=name, owner=owner)
    return email
