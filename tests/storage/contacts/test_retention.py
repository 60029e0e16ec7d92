"""Retention on DynamoDB Local: personal data carries `expires_ttl`, reads skip what is past it
(DynamoDB Local never deletes expired items, and AWS deletes them only up to ~48 h late), and the
report counters never expire."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.contacts.retention import backfill_retention
from chalicelib.followups.model import FollowUp, FollowUpStatus
from chalicelib.followups.repository import followup_key
from chalicelib.platform import clock
from chalicelib.platform import settings as config
from chalicelib.storage.table import TTL_ATTRIBUTE, to_item
from chalicelib.surveys.backfills import backfill_customer_index
from chalicelib.surveys.model import ContactKind
from chalicelib.surveys.repository import customer_pk, survey_key, throttle_key
from chalicelib.surveys.scoring import SurveyKind
from tests.storage.builders import T0, a_survey, an_open, later

RETENTION = timedelta(days=365)  # the default CLOSELOOP_RETENTION_DAYS
AFTER_RETENTION = T0 + RETENTION + timedelta(days=1)


@pytest.fixture
def at_t0():
    """The app's clock at T0 (the stores' writes are stamped from it); tests move it past retention."""
    clock.set_now(T0)
    yield
    clock.set_now(None)


def epoch(at) -> int:
    return int(at.timestamp())


def item(repos, pk: str, sk: str) -> dict:
    found = repos.table.db.get_item(TableName=repos.table.name, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                              ConsistentRead=True).get("Item")
    assert found is not None, f"{pk}/{sk} is not stored"
    return found


def ttl_of(repos, pk: str, sk: str):
    value = item(repos, pk, sk).get(TTL_ATTRIBUTE)
    return int(value["N"]) if value else None


def a_followup(survey, **overrides) -> FollowUp:
    values = dict(followup_id=f"fu_{survey.survey_id}", survey_id=survey.survey_id,
                  interaction_id=survey.interaction_id, kind=SurveyKind.CSAT, score=1, comment="slow",
                  customer_id=survey.customer.id, customer_name="Ada Lovelace", opened_at=later(60),
                  due_at=later(3600))
    values.update(overrides)
    return FollowUp(**values)


# --- what carries expires_ttl ------------------------------------------------------------------

def test_a_survey_and_the_items_that_name_its_customer_expire_a_retention_after_the_send(repos, at_t0):
    survey = a_survey(send_at=later(300), expires_at=later(300) + timedelta(days=28))
    window = timedelta(days=30)
    repos.surveys.create(survey, throttle_since=T0 - window,
                        contacts=[(ContactKind.CUSTOMER, "cus_19"), (ContactKind.EMAIL, "ada@example.com")])
    expected = epoch(later(300) + RETENTION)
    assert ttl_of(repos, survey_key(survey.survey_id).pk, "SURVEY") == expected
    assert ttl_of(repos, f"INTERACTION#{survey.interaction_id}", "INTERACTION") == expected
    assert ttl_of(repos, customer_pk("cus_19"), f"SURVEY#{survey.survey_id}") == expected
    # A throttle stamp is needed only for its window.
    assert ttl_of(repos, throttle_key(ContactKind.EMAIL, "ada@example.com").pk, "THROTTLE") == epoch(T0 + window)
    assert ttl_of(repos, throttle_key(ContactKind.CUSTOMER, "cus_19").pk, "THROTTLE") == epoch(T0 + window)


def test_page_views_follow_ups_markers_and_sms_records_expire_a_retention_after_their_time(repos, at_t0):
    survey = a_survey()
    repos.surveys.create(survey)
    view = an_open(survey, 3, later(30))
    repos.add_open(view)
    followup = a_followup(survey)
    assert repos.followups.open(followup)
    repos.sms.note_latest("+14155550123", survey.survey_id, later(10))
    assert repos.put_marker("SMSIN#m-1", "SMSIN", later(20), phone="+14155550123")
    assert repos.put_marker("HOOK#zendesk#abc", "HOOK", later(20), expires_ttl=epoch(later(86400)))

    assert ttl_of(repos, survey_key(survey.survey_id).pk, f"OPEN#{clock.iso(view.at)}#{view.open_id}") == \
        epoch(later(30) + RETENTION)
    assert ttl_of(repos, followup_key(followup.followup_id).pk, "FOLLOWUP") == epoch(later(60) + RETENTION)
    assert ttl_of(repos, customer_pk("cus_19"), f"OPENFOLLOWUP#{followup.followup_id}") == epoch(later(60) + RETENTION)
    assert ttl_of(repos, "PHONE#+14155550123", "LATESTSMS") == epoch(later(10) + RETENTION)
    assert ttl_of(repos, "SMSIN#m-1", "SMSIN") == epoch(later(20) + RETENTION)
    assert ttl_of(repos, "HOOK#zendesk#abc", "HOOK") == epoch(later(86400))  # a marker's own expiry stays

    changed = followup.model_copy(update={"status": FollowUpStatus.CLAIMED, "owner": "sam", "version": 1})
    repos.followups.save(changed, 0)  # saving keeps the expiry
    assert ttl_of(repos, followup_key(followup.followup_id).pk, "FOLLOWUP") == epoch(later(60) + RETENTION)


def test_report_counters_never_expire(repos, at_t0):
    survey = a_survey()
    repos.surveys.create(survey)
    repos.record_response(survey, None, 2, "slow", later(60))
    counters = [i for i in repos.table.db.scan(TableName=repos.table.name, ConsistentRead=True)["Items"]
                if i["pk"]["S"].startswith("AGG#")]
    assert counters and all(TTL_ATTRIBUTE not in counter for counter in counters)


# --- reads skip what is past its expiry ----------------------------------------------------------

def test_reads_skip_personal_data_past_its_expiry_though_it_is_still_stored(repos, at_t0):
    survey = a_survey()
    repos.surveys.create(survey, throttle_since=T0 - timedelta(days=30), contacts=[(ContactKind.CUSTOMER, "cus_19")])
    repos.add_open(an_open(survey, 2, later(30)))
    repos.record_response(repos.surveys.get(survey.survey_id), None, 2, "slow", later(60))
    assert repos.followups.open(a_followup(survey))
    repos.sms.note_latest("+14155550123", survey.survey_id, later(10))

    clock.set_now(AFTER_RETENTION)
    assert repos.surveys.get(survey.survey_id) is None
    assert repos.surveys.get(survey.survey_id, include_expired=True).comment == "slow"  # still stored
    assert repos.surveys.get_with_opens(survey.survey_id) == (None, [])
    assert repos.surveys.opens(survey.survey_id) == []
    assert repos.surveys.survey_id_for_interaction(survey.interaction_id) is None
    assert repos.surveys.last_surveyed(ContactKind.CUSTOMER, "cus_19") is None
    assert repos.sms.latest("+14155550123") is None
    assert repos.followups.get(f"fu_{survey.survey_id}") is None
    assert repos.followups.list() == ([], None)
    assert list(repos.followups.opened_between(T0, later(3600))) == []
    assert not repos.followups.has_open("cus_19")
    assert list(repos.responses.newest_first(T0, clock.iso(later(3600)))) == []


def test_a_live_item_is_read_until_its_expiry(repos, at_t0):
    survey = a_survey()
    repos.surveys.create(survey)
    repos.record_response(repos.surveys.get(survey.survey_id), None, 4, None, later(60))
    assert repos.followups.open(a_followup(survey))
    clock.set_now(later(0) + RETENTION - timedelta(seconds=1))
    assert repos.surveys.get(survey.survey_id) is not None
    assert [s.survey_id for s, _ in repos.responses.newest_first(T0, clock.iso(later(3600)))] == [survey.survey_id]
    assert repos.followups.has_open("cus_19")
    assert len(repos.followups.list()[0]) == 1


def test_an_expired_marker_does_not_hide_a_live_open_follow_up(repos, at_t0):
    old, new = a_survey(), a_survey()
    for survey in (old, new):
        repos.surveys.create(survey)
    assert repos.followups.open(a_followup(old, opened_at=later(1), due_at=later(3600)))
    clock.set_now(AFTER_RETENTION)
    assert not repos.followups.has_open("cus_19")
    assert repos.followups.open(a_followup(new, opened_at=AFTER_RETENTION, due_at=AFTER_RETENTION + timedelta(hours=8)))
    assert repos.followups.has_open("cus_19")


def test_items_written_before_retention_do_not_expire_and_the_backfill_gives_them_an_expiry(repos, at_t0):
    survey = a_survey()
    repos.table.db.put_item(TableName=repos.table.name, Item=to_item(
        {"pk": survey_key(survey.survey_id).pk, "sk": "SURVEY", **survey.model_dump(mode="json")}))
    old_view = an_open(survey, 1, later(5))
    repos.table.db.put_item(TableName=repos.table.name, Item=to_item(
        {"pk": survey_key(survey.survey_id).pk, "sk": f"OPEN#{clock.iso(old_view.at)}#{old_view.open_id}",
         **old_view.model_dump(mode="json")}))
    clock.set_now(AFTER_RETENTION)
    assert repos.surveys.get(survey.survey_id) == survey  # no expires_ttl: kept, as before retention existed

    assert backfill_retention(repos.table) == 2
    assert ttl_of(repos, survey_key(survey.survey_id).pk, "SURVEY") == epoch(T0 + RETENTION)
    assert repos.surveys.get(survey.survey_id) is None
    assert backfill_retention(repos.table) == 0  # safe to run again


def test_the_customer_backfill_indexes_surveys_stored_before_the_index(repos, at_t0):
    survey = a_survey()
    repos.table.db.put_item(TableName=repos.table.name, Item=to_item(
        {"pk": survey_key(survey.survey_id).pk, "sk": "SURVEY", **survey.model_dump(mode="json")}))
    assert repos.surveys.customer_survey_ids("cus_19") == []
    assert backfill_customer_index(repos.table) == 1
    assert repos.surveys.customer_survey_ids("cus_19") == [survey.survey_id]
    assert backfill_customer_index(repos.table) == 0


def test_retention_must_exceed_the_response_and_throttle_windows(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_RETENTION_DAYS", "30")
    config.reset_settings()
    try:
        with pytest.raises(RuntimeError, match="retention_days .30. must exceed"):
            config.get_settings()
        monkeypatch.setenv("CLOSELOOP_THROTTLE_DAYS", "7")
        monkeypatch.setenv("CLOSELOOP_RESPONSE_WINDOW_DAYS", "14")
        config.reset_settings()
        assert config.get_settings().retention_days == 30
    finally:
        config.reset_settings()

