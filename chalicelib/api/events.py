"""The event handlers: the jobs queue (SQS), SES notices and SMS replies (SNS), the escalation schedule.

Each hands its event to the room that acts on it; every handler may run more than once for one
event, and the rooms make that harmless (storage/steps.py). The blueprint is registered under
app.py's name, which lists these handlers, so their Lambda handlers stay `app.<name>`; the queue
and topics are named when app.py is imported (Chalice wires event sources at deploy time), and a
stage's bootstrap sets these variables per stage.
"""
from __future__ import annotations

import os

from chalice import Blueprint, Rate
from chalice.app import SNSEvent, SQSEvent

from chalicelib.contacts import bounces, sms_replies
from chalicelib.delivery import SendReminder, SendSurvey, handle_reminder, handle_send
from chalicelib.followups import HandleResponse, SendResurvey
from chalicelib.followups import escalate_overdue as escalate
from chalicelib.followups import handle_response, handle_resurvey
from chalicelib.platform import jobs, telemetry

JOBS_QUEUE = os.environ.get("CLOSELOOP_JOBS_QUEUE_NAME", "closeloop-jobs")
# The topic AWS End User Messaging publishes inbound SMS (replies to our texts) to.
SMS_REPLIES_TOPIC = os.environ.get("CLOSELOOP_SMS_REPLIES_TOPIC_NAME", "closeloop-sms-replies")
# The topic SES publishes bounce and complaint notifications to.
SES_NOTICES_TOPIC = os.environ.get("CLOSELOOP_SES_NOTICES_TOPIC_NAME", "closeloop-ses-notices")

# Every kind of job on the queue, and the room's handler that runs it.
JOB_HANDLERS = {SendSurvey: handle_send, HandleResponse: handle_response, SendResurvey: handle_resurvey,
                SendReminder: handle_reminder}

events = Blueprint("app")


# One job a batch: each send may wait up to 2 s in the handler for its moment (delivery/send_rate.py),
# so ten would near the 30 s timeout, and a timeout leaves the send it cuts "outcome unknown".
# Failures are still reported per record (platform/jobs.py: run_batch), so a larger batch stays correct.
@events.on_sqs_message(queue=JOBS_QUEUE, batch_size=1)
def handle_job(event: SQSEvent):
    return jobs.run_batch(event, JOB_HANDLERS, before=lambda job: telemetry.correlate(telemetry.correlation_of(job)))


@events.on_sns_message(topic=SES_NOTICES_TOPIC)
def handle_ses_notice(event: SNSEvent):
    """SES bounce and complaint notifications feed the suppression ledger (contacts/bounces.py)."""
    bounces.handle(event.message)


@events.on_sns_message(topic=SMS_REPLIES_TOPIC)
def handle_sms_reply(event: SNSEvent):
    """A customer texted us: STOP/HELP/START, a score, or anything else (contacts/sms_replies.py)."""
    sms_replies.handle(event.message)


@events.schedule(Rate(1, unit=Rate.MINUTES))
def escalate_overdue(event):
    """Every minute: escalate each follow-up past its deadline, once (followups/escalation.py)."""
    return escalate(time_left_ms=event.context.get_remaining_time_in_millis()).as_dict()
