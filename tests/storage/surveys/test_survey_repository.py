"""The survey repository (surveys/repository.py) on DynamoDB Local: the survey, its page views,
its one response and the report counters that move with it, its sends."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest

from chalicelib import surveys
from chalicelib.followups.jobs import HandleResponse
from chalicelib.platform import aws, clock, jobs
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import tokens
from chalicelib.surveys.model import Channel, Customer, OpenVerdict, ResponseForm, Survey, SurveyStatus
from chalicelib.surveys.repository import RECENT_OPENS, DuplicateInteraction, survey_key
from chalicelib.surveys.scoring import SurveyKind
from tests.storage.builders import BROWSER, a_survey, all_items, an_open, later, stored

# --- surveys ---------------------------------------------------------------------------------

def test_a_created_survey_reads_back_with_every_field(repos):
    survey = a_survey(
        kind=SurveyKind.NPS, channel=Channel.SMS,
        customer=Customer(id="cus_19", email="ada@example.com", phone="+14155550123", name="Ada Lovelace",
                          locale="pt-BR", timezone="America/Sao_Paulo"),
        properties={"plan": "pro", "region": "eu"}, secret_hashes=["a" * 64, "b" * 64],
        created_at=datetime(2026, 11, 24, 10, 0, 0, 123000, tzinfo=timezone.utc),  # stored to the millisecond
        occurred_at=datetime(2026, 11, 24, 9, 58, 30, tzinfo=timezone.utc),
        send_at=later(60), expires_at=later(60) + timedelta(days=28), sent_at=later(61), message_id="msg-9",
        send_attempts=2, failure_reason="attempt 1: Throttling", score=7, comment="fine, thanks",
        responded_at=later(90), response_updated_at=later(95), response_version=3,
    )
    repos.surveys.create(survey)
    assert stored(repos, survey) == survey
    assert stored(repos, survey).created_at.tzinfo is not None


def test_a_minimal_survey_reads_back_with_its_defaults(repos):
    survey = a_survey(agent=None, team=None, properties={}, sent_at=None, message_id=None,
                      status=SurveyStatus.SCHEDULED)
    repos.surveys.create(survey)
    assert stored(repos, survey) == survey


def test_an_unknown_survey_is_none(repos):
    assert repos.surveys.get(tokens.new_survey_id()) is None
    assert repos.surveys.get_with_opens(tokens.new_survey_id()) == (None, [])


def test_the_same_interaction_twice_names_the_first_survey_and_writes_nothing(repos):
    first = a_survey(interaction_id="zd-48213")
    repos.surveys.create(first)
    second = a_survey(interaction_id="zd-48213")
    with pytest.raises(DuplicateInteraction) as caught:
        repos.surveys.create(second)
    assert caught.value.survey_id == first.survey_id
    assert repos.surveys.get(second.survey_id) is None
    assert repos.surveys.survey_id_for_interaction("zd-48213") == first.survey_id
    assert sorted(item["pk"]["S"] for item in all_items(repos)) == [  # and the customer's index item
        "CUSTOMER#cus_19", "INTERACTION#zd-48213", survey_key(first.survey_id).pk]


def test_a_taken_survey_id_is_refused_without_a_second_interaction(repos):
    first = a_survey()
    repos.surveys.create(first)
    with pytest.raises(ConditionFailed):
        repos.surveys.create(a_survey(survey_id=first.survey_id, interaction_id="zd-other"))
    assert repos.surveys.survey_id_for_interaction("zd-other") is None
    assert stored(repos, first) == first


def test_survey_with_opens_returns_the_survey_and_its_opens_newest_first(repos):
    survey, other = a_survey(), a_survey()
    repos.surveys.create(survey)
    repos.surveys.create(other)
    opens = [an_open(survey, score, later(seconds)) for seconds, score in ((1, 5), (2, None), (3, 1))]
    for survey_open in opens:
        repos.add_open(survey_open)
    repos.add_open(an_open(other, 4, later(4)))

    found, recent = repos.surveys.get_with_opens(survey.survey_id)
    assert found == survey
    assert recent == list(reversed(opens))
    assert repos.surveys.opens(survey.survey_id) == opens  # the audit trail is oldest first


def test_survey_with_opens_keeps_the_survey_and_the_newest_opens_when_there_are_many(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    opens = [an_open(survey, 3, later(seconds)) for seconds in range(RECENT_OPENS + 5)]
    for survey_open in opens:
        repos.add_open(survey_open)
    found, recent = repos.surveys.get_with_opens(survey.survey_id)
    assert found == survey
    assert recent == list(reversed(opens))[:RECENT_OPENS]


def test_an_open_verdict_can_be_set(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    survey_open = an_open(survey, 2, later(1))
    repos.add_open(survey_open)
    judged = survey_open.model_copy(update={"verdict": OpenVerdict.AUTOMATED, "reason": "HEAD request"})
    repos.surveys.set_open_verdict(judged)
    assert repos.surveys.opens(survey.survey_id) == [judged]


# --- responses ---------------------------------------------------------------------------

def test_record_response_counts_the_score_and_comment(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    assert repos.record_response(survey, None, 4, "quick and kind", later(60)) == 1
    after = stored(repos, survey)
    assert (after.score, after.comment, after.status) == (4, "quick and kind", SurveyStatus.RESPONDED)
    assert after.responded_at == after.response_updated_at == later(60)
    assert after.response_version == 1


def test_a_changed_response_keeps_the_first_response_time_and_the_comment(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    repos.record_response(survey, None, 2, "slow", later(60))
    assert repos.record_response(stored(repos, survey), None, 4, None, later(120)) == 2
    after = stored(repos, survey)
    assert (after.score, after.comment, after.response_version) == (4, "slow", 2)
    assert after.responded_at == later(60)
    assert after.response_updated_at == later(120)


def test_record_response_marks_the_open_counted_in_the_same_write(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    survey_open = an_open(survey, 5, later(1))
    repos.add_open(survey_open)
    counted = survey_open.model_copy(update={"verdict": OpenVerdict.COUNTED, "confirmed_at": later(5)})
    repos.record_response(survey, counted, 5, None, later(5))
    assert repos.surveys.opens(survey.survey_id) == [counted]


def test_record_response_from_a_stale_read_fails_and_changes_nothing(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    repos.record_response(survey, None, 5, "great", later(60))
    survey_open = an_open(survey, 1, later(61))
    repos.add_open(survey_open)
    before = stored(repos, survey)

    counted = survey_open.model_copy(update={"verdict": OpenVerdict.COUNTED, "confirmed_at": later(65)})
    with pytest.raises(ConditionFailed):
        repos.record_response(survey, counted, 1, "awful", later(65))  # `survey` is still version 0
    assert stored(repos, survey) == before
    assert repos.surveys.opens(survey.survey_id) == [survey_open]


def test_record_response_after_the_survey_expired_fails(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    with pytest.raises(ConditionFailed):
        repos.record_response(survey, None, 5, None, survey.expires_at + timedelta(minutes=1))
    assert stored(repos, survey) == survey


def test_a_response_half_a_second_after_a_whole_second_expiry_fails(repos):
    # Times are compared as text in DynamoDB conditions: one fixed width makes that compare right.
    expiry = datetime(2026, 12, 22, 10, 0, 0, tzinfo=timezone.utc)
    survey = a_survey(expires_at=expiry)
    repos.surveys.create(survey)
    with pytest.raises(ConditionFailed):
        repos.record_response(survey, None, 5, None, expiry + timedelta(milliseconds=500))
    assert repos.record_response(survey, None, 5, None, expiry - timedelta(milliseconds=1)) == 1


def test_record_response_on_a_suppressed_survey_fails(repos):
    survey = a_survey(status=SurveyStatus.SUPPRESSED)
    repos.surveys.create(survey)
    with pytest.raises(ConditionFailed):
        repos.record_response(survey, None, 5, None, later(60))
    assert stored(repos, survey) == survey


def test_of_8_concurrent_responses_on_the_same_read_exactly_one_counts(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    start = threading.Barrier(8)

    def respond(n: int) -> Optional[str]:
        start.wait()
        try:
            repos.record_response(survey, None, 1 + n % 5, f"thread {n}", later(60))
        except ConditionFailed:
            return None
        return f"thread {n}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        winners = [w for w in pool.map(respond, range(8)) if w is not None]
    assert len(winners) == 1
    after = stored(repos, survey)
    assert after.comment == winners[0] and after.response_version == 1


def test_withdraw_response_uncounts_it(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    survey_open = an_open(survey, 1, later(1))
    repos.add_open(survey_open)
    repos.record_response(survey, None, 1, None, later(5))
    counted = stored(repos, survey)

    evidence = survey_open.model_copy(update={"verdict": OpenVerdict.AUTOMATED, "reason": "sweep"})
    repos.withdraw_response(counted, evidence, later(30))
    after = stored(repos, survey)
    assert after.score is None and after.responded_at is None
    assert after.status is SurveyStatus.SENT
    assert after.response_version == 2 and after.response_updated_at == later(30)
    assert repos.surveys.opens(survey.survey_id) == [evidence]


def test_withdraw_response_from_a_stale_read_fails(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    survey_open = an_open(survey, 1, later(1))
    repos.add_open(survey_open)
    repos.record_response(survey, None, 1, None, later(5))
    before = stored(repos, survey)
    with pytest.raises(ConditionFailed):
        repos.withdraw_response(survey, survey_open, later(30))  # `survey` is version 0
    assert stored(repos, survey) == before


# --- sending -------------------------------------------------------------------------------

def test_token_hashes_accumulate(repos):
    survey = a_survey(secret_hashes=[])
    repos.surveys.create(survey)
    repos.surveys.add_token_hash(survey.survey_id, "a" * 64)
    repos.surveys.add_token_hash(survey.survey_id, "b" * 64)
    assert stored(repos, survey).secret_hashes == ["a" * 64, "b" * 64]


def test_mark_sent_only_from_scheduled(repos):
    survey = a_survey(status=SurveyStatus.SCHEDULED, sent_at=None, message_id=None)
    repos.surveys.create(survey)
    repos.mark_sent(survey.survey_id, later(5), "msg-42")
    after = stored(repos, survey)
    assert (after.status, after.sent_at, after.message_id) == (SurveyStatus.SENT, later(5), "msg-42")
    with pytest.raises(ConditionFailed):
        repos.surveys.mark_failed(survey.survey_id, "too late")
    assert stored(repos, survey).status is SurveyStatus.SENT


def test_updates_of_an_unknown_survey_fail_without_creating_it(repos):
    survey_id = tokens.new_survey_id()
    with pytest.raises(ConditionFailed):
        repos.surveys.add_token_hash(survey_id, "a" * 64)
    assert repos.surveys.get(survey_id) is None


# --- the cost of recording a response --------------------------------------------------------

@pytest.fixture
def enqueued(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr(jobs, "enqueue", lambda job, delay_seconds=0: calls.append(job))
    return calls


@pytest.fixture
def dynamodb_calls(table):
    """The DynamoDB calls the product makes (through its shared client)."""
    calls: list[str] = []

    def record(event_name, **_):
        calls.append(event_name.rsplit(".", 1)[-1])

    client = aws.client("dynamodb")
    client.meta.events.register("before-call.dynamodb", record)
    yield calls
    client.meta.events.unregister("before-call.dynamodb", record)


def open_survey_page(repos, monkeypatch, score: int) -> tuple[Survey, str, str]:
    """A sent survey with a live token, and a browser's page view of one score link."""
    survey = a_survey()
    repos.surveys.create(survey)
    issued = tokens.issue(survey.survey_id)
    repos.surveys.add_token_hash(survey.survey_id, issued.secret_hash)
    monkeypatch.setattr(clock, "_frozen", later(60))
    view = surveys.view_page(issued.token, score, "GET", BROWSER)
    monkeypatch.setattr(clock, "_frozen", later(64))  # the page confirms itself after its dwell
    return survey, issued.token, view.open_id


def test_recording_a_response_costs_two_dynamodb_requests(repos, monkeypatch, enqueued, dynamodb_calls):
    survey, token, open_id = open_survey_page(repos, monkeypatch, 5)
    dynamodb_calls.clear()

    outcome = surveys.respond(token, ResponseForm(score=5, open_id=open_id), BROWSER, explicit=False)

    assert outcome.counted
    assert dynamodb_calls == ["Query", "TransactWriteItems"]
    assert enqueued == []
    assert stored(repos, survey).score == 5
    assert repos.surveys.opens(survey.survey_id)[0].verdict is OpenVerdict.COUNTED


def test_recording_a_detractor_costs_the_same_two_requests_plus_one_job(repos, monkeypatch,
                                                                         enqueued, dynamodb_calls):
    survey, token, open_id = open_survey_page(repos, monkeypatch, 1)
    dynamodb_calls.clear()

    outcome = surveys.respond(token, ResponseForm(score=1, open_id=open_id), BROWSER, explicit=False)

    assert outcome.counted
    assert dynamodb_calls == ["Query", "TransactWriteItems"]
    assert enqueued == [HandleResponse(survey_id=survey.survey_id, expected_version=1)]
    assert stored(repos, survey).score == 1


