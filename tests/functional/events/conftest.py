"""The event bus of the lifecycle-event tests: a moto EventBridge bus whose rule copies every
closeloop event to an SQS queue, which `bus.published()` drains."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import pytest

from tests.conftest import REGION, configure


@dataclass
class Bus:
    name: str
    queue_url: str
    seen: list[dict] = field(default_factory=list)

    def published(self) -> list[dict]:
        """Every event EventBridge delivered so far (as its SQS target receives them), oldest first."""
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return list(self.seen)
            for message in messages:
                self.seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def types(self) -> list[str]:
        return [event["detail-type"] for event in self.published()]

    def of(self, detail_type: str) -> list[dict]:
        return [event["detail"] for event in self.published() if event["detail-type"] == detail_type]


@pytest.fixture
def bus(stack, monkeypatch):
    import boto3

    name = f"closeloop-test-{uuid.uuid4().hex[:8]}"
    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=f"{name}-copy")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all-closeloop", EventBusName=name, EventPattern=json.dumps({"source": ["closeloop"]}))
    events.put_targets(Rule="all-closeloop", EventBusName=name, Targets=[{"Id": "copy", "Arn": queue_arn}])
    configure(monkeypatch, CLOSELOOP_EVENT_BUS_NAME=name)
    return Bus(name, queue_url)
