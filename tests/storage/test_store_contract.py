"""The contract of chalicelib.storage.Store, on DynamoDB Local (the real engine)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Optional

import pytest

from chalicelib import auth, clock, config, jobs, surveys, tokens
from chalicelib.models import (
    Agent, ApiKey, Channel, Customer, FollowUp, FollowUpStatus, HandleResponse, OpenVerdict, ResponseForm, Survey,
    SurveyOpen, SurveyStatus,
)
from chalicelib.scoring import SurveyKind
from chalicelib.storage import (
    RECENT_OPENS, ConditionFailed, DuplicateInteraction, StepBusy, followup_pk, survey_pk,
)

# Whole seconds: the store writes response times at millisecond precision.
T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
_numbers = count()


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def a_survey(**overrides) -> Survey:
    values = dict(
        survey_id=tokens.new_survey_id(), interaction_id=f"zd-{next(_numbers)}", kind=SurveyKind.CSAT,
        channel=Channel.EMAIL, status=SurveyStatus.SENT,
        customer=Customer(id="cus_19", email="ada@example.com", name="Ada Lovelace"),
        agent=Agent(id="agt_7", name="Sam"), team="billing", properties={"plan": "pro"},
        base_url="http://127.0.0.1:8000", created_at=T0, send_at=T0, expires_at=T0 + timedelta(days=28),
        sent_at=T0, message_id="msg-1",
    )
    values.update(overrides)
    return Survey(**values)


def an_open(survey: Survey, score: Optional[int], at: datetime, **overrides) -> SurveyOpen:
    return SurveyOpen(open_id=f"open-{next(_numbers)}", survey_id=survey.survey_id, at=at, method="GET",
                      score=score, user_agent=BROWSER, **overrides)


def stored(store, survey: Survey) -> Survey:
    return store.get_survey(survey.survey_id)


def all_items(store) -> list[dict]:
    return store.db.scan(TableName=store.table_name, ConsistentRead=True)["Items"]


# --- surveys ---------------------------------------------------------------------------------

def test_a_created_survey_reads_back_with_every_field(store):
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
    store.create_survey(survey)
    assert stored(store, survey) == survey
    assert stored(store, survey).created_at.tzinfo is not None


def test_a_minimal_survey_reads_back_with_its_defaults(store):
    survey = a_survey(agent=None, team=None, properties={}, sent_at=None, message_id=None,
                      status=SurveyStatus.SCHEDULED)
    store.create_survey(survey)
    assert stored(store, survey) == survey


def test_an_unknown_survey_is_none(store):
    assert store.get_survey(tokens.new_survey_id()) is None
    assert store.get_survey_with_opens(tokens.new_survey_id()) == (None, [])


def test_the_same_interaction_twice_names_the_first_survey_and_writes_nothing(store):
    first = a_survey(interaction_id="zd-48213")
    store.create_survey(first)
    second = a_survey(interaction_id="zd-48213")
    with pytest.raises(DuplicateInteraction) as caught:
        store.create_survey(second)
    assert caught.value.survey_id == first.survey_id
    assert store.get_survey(second.survey_id) is None
    assert store.survey_id_for_interaction("zd-48213") == first.survey_id
    assert sorted(item["pk"]["S"] for item in all_items(store)) == [  # and the customer's index item
        "CUSTOMER#cus_19", "INTERACTION#zd-48213", survey_pk(first.survey_id)]


def test_a_taken_survey_id_is_refused_without_a_second_interaction(store):
    first = a_survey()
    store.create_survey(first)
    with pytest.raises(ConditionFailed):
        store.create_survey(a_survey(survey_id=first.survey_id, interaction_id="zd-other"))
    assert store.survey_id_for_interaction("zd-other") is None
    assert stored(store, first) == first


def test_survey_with_opens_returns_the_survey_and_its_opens_newest_first(store):
    survey, other = a_survey(), a_survey()
    store.create_survey(survey)
    store.create_survey(other)
    opens = [an_open(survey, score, later(seconds)) for seconds, score in ((1, 5), (2, None), (3, 1))]
    for survey_open in opens:
        store.add_open(survey_open)
    store.add_open(an_open(other, 4, later(4)))

    found, recent = store.get_survey_with_opens(survey.survey_id)
    assert found == survey
    assert recent == list(reversed(opens))
    assert store.list_opens(survey.survey_id) == opens  # the audit trail is oldest first


def test_survey_with_opens_keeps_the_survey_and_the_newest_opens_when_there_are_many(store):
    survey = a_survey()
    store.create_survey(survey)
    opens = [an_open(survey, 3, later(seconds)) for seconds in range(RECENT_OPENS + 5)]
    for survey_open in opens:
        store.add_open(survey_open)
    found, recent = store.get_survey_with_opens(survey.survey_id)
    assert found == survey
    assert recent == list(reversed(opens))[:RECENT_OPENS]


def test_an_open_verdict_can_be_set(store):
    survey = a_survey()
    store.create_survey(survey)
    survey_open = an_open(survey, 2, later(1))
    store.add_open(survey_open)
    judged = survey_open.model_copy(update={"verdict": OpenVerdict.AUTOMATED, "reason": "HEAD request"})
    store.set_open_verdict(judged)
    assert store.list_opens(survey.survey_id) == [judged]


# --- responses ---------------------------------------------------------------------------

def test_record_response_counts_the_score_and_comment(store):
    survey = a_survey()
    store.create_survey(survey)
    assert store.record_response(survey, None, 4, "quick and kind", later(60)) == 1
    after = stored(store, survey)
    assert (after.score, after.comment, after.status) == (4, "quick and kind", SurveyStatus.RESPONDED)
    assert after.responded_at == after.response_updated_at == later(60)
    assert after.response_version == 1


def test_a_changed_response_keeps_the_first_response_time_and_the_comment(store):
    survey = a_survey()
    store.create_survey(survey)
    store.record_response(survey, None, 2, "slow", later(60))
    assert store.record_response(stored(store, survey), None, 4, None, later(120)) == 2
    after = stored(store, survey)
    assert (after.score, after.comment, after.response_version) == (4, "slow", 2)
    assert after.responded_at == later(60)
    assert after.response_updated_at == later(120)


def test_record_response_marks_the_open_counted_in_the_same_write(store):
    survey = a_survey()
    store.create_survey(survey)
    survey_open = an_open(survey, 5, later(1))
    store.add_open(survey_open)
    counted = survey_open.model_copy(update={"verdict": OpenVerdict.COUNTED, "confirmed_at": later(5)})
    store.record_response(survey, counted, 5, None, later(5))
    assert store.list_opens(survey.survey_id) == [counted]


def test_record_response_from_a_stale_read_fails_and_changes_nothing(store):
    survey = a_survey()
    store.create_survey(survey)
    store.record_response(survey, None, 5, "great", later(60))
    survey_open = an_open(survey, 1, later(61))
    store.add_open(survey_open)
    before = stored(store, survey)

    counted = survey_open.model_copy(update={"verdict": OpenVerdict.COUNTED, "confirmed_at": later(65)})
    with pytest.raises(ConditionFailed):
        store.record_response(survey, counted, 1, "awful", later(65))  # `survey` is still version 0
    assert stored(store, survey) == before
    assert store.list_opens(survey.survey_id) == [survey_open]


def test_record_response_after_the_survey_expired_fails(store):
    survey = a_survey()
    store.create_survey(survey)
    with pytest.raises(ConditionFailed):
        store.record_response(survey, None, 5, None, survey.expires_at + timedelta(minutes=1))
    assert stored(store, survey) == survey


def test_a_response_half_a_second_after_a_whole_second_expiry_fails(store):
    # Times are compared as text in DynamoDB conditions: one fixed width makes that compare right.
    expiry = datetime(2026, 12, 22, 10, 0, 0, tzinfo=timezone.utc)
    survey = a_survey(expires_at=expiry)
    store.create_survey(survey)
    with pytest.raises(ConditionFailed):
        store.record_response(survey, None, 5, None, expiry + timedelta(milliseconds=500))
    assert store.record_response(survey, None, 5, None, expiry - timedelta(milliseconds=1)) == 1


def test_record_response_on_a_suppressed_survey_fails(store):
    survey = a_survey(status=SurveyStatus.SUPPRESSED)
    store.create_survey(survey)
    with pytest.raises(ConditionFailed):
        store.record_response(survey, None, 5, None, later(60))
    assert stored(store, survey) == survey


def test_of_8_concurrent_responses_on_the_same_read_exactly_one_counts(store):
    survey = a_survey()
    store.create_survey(survey)
    start = threading.Barrier(8)

    def respond(n: int) -> Optional[str]:
        start.wait()
        try:
            store.record_response(survey, None, 1 + n % 5, f"thread {n}", later(60))
        except ConditionFailed:
            return None
        return f"thread {n}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        winners = [w for w in pool.map(respond, range(8)) if w is not None]
    assert len(winners) == 1
    after = stored(store, survey)
    assert after.comment == winners[0] and after.response_version == 1


def test_withdraw_response_uncounts_it(store):
    survey = a_survey()
    store.create_survey(survey)
    survey_open = an_open(survey, 1, later(1))
    store.add_open(survey_open)
    store.record_response(survey, None, 1, None, later(5))
    counted = stored(store, survey)

    evidence = survey_open.model_copy(update={"verdict": OpenVerdict.AUTOMATED, "reason": "sweep"})
    store.withdraw_response(counted, evidence, later(30))
    after = stored(store, survey)
    assert after.score is None and after.responded_at is None
    assert after.status is SurveyStatus.SENT
    assert after.response_version == 2 and after.response_updated_at == later(30)
    assert store.list_opens(survey.survey_id) == [evidence]


def test_withdraw_response_from_a_stale_read_fails(store):
    survey = a_survey()
    store.create_survey(survey)
    survey_open = an_open(survey, 1, later(1))
    store.add_open(survey_open)
    store.record_response(survey, None, 1, None, later(5))
    before = stored(store, survey)
    with pytest.raises(ConditionFailed):
        store.withdraw_response(survey, survey_open, later(30))  # `survey` is version 0
    assert stored(store, survey) == before


# --- sending -------------------------------------------------------------------------------

def test_token_hashes_accumulate(store):
    survey = a_survey(secret_hashes=[])
    store.create_survey(survey)
    store.add_token_hash(survey.survey_id, "a" * 64)
    store.add_token_hash(survey.survey_id, "b" * 64)
    assert stored(store, survey).secret_hashes == ["a" * 64, "b" * 64]


def test_mark_sent_only_from_scheduled(store):
    survey = a_survey(status=SurveyStatus.SCHEDULED, sent_at=None, message_id=None)
    store.create_survey(survey)
    store.mark_sent(survey.survey_id, later(5), "msg-42")
    after = stored(store, survey)
    assert (after.status, after.sent_at, after.message_id) == (SurveyStatus.SENT, later(5), "msg-42")
    with pytest.raises(ConditionFailed):
        store.mark_failed(survey.survey_id, "too late")
    assert stored(store, survey).status is SurveyStatus.SENT


def test_updates_of_an_unknown_survey_fail_without_creating_it(store):
    survey_id = tokens.new_survey_id()
    with pytest.raises(ConditionFailed):
        store.add_token_hash(survey_id, "a" * 64)
    assert store.get_survey(survey_id) is None


# --- once-only steps -------------------------------------------------------------------------

def test_claim_step_leases_then_is_busy_then_expired_then_done(store):
    survey = a_survey()
    store.create_survey(survey)
    pk = survey_pk(survey.survey_id)

    assert store.claim_step(pk, "SURVEY", "send", later(0), lease_seconds=30) is None
    with pytest.raises(StepBusy):
        store.claim_step(pk, "SURVEY", "send", later(10), lease_seconds=30)
    assert store.claim_step(pk, "SURVEY", "send", later(31), lease_seconds=30) == "expired"
    with pytest.raises(StepBusy):  # the expired lease was taken over
        store.claim_step(pk, "SURVEY", "send", later(32), lease_seconds=30)

    store.complete_step(pk, "SURVEY", "send", later(40))
    assert store.claim_step(pk, "SURVEY", "send", later(41), lease_seconds=30) == "done"
    assert store.claim_step(pk, "SURVEY", "send", later(10_000), lease_seconds=30) == "done"


def test_a_released_step_can_be_claimed_afresh(store):
    survey = a_survey()
    store.create_survey(survey)
    pk = survey_pk(survey.survey_id)
    store.claim_step(pk, "SURVEY", "send", later(0), lease_seconds=30)
    store.release_step(pk, "SURVEY", "send")
    assert store.claim_step(pk, "SURVEY", "send", later(1), lease_seconds=30) is None


def test_steps_of_one_item_are_independent(store):
    survey = a_survey()
    store.create_survey(survey)
    pk = survey_pk(survey.survey_id)
    store.claim_step(pk, "SURVEY", "alert_topic", later(0), lease_seconds=30)
    assert store.claim_step(pk, "SURVEY", "alert_webhook", later(0), lease_seconds=30) is None


def test_claim_step_on_a_missing_item_fails(store):
    with pytest.raises(ConditionFailed):
        store.claim_step(survey_pk(tokens.new_survey_id()), "SURVEY", "send", later(0), lease_seconds=30)


# --- follow-ups ------------------------------------------------------------------------------

def test_a_followup_opens_once(store):
    survey = a_survey(score=1)
    followup = FollowUp(followup_id=f"fu_{survey.survey_id}", survey_id=survey.survey_id,
                        interaction_id=survey.interaction_id, kind=survey.kind, score=1, comment="rude",
                        customer_id="cus_19", customer_name="Ada Lovelace", agent=survey.agent, team="billing",
                        opened_at=later(60), due_at=later(60) + timedelta(hours=24))
    assert store.open_followup(followup) is True
    assert store.open_followup(followup.model_copy(update={"comment": "changed"})) is False
    assert store.get_followup(followup.followup_id) == followup

    store.set_followup_alert_error(followup.followup_id, "webhook answered HTTP 503")
    assert store.get_followup(followup.followup_id).alert_error == "webhook answered HTTP 503"
    store.set_followup_alert_error(followup.followup_id, None)
    assert store.get_followup(followup.followup_id) == followup
    assert store.claim_step(followup_pk(followup.followup_id), "FOLLOWUP", "alert_topic", later(61), 30) is None


# --- api keys ------------------------------------------------------------------------------

def an_api_key(name: str) -> ApiKey:
    key = f"cl_{name}_{next(_numbers)}"
    return ApiKey(key_hash=auth.hash_key(key), name=name, prefix=key[:7], created_at=T0)


def test_api_keys_put_get_and_list(store):
    ops, helpdesk = an_api_key("ops"), an_api_key("helpdesk")
    store.put_api_key(ops)
    store.put_api_key(helpdesk)
    assert store.get_api_key(ops.key_hash) == ops
    assert store.get_api_key(auth.hash_key("cl_never_issued")) is None
    assert sorted(store.list_api_keys(), key=lambda k: k.name) == [helpdesk, ops]


def test_revoking_a_key_keeps_the_first_revocation_time(store):
    key = an_api_key("ops")
    store.put_api_key(key)
    store.revoke_api_key(key.key_hash, later(60))
    store.revoke_api_key(key.key_hash, later(120))
    assert store.get_api_key(key.key_hash).revoked_at == later(60)


def test_revoking_an_unknown_key_raises_key_error(store):
    with pytest.raises(KeyError):
        store.revoke_api_key(auth.hash_key("cl_never_issued"), later(60))
    assert store.list_api_keys() == []


# --- the cost of recording a response --------------------------------------------------------

@pytest.fixture
def app_settings(store, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_TABLE_NAME", store.table_name)
    config.reset_settings()
    yield
    config.reset_settings()


@pytest.fixture
def enqueued(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr(jobs, "enqueue", lambda job, delay_seconds=0: calls.append(job))
    return calls


@pytest.fixture
def dynamodb_calls(store):
    calls: list[str] = []

    def record(event_name, **_):
        calls.append(event_name.rsplit(".", 1)[-1])

    store.db.meta.events.register("before-call.dynamodb", record)
    yield calls
    store.db.meta.events.unregister("before-call.dynamodb", record)


def open_survey_page(store, monkeypatch, score: int) -> tuple[Survey, str, str]:
    """A sent survey with a live token, and a browser's page view of one score link."""
    survey = a_survey()
    store.create_survey(survey)
    issued = tokens.issue(survey.survey_id)
    store.add_token_hash(survey.survey_id, issued.secret_hash)
    monkeypatch.setattr(clock, "_frozen", later(60))
    view = surveys.view_page(issued.token, score, "GET", BROWSER, store=store)
    monkeypatch.setattr(clock, "_frozen", later(64))  # the page confirms itself after its dwell
    return survey, issued.token, view.open_id


