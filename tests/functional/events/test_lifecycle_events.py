"""Lifecycle events: each change publishes its event once to the stage's bus, with a detail that
matches its documented schema; redelivery publishes nothing again; EventBridge's failures never
fail the customer's request and are retried; erased customers' data stays out."""
from __future__ import annotations

import json
from datetime import timedelta

import jsonschema
import pytest

from chalicelib.events import PublishEvent, detail_schemas, handle_publish
from chalicelib.events.publish import EventNotPublished
from chalicelib.followups import escalation
from chalicelib.followups.lifecycle import followup_id_for
from tests.conftest import configure
from tests.functional.followup_helpers import claim, ok, patch
from tests.functional.helpers import (
    choose_path, confirm, deliver, open_id_in, open_page, send_email_survey, submit_form, take_jobs,
)


@pytest.fixture(autouse=True)
def any_owner(stack, monkeypatch):
    """Owners here are short names with no lead behind them: the stage takes any owner (owners as
    leads: tests/functional/followups/test_owners.py)."""
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_OWNERS_ANY_ADDRESS", "true")
    config.reset_settings()

SCHEMAS = detail_schemas()


def assert_valid(event: dict) -> None:
    """An event as EventBridge delivered it: closeloop's source, and a detail its schema accepts."""
    assert event["source"] == "closeloop"
    jsonschema.validate(event["detail"], SCHEMAS[event["detail-type"]])
    assert event["detail"]["version"] == 1


def answer(api, links, score: int, comment=None, first=True):
    """The customer confirms `score` on its page (first), or submits it with a comment."""
    page = open_page(api, links[score])
    if first:
        assert json.loads(confirm(api, links[score], page).body)["recorded"] is True
    if comment is not None or not first:
        fields = {"open_id": open_id_in(page.body.decode()), "score": str(score), "comment": comment or ""}
        assert submit_form(api, choose_path(links[score]), fields).status_code == 200


def publish_jobs(stack) -> list[PublishEvent]:
    """Take the queued jobs; run every other one at once, hand back the publishing ones."""
    taken = take_jobs(stack)
    for job in taken:
        if not isinstance(job, PublishEvent):
            deliver(job)
    return [job for job in taken if isinstance(job, PublishEvent)]


def test_a_survey_publishes_sent_then_recorded_then_changed_each_once(api, stack, bus, clock):
    survey_id, links = send_email_survey(api, stack)
    answer(api, links, 4)
    clock.advance(5)
    answer(api, links, 5, comment="Quick and kind", first=False)
    stack.run_jobs()
    stack.run_jobs()  # again: nothing new

    events = bus.published()
    assert [e["detail-type"] for e in events] == [
        "closeloop.survey.sent", "closeloop.response.recorded", "closeloop.response.changed"]
    for event in events:
        assert_valid(event)
        assert event["detail"]["survey_id"] == survey_id and event["detail"]["customer_id"] == "cus_19"
    sent, recorded, changed = (e["detail"] for e in events)
    assert (recorded["score"], recorded["response_version"], recorded["detractor"]) == (4, 1, False)
    assert (changed["score"], changed["previous_score"], changed["response_version"]) == (5, 4, 2)
    assert len({sent["id"], recorded["id"], changed["id"]}) == 3
    # The least personal data: no address, no name, and no comment unless the stage opts in.
    text = json.dumps(events)
    assert "ada@example.com" not in text and "Ada" not in text and "Quick and kind" not in text


def test_a_stage_that_opts_in_gets_the_comment(api, stack, bus, clock, monkeypatch):
    configure(monkeypatch, CLOSELOOP_EVENT_COMMENTS="true")
    _, links = send_email_survey(api, stack)
    answer(api, links, 2, comment="Nobody read my ticket", first=False)
    stack.run_jobs()

    (recorded,) = bus.of("closeloop.response.recorded")
    assert recorded["comment"] == "Nobody read my ticket" and recorded["detractor"] is True


def test_a_redelivered_publish_job_publishes_once_with_the_same_id(api, stack, bus):
    send_email_survey(api, stack)
    assert bus.types() == ["closeloop.survey.sent"]
    (event,) = bus.published()
    job = PublishEvent(detail_type="closeloop.survey.sent", detail=event["detail"])

    deliver(job)
    assert handle_publish(job) == "already published"
    assert bus.types() == ["closeloop.survey.sent"]


def test_eventbridge_failing_does_not_fail_the_customer_and_the_event_goes_out_on_retry(api, stack, bus, clock,
                                                                                      monkeypatch):
    from chalicelib.platform import aws

    _, links = send_email_survey(api, stack)
    events = aws.client("events")
    real_put = events.put_events
    calls = []

    def failing_put(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "down"}]}
        if len(calls) == 2:
            raise ConnectionError("EventBridge unreachable")
        return real_put(**kwargs)

    monkeypatch.setattr(events, "put_events", failing_put)
    page = open_page(api, links[3])
    response = confirm(api, links[3], page)
    assert response.status_code == 200 and json.loads(response.body)["recorded"] is True

    (job,) = publish_jobs(stack)
    with pytest.raises(EventNotPublished):
        handle_publish(job)
    with pytest.raises(ConnectionError):
        handle_publish(job)
    assert handle_publish(job) == "published"  # the queue's redelivery: the lease was given back
    assert handle_publish(job) == "already published"
    assert bus.of("closeloop.response.recorded")[0]["score"] == 3 and len(calls) == 3


