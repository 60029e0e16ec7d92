"""The event handlers: the jobs queue (SQS), SES notices and SMS replies (SNS), the escalation schedule.

Each hands its event to the room that acts on it; every handler may run more than once for one
event, and the rooms make that harmless (storage/steps.py). The blueprint is registered under
app.py's name, which lists these handlers, so their Lambda handlers stay `app.<name>`; the queue
and topics are named when app.py is imported (Chalice wires event sources at deploy time), and a
stage's bootstrap sets these variables per stage.
"""
from __future__ import annotations

import functools
import os
import time

from chalice import Blueprint, Rate
from chalice.app import SNSEvent, SQSEvent

import chalicelib.contacts as contacts
import chalicelib.delivery as delivery
import chalicelib.events as lifecycle_events
import chalicelib.followups as followups
import chalicelib.insight as insight
import chalicelib.integrations as integrations
import chalicelib.leads as leads
import chalicelib.why as why
from chalicelib.platform import clock, jobs, telemetry
from chalicelib.storage import timers

JOBS_QUEUE = os.environ.get("CLOSELOOP_JOBS_QUEUE_NAME", "closeloop-jobs")
# The topic AWS End User Messaging publishes inbound SMS (replies to our texts) to.
SMS_REPLIES_TOPIC = os.environ.get("CLOSELOOP_SMS_REPLIES_TOPIC_NAME", "closeloop-sms-replies")
# The topic SES publishes bounce and complaint notifications to.
SES_NOTICES_TOPIC = os.environ.get("CLOSELOOP_SES_NOTICES_TOPIC_NAME", "closeloop-ses-notices")


@functools.cache
def job_handlers() -> dict:
    """Every kind of job on the queue, and the room's handler that runs it: loaded by the first job
    or timer, not at import (a survey page's cold start needs none of them)."""
    return {delivery.SendSurvey: delivery.handle_send, delivery.SendReminder: delivery.handle_reminder,
            followups.HandleResponse: followups.handle_response, followups.SendResurvey: followups.handle_resurvey,
            followups.ShareKudos: followups.share_kudos,
            followups.RespondInSlack: followups.respond_in_slack,
            followups.NotifyOwner: followups.handle_notify_owner, followups.RemindOwner: followups.handle_remind_owner,
            leads.SendSignInLink: leads.handle_signin_link, insight.SendDigest: insight.handle_send_digest,
            lifecycle_events.PublishEvent: lifecycle_events.handle_publish,
            integrations.WriteBack: integrations.handle_writeback, why.RetagComment: why.handle_retag}


def __getattr__(name: str):
    if name == "JOB_HANDLERS":  # the same, as a module constant
        return job_handlers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The timers leave the escalation run this much of the minute's invocation (or half of it).
_ESCALATION_RESERVE_SECONDS = 10
_COMPACTION_RESERVE_SECONDS = 3  # and compaction leaves this (or half), time to answer (a fold is one transaction)

events = Blueprint("app")


# One job a batch: each send may wait up to 2 s in the handler for its moment (delivery/send_rate.py),
# so ten would near the 30 s timeout, and a timeout leaves the send it cuts "outcome unknown".
# Failures are still reported per record (platform/jobs.py: run_batch), so a larger batch stays correct.
@events.on_sqs_message(queue=JOBS_QUEUE, batch_size=1)
def handle_job(event: SQSEvent):
    return jobs.run_batch(event, job_handlers(), before=lambda job: telemetry.correlate(telemetry.correlation_of(job)))


@events.on_sns_message(topic=SES_NOTICES_TOPIC)
def handle_ses_notice(event: SNSEvent):
    """SES bounce and complaint notifications feed the suppression ledger (contacts/bounces.py)."""
    contacts.bounces.handle(event.message)


@events.on_sns_message(topic=SMS_REPLIES_TOPIC)
def handle_sms_reply(event: SNSEvent):
    """A customer texted us: STOP/HELP/START, a score, or anything else (contacts/sms_replies.py)."""
    contacts.sms_replies.handle(event.message)


@events.schedule(Rate(1, unit=Rate.MINUTES))
def escalate_overdue(event):
    """Every minute: queue the jobs whose timers are due (storage/timers.py: reminders, re-surveys,
    sends planned for later), then escalate each follow-up past its deadline, once
    (followups/escalation.py), then, once an hour, compact the report counters of closed days
    (insight/compaction.py) and queue the weekly digests due this hour (insight/digest.py).
    The timers go first: each costs a queued message, not a wait."""
    context = event.context
    seconds = context.get_remaining_time_in_millis() / 1000
    stop_at = time.monotonic() + max(seconds - _ESCALATION_RESERVE_SECONDS, seconds / 2)
    fired = timers.fire_due(clock.now(), job_handlers(), keep_going=lambda: time.monotonic() < stop_at)
    escalated = followups.escalate_overdue(time_left_ms=context.get_remaining_time_in_millis()).as_dict()
    seconds = context.get_remaining_time_in_millis() / 1000
    finish_by = time.monotonic() + max(seconds - _COMPACTION_RESERVE_SECONDS, seconds / 2)
    compacted = insight.compact_if_due(keep_going=lambda: time.monotonic() < finish_by)
    digests = insight.queue_due_digests()
    return {**escalated, "timers_fired": fired, "reports_compacted": compacted, "digests_queued": digests}
