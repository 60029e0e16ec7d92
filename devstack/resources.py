"""Create what the app needs in the emulated AWS account: table, queue, topic, sender, API key."""
from __future__ import annotations

import json
from dataclasses import dataclass

from chalicelib.apikeys import ensure_key
from chalicelib.platform import aws
from chalicelib.storage.schema import create_table

JOBS_QUEUE = "closeloop-jobs"
ALERT_TOPIC = "closeloop-local-alerts"
ESCALATION_TOPIC = "closeloop-local-escalations"
# Where SES would publish bounces and complaints (chalicelib/api/events.py: SES_NOTICES_TOPIC). The emulated SES never
# does, so nothing is subscribed: feed a notification to app.handle_ses_notice by hand (docs/operations.md).
SES_NOTICES_TOPIC = "closeloop-ses-notices"
# Where End User Messaging would publish inbound SMS; a queue subscribed to it feeds the app's
# SNS handler through the pump (devstack/pump.py's sns_event).
SMS_REPLIES_TOPIC = "closeloop-sms-replies"
SMS_REPLIES_QUEUE = "closeloop-local-sms-replies"
# The lifecycle events' bus (chalicelib/events/); a rule copies every closeloop event to a queue,
# which the outbox drains into channel "event" (devstack/outbox.py).
EVENT_BUS = "closeloop-local-events"
EVENT_COPY_QUEUE = "closeloop-local-events-outbox"


@dataclass(frozen=True)
class LocalResources:
    table_name: str
    jobs_queue_url: str
    alert_topic_arn: str
    escalation_topic_arn: str
    sms_replies_topic_arn: str = ""
    sms_replies_queue_url: str = ""
    event_bus_name: str = ""
    event_queue_url: str = ""


def add_routing_leads() -> None:
    """The local stage's routing owners are leads (owners are leads: followups/owners.py), a short
    name at example.com (sam@example.com is "sam"): the README's claim as "sam" works, and each can
    sign in with the link the outbox shows. A name a lead already holds (the demo lead holds "sam")
    is left to them. Idempotent."""
    from chalicelib.followups.owners import lead_named
    from chalicelib.followups.routing import get_routing
    from chalicelib.leads import add_lead

    routing = get_routing()
    for route in (routing.default, *routing.teams.values()):
        for owner in route.owners:
            if lead_named(owner) is None:
                add_lead(owner) if "@" in owner else add_lead(f"{owner}@example.com", name=owner.title(), owner=owner)


def create(table_name: str, sender_email: str, api_key: str) -> LocalResources:
    create_table(table_name)
    # A short visibility timeout: a job whose handler failed comes back after 5 s, as a
    # redelivery would on AWS, without making the local stack slow to recover.
    queue_url = aws.client("sqs").create_queue(
        QueueName=JOBS_QUEUE, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    topic_arn = aws.client("sns").create_topic(Name=ALERT_TOPIC)["TopicArn"]
    escalation_topic_arn = aws.client("sns").create_topic(Name=ESCALATION_TOPIC)["TopicArn"]
    aws.client("sns").create_topic(Name=SES_NOTICES_TOPIC)
    aws.client("sesv2").create_email_identity(EmailIdentity=sender_email)
    ensure_key("local-dev", api_key)  # on the stage's table (CLOSELOOP_TABLE_NAME is set by now)
    sms_replies_topic_arn = aws.client("sns").create_topic(Name=SMS_REPLIES_TOPIC)["TopicArn"]
    sms_replies_queue_url = subscribe_queue(sms_replies_topic_arn, SMS_REPLIES_QUEUE)
    event_queue_url = create_event_bus(EVENT_BUS, EVENT_COPY_QUEUE)
    return LocalResources(table_name, queue_url, topic_arn, escalation_topic_arn,
                          sms_replies_topic_arn=sms_replies_topic_arn, sms_replies_queue_url=sms_replies_queue_url,
                          event_bus_name=EVENT_BUS, event_queue_url=event_queue_url)


def create_event_bus(bus: str, queue_name: str) -> str:
    """The bus, and a rule that copies every closeloop event on it to a queue; returns the queue's URL."""
    sqs, events = aws.client("sqs"), aws.client("events")
    queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name=bus)
    events.put_rule(Name="outbox", EventBusName=bus, EventPattern=json.dumps({"source": ["closeloop"]}))
    events.put_targets(Rule="outbox", EventBusName=bus, Targets=[{"Id": "outbox", "Arn": queue_arn}])
    return queue_url


def subscribe_queue(topic_arn: str, queue_name: str) -> str:
    """A queue that receives the topic's notifications as JSON envelopes (RawMessageDelivery off),
    which a Pump with `sns_event` turns into the SNS events Lambda would get; returns its URL."""
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                                Attributes={"RawMessageDelivery": "false"})
    return queue_url
