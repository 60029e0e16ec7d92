"""What `chalice deploy` cannot set on the functions it makes, set right after it (the bootstrap's
last step; `chalice package` gets the same from the merge template, ops/cfn_template.py):

- the jobs queue's event source reports partial batch failures (ReportBatchItemFailures), since
  the handler answers `batchItemFailures` (chalicelib/platform/jobs.py: run_batch);
- the asynchronous handlers (the SNS subscriptions, the schedule) retry a failed event a bounded
  number of times and then send it to the handlers' dead-letter queue, which their roles may
  write to (one extra inline policy per role; `chalice delete` removes it with the role).

Each step looks first and changes only what differs, as the bootstrap does; chalice's next deploy
updates its own settings and leaves these alone.
"""
from __future__ import annotations

import json
import time

from ops.bootstrap import Done
from ops.stack import APP, StackNames

JOBS_HANDLER = "handle_job"
# The handlers Lambda invokes asynchronously: by SNS (the two topics) and by the schedule.
SNS_HANDLERS = ("handle_ses_notice", "handle_sms_reply")
SCHEDULED_HANDLERS = ("escalate_overdue",)
DLQ_POLICY = "closeloop-handlers-dead-letter-queue"
BATCH_FAILURES = ["ReportBatchItemFailures"]


def function_name(stage: str, handler: str) -> str:
    """chalice's name for a handler's function, and for its role when each function has its own."""
    return f"{APP}-{stage}-{handler}"


def configure(aws, names: StackNames, jobs_queue_arn: str, handlers_dlq_arn: str) -> list[Done]:
    done = [ensure_batch_failure_reports(aws, names, jobs_queue_arn)]
    for handler in SNS_HANDLERS + SCHEDULED_HANDLERS:
        done.append(ensure_dead_letter_permission(aws, names.stage, handler, handlers_dlq_arn))
        done.append(ensure_failure_destination(aws, names.stage, handler, handlers_dlq_arn))
    return done


def ensure_batch_failure_reports(aws, names: StackNames, jobs_queue_arn: str) -> Done:
    lam = aws("lambda")
    function = function_name(names.stage, JOBS_HANDLER)
    # By the queue: the emulator filters FunctionName by ARN only (AWS takes a name too).
    mappings = [m for m in lam.list_event_source_mappings(EventSourceArn=jobs_queue_arn)["EventSourceMappings"]
                if m["FunctionArn"].rsplit(":", 1)[1] == function]
    if not mappings:
        raise RuntimeError(f"{function} has no event source for {names.jobs_queue}: did chalice deploy run?")
    changed = [m for m in mappings if "ReportBatchItemFailures" not in (m.get("FunctionResponseTypes") or [])]
    for mapping in changed:
        lam.update_event_source_mapping(UUID=mapping["UUID"], FunctionResponseTypes=BATCH_FAILURES)
    return Done("event source", f"{names.jobs_queue} -> {function}", "updated" if changed else "unchanged",
                ("ReportBatchItemFailures",) if changed else ())


def dead_letter_policy(handlers_dlq_arn: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": handlers_dlq_arn}]}


def ensure_dead_letter_permission(aws, stage: str, handler: str, handlers_dlq_arn: str) -> Done:
    """Lambda sends a failed event on with the function's own role, and checks it may when the
    destination is set."""
    iam = aws("iam")
    role = function_name(stage, handler)
    wanted = dead_letter_policy(handlers_dlq_arn)
    try:
        current = iam.get_role_policy(RoleName=role, PolicyName=DLQ_POLICY)["PolicyDocument"]
        if isinstance(current, str):  # the API answers it URL-encoded JSON; boto3 usually decodes it
            current = json.loads(current)
    except iam.exceptions.NoSuchEntityException:
        current = None
    if current == wanted:
        return Done("role policy", f"{role}/{DLQ_POLICY}", "unchanged")
    iam.put_role_policy(RoleName=role, PolicyName=DLQ_POLICY, PolicyDocument=json.dumps(wanted))
    return Done("role policy", f"{role}/{DLQ_POLICY}", "created" if current is None else "updated")


def ensure_failure_destination(aws, stage: str, handler: str, handlers_dlq_arn: str) -> Done:
    from ops.cfn_template import (
        SCHEDULE_MAX_EVENT_AGE_SECONDS, SCHEDULE_RETRIES, SNS_HANDLER_MAX_EVENT_AGE_SECONDS, SNS_HANDLER_RETRIES,
    )

    lam = aws("lambda")
    function = function_name(stage, handler)
    retries, age = ((SNS_HANDLER_RETRIES, SNS_HANDLER_MAX_EVENT_AGE_SECONDS) if handler in SNS_HANDLERS
                    else (SCHEDULE_RETRIES, SCHEDULE_MAX_EVENT_AGE_SECONDS))
    wanted = {"MaximumRetryAttempts": retries, "MaximumEventAgeInSeconds": age,
              "DestinationConfig": {"OnFailure": {"Destination": handlers_dlq_arn}}}
    try:
        current = lam.get_function_event_invoke_config(FunctionName=function)
    except lam.exceptions.ResourceNotFoundException:
        current = None
    if current is not None and _same_invoke_config(current, wanted):
        return Done("async invocation", function, "unchanged")
    for attempt in range(12):
        try:
            lam.put_function_event_invoke_config(FunctionName=function, **wanted)
            break
        except lam.exceptions.InvalidParameterValueException:
            # The role's new permission to send to the queue takes a few seconds to reach Lambda.
            if attempt == 11:
                raise
            time.sleep(5)
    return Done("async invocation", function, "created" if current is None else "updated",
                () if current is None else ("retries, destination",))


def _same_invoke_config(current: dict, wanted: dict) -> bool:
    destination = (current.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
    return (current.get("MaximumRetryAttempts") == wanted["MaximumRetryAttempts"]
            and current.get("MaximumEventAgeInSeconds") == wanted["MaximumEventAgeInSeconds"]
            and destination == wanted["DestinationConfig"]["OnFailure"]["Destination"])