def test_recording_a_response_costs_two_dynamodb_requests(store, monkeypatch, app_settings, enqueued, dynamodb_calls):
    survey, token, open_id = open_survey_page(store, monkeypatch, 5)
    dynamodb_calls.clear()

    outcome = surveys.respond(token, ResponseForm(score=5, open_id=open_id), BROWSER, explicit=False, store=store)

    assert outcome.counted
    assert dynamodb_calls == ["Query", "TransactWriteItems"]
    assert enqueued == []
    assert stored(store, survey).score == 5
    assert store.list_opens(survey.survey_id)[0].verdict is OpenVerdict.COUNTED


def test_recording_a_detractor_costs_the_same_two_requests_plus_one_job(store, monkeypatch, app_settings,
                                                                         enqueued, dynamodb_calls):
    survey, token, open_id = open_survey_page(store, monkeypatch, 1)
    dynamodb_calls.clear()

    outcome = surveys.respond(token, ResponseForm(score=1, open_id=open_id), BROWSER, explicit=False, store=store)

    assert outcome.counted
    assert dynamodb_calls == ["Query", "TransactWriteItems"]
    assert enqueued == [HandleResponse(survey_id=survey.survey_id, expected_version=1)]
    assert stored(store, survey).score == 1


def a_followup(**overrides) -> FollowUp:
    values = dict(followup_id="fu_0123456789abcdef", survey_id="0123456789abcdef", interaction_id="zd-1",
                  kind=SurveyKind.CSAT, score=1, customer_id="cus_19", team="billing",
                  opened_at=later(0), due_at=later(0) + timedelta(hours=24))
    return FollowUp(**{**values, **overrides})


