"""Deadlines: a follow-up past its due_at is escalated once (escalation topic and webhook), however
often the scheduled handler runs, concurrently, after crashes and after channel failures."""
from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from chalicelib.followups import escalation
from chalicelib.followups import lifecycle as followups
from chalicelib.followups.lifecycle import Change, followup_id_for
from chalicelib.followups.model import FollowUpStatus
from chalicelib.followups.repository import FollowUpRepository
from chalicelib.platform.clock import iso
from tests.conftest import REGION, WebhookReceiver
from tests.functional.helpers import choose_path, confirm, open_id_in, open_page, send_email_survey, submit_form
from tests.repos import Repositories

SLA = timedelta(hours=24)  # the default: no CLOSELOOP_ROUTING in the stack fixture


@dataclass
class Escalations:
    topic_arn: str
    webhook: WebhookReceiver

    def messages(self) -> list[dict]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        topic = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[self.topic_arn]
        return [{"message": n[1], "subject": n[2]} for n in topic.sent_notifications]

    def about(self, followup_id: str) -> tuple[list[dict], list[dict]]:
        """(topic messages, webhook bodies) that name this follow-up."""
        return ([m for m in self.messages() if followup_id in m["message"]],
                [b for b in self.webhook.bodies if followup_id in b["text"]])


@pytest.fixture
def escalations(stack, monkeypatch):
    """An escalation topic (moto) and an escalation webhook (a real HTTP endpoint)."""
    import boto3

    from chalicelib.platform import settings as config

    topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="escalations")["TopicArn"]
    receiver = WebhookReceiver()
    monkeypatch.setenv("CLOSELOOP_ESCALATION_TOPIC_ARN", topic_arn)
    monkeypatch.setenv("CLOSELOOP_ESCALATION_WEBHOOK_URL", receiver.url)
    config.reset_settings()
    yield Escalations(topic_arn, receiver)
    receiver.close()


def detractor(api, stack, clock, comment="Nobody read my ticket") -> str:
    """A CSAT 1 with a comment, its detractor job run: returns the id of the follow-up it opened."""
    n = uuid.uuid4().hex[:8]
    survey_id, links = send_email_survey(api, stack, interaction_id=f"zd-{n}",
                                         customer={"id": f"cus_{n}", "email": f"c{n}@example.com", "name": "Ada"})
    page = open_page(api, links[1])
    assert json.loads(confirm(api, links[1], page).body)["recorded"] is True
    clock.advance(5)
    thanks = submit_form(api, choose_path(links[1]),
                         {"open_id": open_id_in(page.body.decode()), "score": "1", "comment": comment})
    assert thanks.status_code == 200
    stack.run_jobs()
    followup_id = followup_id_for(survey_id)
    assert Repositories().followups.get(followup_id) is not None
    return followup_id


def run():
    return escalation.escalate_overdue()


def invoke_schedule(api):
    """The scheduled handler as EventBridge invokes it, through chalice's test client."""
    event = api.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                         resources=["arn:aws:events:us-east-1:123456789012:rule/escalate"])
    return api.lambda_.invoke("escalate_overdue", event).payload


def stored(followup_id):
    return Repositories().followups.get(followup_id)


def escalated_events(followup):
    return [e for e in followup.history if e.action == "escalated"]


def test_a_follow_up_within_its_deadline_is_not_escalated(api, stack, webhook, escalations, clock):
    followup_id = detractor(api, stack, clock)
    clock.advance(SLA.total_seconds() - 60)

    assert invoke_schedule(api)["escalated"] == []
    run()

    assert escalations.messages() == [] and escalations.webhook.bodies == []
    assert stored(followup_id).escalated_at is None and escalated_events(stored(followup_id)) == []


