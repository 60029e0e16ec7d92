"""Timers (storage/timers.py) on DynamoDB Local: a timer fires once, when due, in batches; a run that
dies halfway leaves its timers to the next; a timer set anew meanwhile stays; a bad one goes."""
from __future__ import annotations

import logging
import threading

import pytest

from chalicelib.delivery.jobs import SendReminder, SendSurvey
from chalicelib.platform import jobs
from chalicelib.storage import timers
from chalicelib.storage.table import ConditionFailed, ItemKey
from chalicelib.surveys.repository import survey_key
from tests.storage.builders import a_survey, later

KINDS = (SendSurvey, SendReminder)


@pytest.fixture
def queued(monkeypatch):
    """What the timers queue, batch by batch (the queue itself is SQS's business)."""
    batches: list[list] = []
    lock = threading.Lock()

    def enqueue_many(batch):
        assert len(batch) <= jobs.BATCH
        with lock:
            batches.append(list(batch))

    monkeypatch.setattr(jobs, "enqueue_many", enqueue_many)
    return batches


def flat(batches) -> list:
    return [job for batch in batches for job in batch]


def survey_with_timer(repos, due_seconds: float, job=None):
    survey = a_survey()
    job = job or SendReminder(survey_id=survey.survey_id)
    repos.surveys.create(survey, timer=timers.timer(job, later(due_seconds)))
    return survey, job


def timer_of(repos, survey) -> tuple:
    item = repos.table.get(survey_key(survey.survey_id), include_expired=True)
    return item.get("due_pk"), item.get("due_sk")


def test_a_timer_fires_once_when_due_and_is_taken_off(repos, queued):
    survey, job = survey_with_timer(repos, 3 * 86400)

    assert timers.fire_due(later(3 * 86400 - 1), KINDS) == 0 and queued == []
    assert timers.fire_due(later(3 * 86400), KINDS) == 1  # due at exactly now fires
    assert flat(queued) == [job] and timer_of(repos, survey) == (None, None)
    assert timers.fire_due(later(4 * 86400), KINDS) == 0 and flat(queued) == [job]
    assert repos.surveys.get(survey.survey_id, include_expired=True).survey_id == survey.survey_id  # item kept


def test_many_timers_fire_in_queue_batches_across_shards(repos, queued):
    made = [survey_with_timer(repos, n)[1] for n in range(25)]
    assert len({timers.timer(job, later(0))["due_pk"] for job in made}) > 1  # spread over the shards

    assert timers.fire_due(later(100), KINDS) == 25
    assert sorted(flat(queued), key=repr) == sorted(made, key=repr)
    assert all(len(batch) <= jobs.BATCH for batch in queued)
    assert timers.fire_due(later(100), KINDS) == 0


def test_a_run_told_to_stop_leaves_the_rest_to_the_next(repos, queued):
    made = [survey_with_timer(repos, n)[1] for n in range(15)]
    budget = iter([True])
    first = timers.fire_due(later(100), KINDS, keep_going=lambda: next(budget, False))
    assert 0 < first <= jobs.BATCH
    assert timers.fire_due(later(100), KINDS) == 15 - first
    assert sorted(flat(queued), key=repr) == sorted(made, key=repr)


