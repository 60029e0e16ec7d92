"""Once-only steps (storage/steps.py) on DynamoDB Local: a lease, then done; busy, expired, released."""
from __future__ import annotations

import pytest

from chalicelib.storage.steps import StepBusy
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import tokens
from chalicelib.surveys.repository import survey_key
from tests.storage.builders import a_survey, later

# --- once-only steps -------------------------------------------------------------------------

def test_claim_step_leases_then_is_busy_then_expired_then_done(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    pk = survey_key(survey.survey_id).pk

    assert repos.claim_step(pk, "SURVEY", "send", later(0), lease_seconds=30) is None
    with pytest.raises(StepBusy):
        repos.claim_step(pk, "SURVEY", "send", later(10), lease_seconds=30)
    assert repos.claim_step(pk, "SURVEY", "send", later(31), lease_seconds=30) == "expired"
    with pytest.raises(StepBusy):  # the expired lease was taken over
        repos.claim_step(pk, "SURVEY", "send", later(32), lease_seconds=30)

    repos.complete_step(pk, "SURVEY", "send", later(40))
    assert repos.claim_step(pk, "SURVEY", "send", later(41), lease_seconds=30) == "done"
    assert repos.claim_step(pk, "SURVEY", "send", later(10_000), lease_seconds=30) == "done"


def test_a_released_step_can_be_claimed_afresh(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    pk = survey_key(survey.survey_id).pk
    repos.claim_step(pk, "SURVEY", "send", later(0), lease_seconds=30)
    repos.release_step(pk, "SURVEY", "send")
    assert repos.claim_step(pk, "SURVEY", "send", later(1), lease_seconds=30) is None


def test_steps_of_one_item_are_independent(repos):
    survey = a_survey()
    repos.surveys.create(survey)
    pk = survey_key(survey.survey_id).pk
    repos.claim_step(pk, "SURVEY", "alert_topic", later(0), lease_seconds=30)
    assert repos.claim_step(pk, "SURVEY", "alert_webhook", later(0), lease_seconds=30) is None


def test_claim_step_on_a_missing_item_fails(repos):
    with pytest.raises(ConditionFailed):
        repos.claim_step(survey_key(tokens.new_survey_id()).pk, "SURVEY", "send", later(0), lease_seconds=30)