def test_an_overdue_follow_up_is_escalated_once_on_the_topic_and_the_webhook(api, stack, webhook, escalations,
                                                                            clock):
    followup_id = detractor(api, stack, clock)
    due_at = stored(followup_id).due_at
    clock.set(due_at + timedelta(hours=2, minutes=5))

    summary = invoke_schedule(api)

    assert summary["escalated"] == [followup_id]
    (message,), (slack,) = escalations.about(followup_id)
    assert len(escalations.messages()) == 1 and len(escalations.webhook.bodies) == 1
    for text in (message["message"], slack["text"]):
        for needle in (followup_id, "unassigned", "billing", iso(due_at), "2 h 5 min", "CSAT 1",
                       "Nobody read my ticket", "Sam", f"/v1/followups/{followup_id}"):
            assert needle in text, (needle, text)
    assert followup_id in message["subject"] and "overdue" in message["subject"]
    blocks = json.dumps(slack["blocks"])
    for needle in ("1 (CSAT)", "Nobody read my ticket", "Sam", "billing", "unassigned", iso(due_at), "2 h 5 min"):
        assert needle in blocks, needle
    # The detractor alert went to the alert topic once; the escalation did not go there.
    assert len(stack.alerts()) == 1 and len(webhook.bodies) == 1

    after = stored(followup_id)
    assert after.escalated_at == clock.now and after.status is FollowUpStatus.OPEN
    (event,) = escalated_events(after)
    assert event.by == "closeloop" and event.at == clock.now


def test_running_again_and_again_escalates_nothing_more(api, stack, webhook, escalations, clock):
    followup_id = detractor(api, stack, clock)
    clock.advance(SLA.total_seconds() + 1)
    assert run().escalated == [followup_id]

    for _ in range(3):
        clock.advance(60)
        assert run().escalated == []
        invoke_schedule(api)

    assert len(escalations.messages()) == 1 and len(escalations.webhook.bodies) == 1
    assert len(escalated_events(stored(followup_id))) == 1


def test_concurrent_runs_escalate_each_follow_up_once(api, stack, webhook, escalations, clock):
    ids = [detractor(api, stack, clock) for _ in range(3)]
    clock.advance(SLA.total_seconds() + 60)
    start = threading.Barrier(6)
    errors = []

    def one_run():
        try:
            start.wait()
            run()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=one_run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for followup_id in ids:
        topic, slack = escalations.about(followup_id)
        assert len(topic) == 1 and len(slack) == 1, followup_id
        after = stored(followup_id)
        assert after.escalated_at is not None and len(escalated_events(after)) == 1
    assert len(escalations.messages()) == 3 and len(escalations.webhook.bodies) == 3


def test_a_crash_between_sending_and_saving_sends_nothing_again_on_the_next_run(
        api, stack, webhook, escalations, clock, monkeypatch):
    followup_id = detractor(api, stack, clock)
    clock.advance(SLA.total_seconds() + 60)
    real_save = FollowUpRepository.save
    crashed = []

    def save_crashing_once(self, followup, read_version):
        if followup.escalated_at is not None and not crashed:
            crashed.append(followup.followup_id)
            raise RuntimeError("worker died after sending the escalation")
        return real_save(self, followup, read_version)

    monkeypatch.setattr(FollowUpRepository, "save", save_crashing_once)

    first = run()
    assert crashed == [followup_id] and first.failed == [followup_id]
    assert len(escalations.messages()) == 1 and len(escalations.webhook.bodies) == 1
    assert stored(followup_id).escalated_at is None  # not marked: still due, the next run looks again

    clock.advance(60)
    second = run()

    assert second.escalated == [followup_id]
    assert len(escalations.messages()) == 1 and len(escalations.webhook.bodies) == 1
    assert len(escalated_events(stored(followup_id))) == 1


def test_a_resolved_follow_up_is_never_escalated(api, stack, webhook, escalations, clock):
    followup_id = detractor(api, stack, clock)
    followups.claim(followup_id, "kim", by="kim")
    followups.change(followup_id, Change(status=FollowUpStatus.RESOLVED, note="called her"), by="kim")
    clock.advance(SLA.total_seconds() * 3)

    run()
    invoke_schedule(api)

    assert escalations.messages() == [] and escalations.webhook.bodies == []
    assert stored(followup_id).escalated_at is None