def test_saving_a_followup_needs_the_version_it_read_and_keeps_step_marks(store):
    followup = a_followup(owner="sam", status=FollowUpStatus.CLAIMED)
    store.open_followup(followup)
    pk = followup_pk(followup.followup_id)
    store.claim_step(pk, "FOLLOWUP", "alert_topic", later(1), 30)
    store.complete_step(pk, "FOLLOWUP", "alert_topic", later(2))

    resolved = followup.model_copy(update={"status": FollowUpStatus.RESOLVED, "owner": None, "version": 1,
                                           "closed_at": later(3)})
    store.save_followup(resolved, read_version=0)
    assert store.get_followup(followup.followup_id) == resolved  # owner removed, closed_at set
    with pytest.raises(ConditionFailed):
        store.save_followup(resolved.model_copy(update={"version": 2}), read_version=0)
    assert store.claim_step(pk, "FOLLOWUP", "alert_topic", later(4), 30) == "done"


def test_only_open_unescalated_followups_are_in_the_due_index(store, dynamodb_local):
    from chalicelib.storage import DUE_INDEX

    waiting = a_followup(followup_id="fu_a", due_at=later(10))
    escalated = a_followup(followup_id="fu_b", due_at=later(5), escalated_at=later(6))
    closed = a_followup(followup_id="fu_c", due_at=later(1), status=FollowUpStatus.RESOLVED, owner="sam")
    for followup in (waiting, escalated, closed):
        store.open_followup(followup)
    items = store.db.query(TableName=store.table_name, IndexName=DUE_INDEX, KeyConditionExpression="due_pk = :d",
                           ExpressionAttributeValues={":d": {"S": "DUE"}})["Items"]
    assert [i["pk"]["S"] for i in items] == ["FOLLOWUP#fu_a"]


def test_a_rotation_counts_up_from_zero_for_every_caller(store):
    assert [store.next_in_rotation("owners:billing") for _ in range(3)] == [0, 1, 2]
    assert store.next_in_rotation("owners:default") == 0
