"""Create what the app needs in the emulated AWS account: table, queue, topic, sender, API key."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib import auth, aws, storage

JOBS_QUEUE = "closeloop-jobs"
ALERT_TOPIC = "closeloop-local-alerts"
ESCALATION_TOPIC = "closeloop-local-escalations"


@dataclass(frozen=True)
class LocalResources:
    table_name: str
    jobs_queue_url: str
    alert_topic_arn: str
    escalation_topic_arn: str


def create(table_name: str, sender_email: str, api_key: str) -> LocalResources:
    storage.create_table(table_name)
    # A short visibility timeout: a job whose handler failed comes back after 5 s, as a
    # redelivery would on AWS, without making the local stack slow to recover.
    queue_url = aws.client("sqs").create_queue(
        QueueName=JOBS_QUEUE, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    topic_arn = aws.client("sns").create_topic(Name=ALERT_TOPIC)["TopicArn"]
    escalation_topic_arn = aws.client("sns").create_topic(Name=ESCALATION_TOPIC)["TopicArn"]
    aws.client("sesv2").create_email_identity(EmailIdentity=sender_email)
    auth.ensure_key("local-dev", api_key, storage.Store(table_name))
    return LocalResources(table_name, queue_url, topic_arn, escalation_topic_arn)
