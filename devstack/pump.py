"""Runs the app's queue handler locally, as Lambda's SQS event source mapping would.

chalice local serves HTTP routes only; this pump long-polls the emulated jobs queue and invokes
the same handler function with an SQS event. A handler that raises leaves its message on the
queue, so it is redelivered after the visibility timeout, as on AWS.

`Schedule` does the same for a scheduled handler (EventBridge's rate rule): it invokes it with a
scheduled event every couple of seconds, far more often than on AWS, so that the local stack
shows within seconds what a deployed stage does within a minute.
"""
from __future__ import annotations

import json
import logging
import threading
import traceback
import uuid
from datetime import datetime, timezone

from chalice.local import LambdaContext

from chalicelib.platform import aws

log = logging.getLogger("devstack.pump")


def sqs_event(message: dict, queue_arn: str) -> dict:
    return {"Records": [{
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": message.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1",
    }]}


def sns_event(message: dict, queue_arn: str) -> dict:
    """The SNS event Lambda would get, from an SNS notification an SQS subscription received
    (RawMessageDelivery off: the body is the notification's JSON envelope)."""
    notification = json.loads(message["Body"])
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": f"{notification.get('TopicArn', '')}:local-pump",
        "Sns": {
            "Type": notification.get("Type", "Notification"), "MessageId": notification.get("MessageId", ""),
            "TopicArn": notification.get("TopicArn", ""), "Subject": notification.get("Subject"),
            "Message": notification["Message"], "Timestamp": notification.get("Timestamp", ""),
            "SignatureVersion": notification.get("SignatureVersion", "1"),
            "Signature": notification.get("Signature", ""), "SigningCertUrl": notification.get("SigningCertURL", ""),
            "UnsubscribeUrl": notification.get("UnsubscribeURL", ""),
            "MessageAttributes": notification.get("MessageAttributes", {}),
        },
    }]}


class Pump:
    """`event` builds the handler's event from a received message: sqs_event for a queue handler,
    sns_event for a topic handler fed by a queue subscribed to the topic (local stack only)."""

    def __init__(self, handler, queue_url: str, workers: int = 2, event=sqs_event, name: str = "handle_job"):
        self.handler, self.queue_url, self.workers = handler, queue_url, workers
        self.event, self.name = event, name
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> "Pump":
        queue_arn = aws.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, args=(queue_arn,), name=f"pump-{self.name}-{index}",
                                      daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=3)

    def _run(self, queue_arn: str) -> None:
        sqs = aws.client("sqs")
        while not self.stopping.is_set():
            try:
                messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1,
                                               WaitTimeSeconds=1).get("Messages", [])
            except Exception:  # noqa: BLE001 - the emulator is shutting down or restarting
                if not self.stopping.wait(0.5):
                    log.debug("receive failed", exc_info=True)
                continue
            for message in messages:
                try:
                    result = self.handler(self.event(message, queue_arn), LambdaContext(self.name, 512, 30_000))
                except Exception:  # noqa: BLE001 - shown, then redelivered like on AWS
                    print(f"[pump] job failed, it will be redelivered:\n{traceback.format_exc()}", flush=True)
                    continue
                if message["MessageId"] in reported_failures(result):
                    continue  # a partial batch response (ReportBatchItemFailures): redelivered, as on AWS
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def reported_failures(result) -> set[str]:
    """The message ids an SQS handler's partial batch response names (SNS handlers answer None)."""
    if not isinstance(result, dict):
        return set()
    return {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}


def scheduled_event(rule_name: str) -> dict:
    """What EventBridge passes to a scheduled Lambda."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1", "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{rule_name}"],
            "detail": {}}


class Schedule:
    """Invokes a scheduled handler every `interval` seconds in a thread until stopped."""

    def __init__(self, handler, name: str, interval: float = 2.0):
        self.handler, self.name, self.interval = handler, name, interval
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> "Schedule":
        self.thread = threading.Thread(target=self._run, name=f"schedule-{self.name}", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread:
            self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.handler(scheduled_event(self.name), LambdaContext(self.name, 512, 30_000))
            except Exception:  # noqa: BLE001 - shown; the next tick runs it again, as the next rule firing would
                if not self.stopping.is_set():
                    print(f"[schedule] {self.name} failed, it runs again shortly:\n{traceback.format_exc()}",
                          flush=True)
