"""The follow-up repository (followups/repository.py) on DynamoDB Local: opened once, saved on the
version read (the step marks stay), and only what is due in the due index."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.followups.model import FollowUp, FollowUpStatus
from chalicelib.followups.repository import followup_key
from chalicelib.storage.schema import DUE_INDEX
from chalicelib.storage.table import ConditionFailed
from tests.storage.builders import a_followup, a_survey, later

# --- follow-ups ------------------------------------------------------------------------------

def test_a_followup_opens_once(repos):
    survey = a_survey(score=1)
    followup = FollowUp(followup_id=f"fu_{survey.survey_id}", survey_id=survey.survey_id,
                        interaction_id=survey.interaction_id, kind=survey.kind, score=1, comment="rude",
                        customer_id="cus_19", customer_name="Ada Lovelace", agent=survey.agent, team="billing",
                        opened_at=later(60), due_at=later(60) + timedelta(hours=24))
    assert repos.followups.open(followup) is True
    assert repos.followups.open(followup.model_copy(update={"comment": "changed"})) is False
    assert repos.followups.get(followup.followup_id) == followup

    repos.followups.set_alert_error(followup.followup_id, "webhook answered HTTP 503")
    assert repos.followups.get(followup.followup_id).alert_error == "webhook answered HTTP 503"
    repos.followups.set_alert_error(followup.followup_id, None)
    assert repos.followups.get(followup.followup_id) == followup
    assert repos.claim_step(followup_key(followup.followup_id).pk, "FOLLOWUP", "alert_topic", later(61), 30) is None


def test_saving_a_followup_needs_the_version_it_read_and_keeps_step_marks(repos):
    followup = a_followup(owner="sam", status=FollowUpStatus.CLAIMED)
    repos.followups.open(followup)
    pk = followup_key(followup.followup_id).pk
    repos.claim_step(pk, "FOLLOWUP", "alert_topic", later(1), 30)
    repos.complete_step(pk, "FOLLOWUP", "alert_topic", later(2))

    resolved = followup.model_copy(update={"status": FollowUpStatus.RESOLVED, "owner": None, "version": 1,
                                           "closed_at": later(3)})
    repos.followups.save(resolved, read_version=0)
    assert repos.followups.get(followup.followup_id) == resolved  # owner removed, closed_at set
    with pytest.raises(ConditionFailed):
        repos.followups.save(resolved.model_copy(update={"version": 2}), read_version=0)
    assert repos.claim_step(pk, "FOLLOWUP", "alert_topic", later(4), 30) == "done"


def test_only_open_unescalated_followups_are_in_the_due_index(repos, dynamodb_local):
    waiting = a_followup(followup_id="fu_a", due_at=later(10))
    escalated = a_followup(followup_id="fu_b", due_at=later(5), escalated_at=later(6))
    closed = a_followup(followup_id="fu_c", due_at=later(1), status=FollowUpStatus.RESOLVED, owner="sam")
    for followup in (waiting, escalated, closed):
        repos.followups.open(followup)
    items = repos.table.db.query(TableName=repos.table.name, IndexName=DUE_INDEX, KeyConditionExpression="due_pk = :d",
                           ExpressionAttributeValues={":d": {"S": "DUE"}})["Items"]
    assert [i["pk"]["S"] for i in items] == ["FOLLOWUP#fu_a"]