def test_no_bus_no_events_queued(api, stack, clock):
    _, links = send_email_survey(api, stack)
    answer(api, links, 4)
    assert not [job for job, _ in stack.delays if job.kind == "publish_event"]


def test_a_follow_up_publishes_opened_claimed_escalated_resolved(api, stack, bus, clock):
    survey_id, links = send_email_survey(api, stack)
    answer(api, links, 1, comment="Nobody read my ticket", first=False)
    stack.run_jobs()
    followup_id = followup_id_for(survey_id)

    ok(claim(api, followup_id, {"owner": "sam"}))
    ok(claim(api, followup_id, {"owner": "sam"}))  # an acknowledgement: no change, no event
    stack.run_jobs()
    clock.advance(timedelta(hours=25).total_seconds())
    assert escalation.escalate_overdue().escalated == [followup_id]
    escalation.escalate_overdue()
    ok(patch(api, followup_id, {"status": "resolved", "note": "called back"}))
    stack.run_jobs()

    kinds = [t for t in bus.types() if t.startswith("closeloop.followup.")]
    assert kinds == ["closeloop.followup.opened", "closeloop.followup.claimed", "closeloop.followup.escalated",
                     "closeloop.followup.resolved"]
    for event in bus.published():
        assert_valid(event)
    opened, claimed, escalated, resolved = (bus.of(t)[0] for t in kinds)
    assert opened["status"] == "open" and opened["followup_id"] == followup_id and opened["score"] == 1
    assert (claimed["status"], claimed["owner"], claimed["followup_version"]) == ("claimed", "sam", 1)
    assert escalated["escalated_at"] and escalated["by"] == "closeloop"
    assert (resolved["status"], resolved["followup_version"]) == ("resolved", 3) and resolved["closed_at"]


def test_an_unsubscribe_publishes_once(api, stack, bus):
    from tests.functional.contacts.test_unsubscribe import one_click, unsubscribe_path

    survey_id, _ = send_email_survey(api, stack)
    (mail,) = stack.emails()
    path = unsubscribe_path(mail)
    assert one_click(api, path).status_code == 200
    assert one_click(api, path).status_code == 200
    stack.run_jobs()

    (event,) = [e for e in bus.published() if e["detail-type"] == "closeloop.contact.unsubscribed"]
    assert_valid(event)
    assert event["detail"]["survey_id"] == survey_id and "ada@example.com" not in json.dumps(event)


def test_an_event_queued_before_an_erasure_goes_out_without_the_customer(api, stack, bus, clock, monkeypatch):
    configure(monkeypatch, CLOSELOOP_EVENT_COMMENTS="true")
    _, links = send_email_survey(api, stack)
    page = open_page(api, links[4])
    fields = {"open_id": open_id_in(page.body.decode()), "score": "4", "comment": "Call me on 555 0100"}
    assert submit_form(api, choose_path(links[4]), fields).status_code == 200
    queued = publish_jobs(stack)  # not yet published
    assert [job.detail["comment"] for job in queued] == ["Call me on 555 0100"]

    assert api.http.delete("/v1/customers/cus_19", headers=api.headers).status_code == 200
    for job in queued:
        handle_publish(job)
    stack.run_jobs()

    (recorded,) = bus.of("closeloop.response.recorded")
    assert "comment" not in recorded and "customer_id" not in recorded
    (erased,) = bus.of("closeloop.customer.erased")
    assert erased["customer_id"] == "cus_19" and erased["receipt_id"].startswith("er_")
    for event in bus.published():
        assert_valid(event)


def test_a_scanners_sweep_publishes_its_withdrawal(api, stack, bus, clock, monkeypatch):
    from tests.functional.followups.test_sweeps import DelayedQueue, sweep

    configure(monkeypatch, CLOSELOOP_COMMENT_WAIT_SECONDS="8")
    stack.quiet_rule()
    survey_id, links = send_email_survey(api, stack, survey="nps")
    delayed = DelayedQueue(stack)
    sweep(api, delayed, links, linger=3.2)  # three scores counted, the fourth shows the sweep
    delayed.drain()

    types = [t for t in bus.types() if t.startswith("closeloop.response.")]
    assert types[0] == "closeloop.response.recorded" and types[-1] == "closeloop.response.withdrawn"
    assert set(types[1:-1]) <= {"closeloop.response.changed"}
    for event in bus.published():
        assert_valid(event)
    (withdrawn,) = bus.of("closeloop.response.withdrawn")
    versions = [d["response_version"] for t in types[:-1] for d in bus.of(t)]
    assert withdrawn["survey_id"] == survey_id and withdrawn["response_version"] == max(versions) + 1