def test_a_run_that_dies_before_queueing_leaves_the_timer(repos, queued, monkeypatch):
    survey, job = survey_with_timer(repos, 60)

    def down(batch):
        raise RuntimeError("SQS unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(jobs, "enqueue_many", down)
        with pytest.raises(RuntimeError):
            timers.fire_due(later(60), KINDS)
    assert timer_of(repos, survey)[0] is not None
    assert timers.fire_due(later(61), KINDS) == 1 and flat(queued) == [job]


def test_a_run_that_dies_after_queueing_fires_again_and_the_job_stays_the_same(repos, queued, monkeypatch):
    survey, job = survey_with_timer(repos, 60)

    def dies(*args, **kwargs):
        raise RuntimeError("Lambda timed out")

    with monkeypatch.context() as patched:
        patched.setattr(type(repos.table), "update", dies)
        with pytest.raises(RuntimeError):
            timers.fire_due(later(60), KINDS)
    assert timer_of(repos, survey)[0] is not None
    # Queued twice: the job is idempotent (its side effects are once-only steps), the timer goes.
    assert timers.fire_due(later(61), KINDS) == 1 and flat(queued) == [job, job]
    assert timer_of(repos, survey) == (None, None)


def test_a_timer_set_anew_while_firing_stays(repos, queued, monkeypatch):
    survey, job = survey_with_timer(repos, 60)
    later_job = SendReminder(survey_id=survey.survey_id)
    new_timer = timers.timer(later_job, later(7200))

    def enqueue_and_reset(batch):
        queued.append(list(batch))
        # Meanwhile the survey's own write sets its next timer (say, a withdrawn answer re-arms it).
        timers.wait_until(later_job, later(7200), later(60), survey_key(survey.survey_id))

    monkeypatch.setattr(jobs, "enqueue_many", enqueue_and_reset)
    assert timers.fire_due(later(60), KINDS) == 1
    assert timer_of(repos, survey) == (new_timer["due_pk"], new_timer["due_sk"])


def test_concurrent_runs_take_every_timer_off_and_queue_each_job_at_least_once(repos, queued):
    made = [survey_with_timer(repos, n)[1] for n in range(30)]
    runs = [threading.Thread(target=timers.fire_due, args=(later(100), KINDS)) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert set(map(repr, flat(queued))) == set(map(repr, made))
    assert timers.fire_due(later(100), KINDS) == 0


def test_a_timer_whose_job_no_handler_knows_is_taken_off_and_logged(repos, queued, caplog):
    survey = a_survey()
    repos.surveys.create(survey, timer={"due_pk": "TIMER#3", "due_sk": f"{later(0).isoformat()}#{{\"kind\": 7}}"})
    with caplog.at_level(logging.ERROR, logger="chalicelib.platform.jobs"):
        assert timers.fire_due(later(1), KINDS) == 0
    assert queued == []
    assert timer_of(repos, survey) == (None, None)
    assert "dropped a malformed job message" in caplog.text


def test_wait_until_queues_a_short_wait_and_sets_a_timer_for_a_long_one(repos, monkeypatch):
    enqueued = []
    monkeypatch.setattr(jobs, "enqueue", lambda job, delay=0: enqueued.append((job, delay)))
    survey = a_survey()
    repos.surveys.create(survey)
    job = SendSurvey(survey_id=survey.survey_id)
    key = survey_key(survey.survey_id)

    assert timers.wait_until(job, later(0), later(0), key) is False  # due: run it now
    assert timers.wait_until(job, later(900), later(0), key) is True and enqueued == [(job, 900.0)]
    assert timer_of(repos, survey) == (None, None)
    assert timers.wait_until(job, later(901), later(0), key) is True and len(enqueued) == 1
    assert timer_of(repos, survey)[1] == timers.timer(job, later(901))["due_sk"]


def test_wait_until_never_makes_an_item_that_is_gone(repos):
    key = ItemKey("SURVEY#gone", "SURVEY")
    with pytest.raises(ConditionFailed):
        timers.wait_until(SendSurvey(survey_id="gone"), later(86400), later(0), key)
    assert repos.table.get(key, include_expired=True) is None


def test_a_survey_timer_lives_in_the_due_index_beside_followup_deadlines_without_mixing(repos, queued):
    from tests.storage.builders import a_followup

    survey, job = survey_with_timer(repos, 60)
    followup = a_followup(due_at=later(30))
    repos.followups.open(followup)  # a deadline in the same index, partition DUE
    assert timers.fire_due(later(120), KINDS) == 1 and flat(queued) == [job]
    assert list(repos.followups.due_ids(later(120))) == [followup.followup_id]  # the escalation still sees it

