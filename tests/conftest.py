"""Shared fixtures: DynamoDB Local for the table, moto (in-process) for SES, SNS and SQS."""
from __future__ import annotations

import email
import email.policy
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"

# Fake credentials for every test: nothing here may ever reach a real AWS account.
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
                  AWS_DEFAULT_REGION=REGION, AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled")
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

# Records, for the whole session, every AWS call each Lambda function makes: the least-privilege
# proof (tests/packaging/test_least_privilege.py) checks them against each function's policy.
from tests.aws_calls import record_aws_calls  # noqa: E402,F401


def reset_caches() -> None:
    from chalicelib.apikeys import clear_cache
    from chalicelib.delivery.send_rate import SendMoments
    from chalicelib.insight import compaction
    from chalicelib.platform import aws, clock, rendering
    from chalicelib.platform import secrets as stage_secrets
    from chalicelib.platform import settings

    clock.set_now(None)
    settings.reset_settings()
    stage_secrets.reset()
    aws.reset_clients()
    clear_cache()
    rendering.environment.cache_clear()
    SendMoments._last_us.clear()
    compaction._compacted_window = None


def configure(monkeypatch, **env) -> None:
    """Settings for this test, read (and cached) now: chalice's test client would otherwise overlay
    .chalice/config.json's variables while it invokes."""
    from chalicelib.platform import settings as config

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    config.get_settings()


@pytest.fixture(autouse=True)
def _no_correlation_between_tests():
    """Each test starts with no survey to correlate logs with, as each Lambda invocation does
    (telemetry.around); a test that calls the product's functions directly sets one outside it."""
    from chalicelib.platform import telemetry

    with telemetry.correlated(None):
        yield


@pytest.fixture(scope="session")
def dynamodb_local():
    from devstack.dynamodb_local import DynamoDBLocal

    server = DynamoDBLocal().start()
    yield server
    server.stop()


@pytest.fixture
def table(dynamodb_local, monkeypatch):
    """A fresh table on DynamoDB Local for one test; the stage's table while it runs."""
    import boto3

    from chalicelib.platform import settings
    from chalicelib.storage.schema import create_table

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    name = f"closeloop-test-{uuid.uuid4().hex[:12]}"
    client = boto3.client("dynamodb", endpoint_url=dynamodb_local.endpoint, region_name=REGION)
    create_table(name, client)
    monkeypatch.setenv("CLOSELOOP_TABLE_NAME", name)
    settings.reset_settings()
    yield name
    client.delete_table(TableName=name)
    settings.reset_settings()


@pytest.fixture
def repos(table, dynamodb_local):
    """Every repository on the test's table, through a client of its own."""
    import boto3

    from chalicelib.storage.table import Table
    from tests.repos import Repositories

    return Repositories(Table(table, boto3.client("dynamodb", endpoint_url=dynamodb_local.endpoint,
                                                  region_name=REGION)))


@dataclass
class SentEmail:
    to: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    def part(self, subtype: str) -> str:
        return self.message.get_body(preferencelist=(subtype,)).get_content()


@dataclass
class Stack:
    """The AWS side of a functional test: table, queue, topic, and what was sent."""
    table: str
    queue_url: str
    topic_arn: str
    delays: list = field(default_factory=list)
    quiet_rule: Callable[[], None] = lambda: None  # the stack fixture sets it

    def emails(self) -> list[SentEmail]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        return [SentEmail(m.destinations, email.message_from_string(m.raw_data, policy=email.policy.default))
                for m in sent]

    def sms(self) -> list[tuple[str, str]]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())

    def alerts(self) -> list[dict]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        topic = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[self.topic_arn]
        return [{"message": n[1], "subject": n[2]} for n in topic.sent_notifications]

    def run_jobs(self, handler=None, max_rounds: int = 20) -> int:
        """Deliver queued jobs to the SQS handler until the queue is empty; returns how many ran."""
        import boto3
        from chalice.test import Client

        sqs = boto3.client("sqs", region_name=REGION)
        ran = 0
        with Client(__import__("app").app, stage_name="test", project_dir=str(ROOT)) as client:
            for _ in range(max_rounds):
                messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=0).get("Messages", [])
                if not messages:
                    return ran
                for message in messages:
                    event = client.events.generate_sqs_event(message_bodies=[message["Body"]],
                                                             queue_name="closeloop-jobs")
                    client.lambda_.invoke(handler or "handle_job", event)
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                    ran += 1
        raise AssertionError("jobs kept coming back: a job loops")


