"""A scanner that opens a survey's links one after another raises no alert; one that is slower than
the quiet wait gets its alert taken back; a person who changes their mind is counted and alerted once.

The jobs queue runs here as SQS runs it, on the frozen clock: a job is delivered once its delay
has passed (`DelayedQueue`), and the detractor decision's real quiet rule is on (`stack.quiet_rule`).
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.followups.jobs import HandleResponse
from chalicelib.followups.lifecycle import followup_id_for
from chalicelib.followups.model import FollowUpStatus
from chalicelib.platform import clock as app_clock
from chalicelib.platform import settings
from tests.functional.helpers import (
    PAGE_DWELL_SECONDS, confirm, deliver, open_page, send_email_survey, survey, take_jobs,
)
from tests.repos import Repositories

LOCAL_COMMENT_WAIT = 8  # the local stage's CLOSELOOP_COMMENT_WAIT_SECONDS (.chalice/config.json)


class DelayedQueue:
    """The jobs queue on the frozen clock: each job queued from now on is delivered once its delay has passed."""

    def __init__(self, stack):
        self.stack, self.seen, self.pending = stack, len(stack.delays), []
        take_jobs(stack)  # what is on the queue already was delivered by send_email_survey

    def advance(self, seconds: float, step: float = 0.5) -> None:
        """Let `seconds` pass, delivering every job when it falls due."""
        end = app_clock.now() + timedelta(seconds=seconds)
        while True:
            self._deliver_due()
            if app_clock.now() >= end:
                return
            app_clock.set_now(min(end, app_clock.now() + timedelta(seconds=step)))

    def drain(self) -> None:
        while self.pending or len(self.stack.delays) > self.seen:
            self.advance(1)

    def decisions(self) -> list[HandleResponse]:
        return [job for job, _ in self.stack.delays if isinstance(job, HandleResponse)]

    def _deliver_due(self) -> None:
        while True:
            take_jobs(self.stack)  # queued by the stack fixture at once; delivered here when due
            now = app_clock.now()
            self.pending += [(now + timedelta(seconds=delay), job) for job, delay in self.stack.delays[self.seen:]]
            self.seen = len(self.stack.delays)
            due = [job for at, job in self.pending if at <= now]
            if not due:
                return
            self.pending = [(at, job) for at, job in self.pending if at > now]
            for job in due:
                deliver(job)


@pytest.fixture(autouse=True)
def local_waits(stack, clock, monkeypatch):
    """The local stage's short comment wait, and the decision's real quiet rule."""
    monkeypatch.setenv("CLOSELOOP_COMMENT_WAIT_SECONDS", str(LOCAL_COMMENT_WAIT))
    settings.reset_settings()
    stack.quiet_rule()


def sweep(api, queue: DelayedQueue, links: dict[int, str], linger: float) -> None:
    """A scanner's browser opens each score link in turn and lingers on it: each page confirms
    itself after its dwell, as a page left open does."""
    for score in sorted(links):
        page = open_page(api, links[score])
        queue.advance(PAGE_DWELL_SECONDS)
        confirm(api, links[score], page, after_seconds=0)
        queue.advance(linger - PAGE_DWELL_SECONDS)


def followup(survey_id):
    return Repositories().followups.get(followup_id_for(survey_id))


def test_a_sweep_that_opens_the_links_one_by_one_counts_nothing_and_alerts_nobody(api, stack, webhook):
    survey_id, links = send_email_survey(api, stack, survey="nps")
    delayed = DelayedQueue(stack)

    # 11 links, 3.2 s each: three detractor scores are counted before the fourth shows the sweep,
    # and the first decision falls due (3 s + 8 s) while the survey is still being swept.
    sweep(api, delayed, links, linger=3.2)
    delayed.drain()

    assert survey(api, survey_id)["score"] is None and survey(api, survey_id)["status"] == "sent"
    assert stack.alerts() == [] and webhook.bodies == []
    assert followup(survey_id) is None
    assert len(delayed.decisions()) >= 2  # the decision was queued, and waited for the sweep to end


def test_a_sweep_slower_than_the_quiet_wait_gets_its_alert_taken_back_once(api, stack, webhook):
    survey_id, links = send_email_survey(api, stack, survey="nps")
    delayed = DelayedQueue(stack)

    # 12 s a page: the survey is quiet for 8 s after the first score, so the alert goes out.
    sweep(api, delayed, {0: links[0]}, linger=12)
    interaction_id = survey(api, survey_id)["interaction_id"]
    assert [a["subject"] for a in stack.alerts()] == [f"closeloop: detractor NPS 0 on {interaction_id}"]
    assert len(webhook.bodies) == 1 and followup(survey_id).status is FollowUpStatus.OPEN

    sweep(api, delayed, {s: links[s] for s in range(1, 11)}, linger=12)  # the fourth score shows the sweep
    delayed.drain()

    assert survey(api, survey_id)["score"] is None
    closed = followup(survey_id)
    assert closed.status is FollowUpStatus.AUTOMATED and closed.closed_at is not None
    assert closed.history[-1].by == "closeloop" and closed.history[-1].action == "automated"
    alerts = stack.alerts()
    assert len(alerts) == 2 and "retracted" in alerts[1]["subject"]
    assert "automated link check" in alerts[1]["message"] and closed.followup_id in alerts[1]["message"]
    assert len(webhook.bodies) == 2 and webhook.bodies[1]["text"].startswith("Retracted:")

    deliver(HandleResponse(survey_id=survey_id, expected_version=1))  # a redelivered decision
    assert len(stack.alerts()) == 2 and len(webhook.bodies) == 2


def test_a_person_who_changes_their_mind_twice_is_counted_and_alerted_once_with_the_last_score(
        api, stack, webhook):
    survey_id, links = send_email_survey(api, stack, survey="nps")
    delayed = DelayedQueue(stack)

    for score in (2, 5, 3):  # each page stays open a little longer than it takes to confirm
        sweep(api, delayed, {score: links[score]}, linger=4)
    delayed.drain()

    state = survey(api, survey_id)
    assert state["score"] == 3 and state["status"] == "responded"
    alerts = stack.alerts()
    assert len(alerts) == 1 and "NPS 3" in alerts[0]["subject"] and len(webhook.bodies) == 1
    assert followup(survey_id).score == 3 and followup(survey_id).status is FollowUpStatus.OPEN


def test_a_busy_survey_puts_the_decision_off_until_it_has_been_quiet_for_the_comment_wait(api, stack, webhook):
    survey_id, links = send_email_survey(api, stack, survey="nps")
    delayed = DelayedQueue(stack)
    sweep(api, delayed, {1: links[1]}, linger=PAGE_DWELL_SECONDS)
    confirmed_at = app_clock.now()
    delayed.advance(LOCAL_COMMENT_WAIT - 2)
    open_page(api, links[1])  # the person looks at the page again: the survey is busy

    delayed.advance(2)  # the first decision falls due now, and waits
    assert stack.alerts() == []
    assert [d for _, d in stack.delays if d not in (0, LOCAL_COMMENT_WAIT)] == [LOCAL_COMMENT_WAIT - 2]

    delayed.drain()
    assert len(stack.alerts()) == 1
    assert app_clock.now() >= confirmed_at + timedelta(seconds=2 * LOCAL_COMMENT_WAIT - 2)