def test_a_reopened_follow_up_gets_a_new_deadline_and_can_be_escalated_again(api, stack, webhook, escalations,
                                                                           clock):
    followup_id = detractor(api, stack, clock)
    clock.advance(SLA.total_seconds() + 60)
    assert run().escalated == [followup_id]
    followups.claim(followup_id, "kim", by="kim")
    followups.change(followup_id, Change(status=FollowUpStatus.RESOLVED), by="kim")
    clock.advance(3600)
    reopened = followups.change(followup_id, Change(status=FollowUpStatus.OPEN, note="customer wrote again"),
                                by="lead")
    assert reopened.due_at == clock.now + SLA and reopened.escalated_at is None

    clock.advance(SLA.total_seconds() - 60)
    assert run().escalated == []
    assert len(escalations.messages()) == 1 and len(escalations.webhook.bodies) == 1

    clock.advance(120)
    assert run().escalated == [followup_id]
    assert run().escalated == []

    assert len(escalations.messages()) == 2 and len(escalations.webhook.bodies) == 2
    assert iso(reopened.due_at) in escalations.messages()[1]["message"]
    assert len(escalated_events(stored(followup_id))) == 2


def test_a_failing_escalation_webhook_is_retried_next_run_and_does_not_hold_up_other_follow_ups(
        api, stack, webhook, escalations, clock):
    first, second = detractor(api, stack, clock), detractor(api, stack, clock)
    clock.advance(SLA.total_seconds() + 60)
    escalations.webhook.fail_next = 1  # the earliest deadline's webhook post gets a 503

    summary = run()

    assert summary.failed == [first] and summary.escalated == [second]
    assert len(escalations.messages()) == 2  # both topic messages went out
    assert [b for b in escalations.webhook.bodies if first in b["text"]] == []
    error = stored(first).alert_error
    assert error and "503" in error and "/hooks/slack" not in error and "127.0.0.1" not in error
    assert stored(first).escalated_at is None and stored(second).escalated_at is not None

    clock.advance(60)
    assert run().escalated == [first]
    clock.advance(60)
    assert run().escalated == []

    for followup_id in (first, second):
        topic, slack = escalations.about(followup_id)
        assert len(topic) == 1 and len(slack) == 1
        assert stored(followup_id).alert_error is None


def test_a_leads_change_while_escalating_is_kept(api, stack, webhook, escalations, clock, monkeypatch):
    followup_id = detractor(api, stack, clock)
    clock.advance(SLA.total_seconds() + 60)
    real_save = FollowUpRepository.save
    raced = []

    def lead_claims_first(self, followup, read_version):
        if followup.escalated_at is not None and not raced:
            raced.append(True)
            followups.claim(followup_id, "kim", by="kim", note="on it")  # lands between read and write
        return real_save(self, followup, read_version)

    monkeypatch.setattr(FollowUpRepository, "save", lead_claims_first)

    assert run().escalated == [followup_id]

    after = stored(followup_id)
    assert after.owner == "kim" and after.status is FollowUpStatus.CLAIMED and after.escalated_at is not None
    assert [e.action for e in after.history][-2:] == ["claimed", "escalated"]
    assert len(escalations.messages()) == 1 and len(escalations.webhook.bodies) == 1


def test_without_escalation_channels_the_escalation_goes_to_the_alert_topic_and_webhook(api, stack, webhook,
                                                                                        clock):
    followup_id = detractor(api, stack, clock)
    assert len(stack.alerts()) == 1 and len(webhook.bodies) == 1
    clock.advance(SLA.total_seconds() + 60)

    assert run().escalated == [followup_id]
    run()

    assert len(stack.alerts()) == 2 and len(webhook.bodies) == 2
    assert "Overdue follow-up" in stack.alerts()[1]["message"] and followup_id in webhook.bodies[1]["text"]
