"""Partial batch failures: the jobs handler reports the records that failed (ReportBatchItemFailures),
so one bad job does not send the jobs beside it round again; the local pump redelivers only those."""
from __future__ import annotations

import json

import pytest

from chalicelib.api import events
from chalicelib.delivery import SendSurvey
from chalicelib.platform import jobs
from tests.conftest import REGION, ROOT
from tests.functional.helpers import interaction, post, survey, take_jobs

POISONED = "9d7a6f0e-poisoned"
HEALTHY = "3b1c2d4e-healthy"


def accept(api, n: int) -> str:
    body = interaction(interaction_id=f"zd-batch-{n}",
                       customer={"id": f"cus_b{n}", "email": f"customer{n}@example.com", "name": f"Customer {n}"})
    response = post(api, body)
    assert response.status_code == 202, response.body
    return json.loads(response.body)["survey_id"]


def sqs_event(records: list[tuple[str, object]]) -> dict:
    """An SQS event of several records, each with its own messageId (chalice's generator gives every
    record the same one)."""
    return {"Records": [{
        "messageId": message_id, "receiptHandle": f"handle-{message_id}",
        "body": jobs.body_of(job), "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:closeloop-jobs", "awsRegion": REGION,
    } for message_id, job in records]}


def invoke(event: dict):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        return client.lambda_.invoke("handle_job", event).payload


def poison(monkeypatch, survey_id: str) -> list:
    """Sending `survey_id` fails as if DynamoDB were unreachable, until the returned list gets an
    item (the fault is gone); every other send works."""
    real, healed = events.JOB_HANDLERS[SendSurvey], []

    def handle_send(job):
        if job.survey_id == survey_id and not healed:
            raise RuntimeError("DynamoDB unreachable (injected by the test)")
        return real(job)

    monkeypatch.setitem(events.JOB_HANDLERS, SendSurvey, handle_send)
    return healed


def test_a_batch_with_one_poisoned_record_reports_exactly_that_record_and_sends_the_other(api, stack, monkeypatch):
    bad_id, good_id = accept(api, 1), accept(api, 2)
    jobs = {job.survey_id: job for job in take_jobs(stack)}
    healed = poison(monkeypatch, bad_id)

    result = invoke(sqs_event([(POISONED, jobs[bad_id]), (HEALTHY, jobs[good_id])]))

    assert result == {"batchItemFailures": [{"itemIdentifier": POISONED}]}
    assert survey(api, good_id)["status"] == "sent"
    assert [sent.to[0] for sent in stack.emails()] == ["customer2@example.com"]
    assert survey(api, bad_id)["status"] == "scheduled"

    # SQS hands back the reported record alone; once the fault is gone it is sent, once.
    healed.append(True)
    assert invoke(sqs_event([(POISONED, jobs[bad_id])])) == {"batchItemFailures": []}
    assert survey(api, bad_id)["status"] == "sent"
    assert sorted(sent.to[0] for sent in stack.emails()) == ["customer1@example.com", "customer2@example.com"]


def test_a_batch_whose_every_record_fails_raises_so_lambda_retries_it_and_counts_an_error(api, stack, monkeypatch):
    survey_id = accept(api, 1)
    (job,) = take_jobs(stack)
    poison(monkeypatch, survey_id)

    with pytest.raises(RuntimeError, match="DynamoDB unreachable"):
        invoke(sqs_event([(POISONED, job)]))
    assert stack.emails() == []


def test_a_malformed_message_is_dropped_not_reported(api, stack):
    survey_id = accept(api, 1)
    (job,) = take_jobs(stack)
    event = sqs_event([(HEALTHY, job)])
    event["Records"].insert(0, {**event["Records"][0], "messageId": "garbage", "body": "{not json"})

    assert invoke(event) == {"batchItemFailures": []}  # redelivering it would fail the same way forever
    assert survey(api, survey_id)["status"] == "sent"


def test_the_local_pump_redelivers_a_reported_record_and_deletes_it_once_it_succeeds(stack, monkeypatch):
    from chalicelib.platform import aws
    from devstack.pump import Pump

    sqs = aws.client("sqs")
    # Visibility 0: a message left on the queue is received again at once (no waiting in the test).
    queue_url = sqs.create_queue(QueueName="pump-batches", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="job")
    seen = []

    def handler(event, context):
        (record,) = event["Records"]
        seen.append(record["messageId"])
        failed = [{"itemIdentifier": record["messageId"]}] if len(seen) == 1 else []
        return {"batchItemFailures": failed}

    pump = Pump(handler, queue_url)
    receive = sqs.receive_message

    def receive_until_empty(**kwargs):
        answer = receive(**{**kwargs, "WaitTimeSeconds": 0})
        if not answer.get("Messages"):
            pump.stopping.set()  # the queue is empty: the pump's loop ends here, right or wrong
        return answer

    monkeypatch.setattr(sqs, "receive_message", receive_until_empty)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pump._run(queue_arn)  # in this thread, until the queue is empty

    assert len(seen) == 2 and seen[0] == seen[1]  # reported, received again, then deleted