@pytest.fixture
def stack(table, monkeypatch):
    """moto in-process for SES, SNS and SQS; the table stays on DynamoDB Local (passed through)."""
    import boto3
    from moto import mock_aws

    from chalicelib.followups import detractors
    from chalicelib.platform import jobs

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName=f"jobs-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="alerts")["TopicArn"]
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="surveys@example.com")
        env = {
            "CLOSELOOP_TABLE_NAME": table, "CLOSELOOP_JOBS_QUEUE_URL": queue_url,
            "CLOSELOOP_ALERT_TOPIC_ARN": topic_arn, "CLOSELOOP_SENDER_EMAIL": "surveys@example.com",
            "CLOSELOOP_COMPANY_NAME": "closeloop", "CLOSELOOP_COMMENT_WAIT_SECONDS": "10",
            "CLOSELOOP_SEND_DELAY_SECONDS": "0", "CLOSELOOP_API_KEY_CACHE_SECONDS": "0",
            # Tests run at any hour: SMS quiet hours are off unless a test turns them on.
            "CLOSELOOP_SMS_QUIET_HOURS_ENABLED": "false",
            # A sent survey queues its reminder, due days later: off unless a test turns it on.
            "CLOSELOOP_REMINDER_AFTER_SECONDS": "0",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("CLOSELOOP_ALERT_WEBHOOK_URL", raising=False)
        monkeypatch.delenv("CLOSELOOP_PUBLIC_URL", raising=False)
        reset_caches()
        stack = Stack(table=table, queue_url=queue_url, topic_arn=topic_arn)
        real_enqueue = jobs.enqueue

        def enqueue_now(job, delay_seconds=0):
            # Tests do not wait out delays: record what was asked, deliver at once.
            stack.delays.append((job, delay_seconds))
            real_enqueue(job, 0)

        monkeypatch.setattr(jobs, "enqueue", enqueue_now)
        # Delivered at once as if its delay had passed, a detractor decision finds its survey quiet;
        # `stack.quiet_rule()` puts the real rule back (tests/functional/followups/test_sweeps.py).
        real_busy_for = detractors.busy_for
        monkeypatch.setattr(detractors, "busy_for", lambda *args: 0)
        stack.quiet_rule = lambda: monkeypatch.setattr(detractors, "busy_for", real_busy_for)
        yield stack
    reset_caches()


API_KEY = "cl_test_key_for_functional_tests_0123456789"


@pytest.fixture
def api(stack):
    """chalice's test client with a valid API key; `api.headers` authenticates a request."""
    from chalice.test import Client

    from app import app
    from chalicelib.apikeys import ensure_key

    ensure_key("tests", API_KEY)
    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        client.headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
        yield client


class WebhookReceiver:
    """A real HTTP endpoint on loopback that records POSTs; can be told to fail first."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.raw: list[bytes] = []          # the exact bytes of each recorded body (signatures)
        self.headers: list[dict] = []       # the headers of each recorded POST
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                else:
                    receiver.bodies.append(json.loads(body))
                    receiver.raw.append(body)
                    receiver.headers.append(dict(self.headers.items()))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/slack"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def webhook_at(monkeypatch, variable: str):
    """A WebhookReceiver whose URL is the stage's setting `variable`, for a fixture to `yield from`."""
    receiver = WebhookReceiver()
    monkeypatch.setenv(variable, receiver.url)
    reset_caches()
    yield receiver
    receiver.close()


@pytest.fixture
def webhook(stack, monkeypatch):
    yield from webhook_at(monkeypatch, "CLOSELOOP_ALERT_WEBHOOK_URL")
