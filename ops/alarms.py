"""The CloudWatch alarms of a stage, as data: each dict is the keyword arguments of
`cloudwatch.put_metric_alarm` (without AlarmActions: the caller adds the alert topic's ARN), so
the bootstrap can put them and the CloudFormation template can render them from one list.

What each watches, and why this metric:

- dlq-depth: jobs that failed every attempt land in the jobs dead-letter queue; any message there
  is a survey, alert or re-survey that did not happen. AWS/SQS ApproximateNumberOfMessagesVisible
  on the DLQ, Maximum over 5 minutes, > 0. handlers-dlq-depth: the same for the SNS and schedule
  handlers' on-failure destination (a bounce, an opt-out or an escalation run not handled).
- ses-bounce-rate / ses-complaint-rate: AWS/SES Reputation.BounceRate and Reputation.ComplaintRate
  (no dimensions: account and region). These are the rates SES itself reviews an account on,
  computed over a representative recent volume, reported as fractions (0.02 = 2%). The per
  configuration set Bounce/Send counts would need a CloudWatch event destination and are noise at
  survey volumes: one bounce among 20 sends in a 5-minute window reads as 5%. Their limitation:
  they include every sender of the account in the region, so run production in its own account.
- handler-errors-<function>: AWS/Lambda Errors per function (an unhandled exception or timeout),
  Sum over 5 minutes, > 0. Chalice names the API handler `closeloop-<stage>` and every other one
  (the authorizer too) `closeloop-<stage>-<handler>` (chalice/deploy/appgraph.py).
- overdue-followups: closeloop's own OverdueFollowUps (namespace "closeloop", dimension Stage),
  put in embedded metric format by every escalation run, once a minute: the follow-ups past their
  deadline whose escalation has not gone out (a channel failing, or the run out of time). A healthy
  run escalates every overdue follow-up within the minute, so a count that stays above zero for
  15 minutes means the leads are not being told. The run catches each follow-up's error (so the
  Lambda does not fail and handler-errors stays quiet): this alarm is what sees it. Missing data
  counts as breaching: no data means the escalation run itself stopped reporting.
"""
from __future__ import annotations

APP = "closeloop"
# Namespace and dimension of the metrics the app puts itself (chalicelib/platform/telemetry.py).
NAMESPACE = "closeloop"
# Every Lambda function chalice deploys for app.py, by handler name: the authorizer, the event
# handlers. The API handler has no suffix. tests/unit/ops/test_alarms.py checks this against app.py.
HANDLERS = ("bearer_key", "handle_job", "handle_ses_notice", "handle_sms_reply", "escalate_overdue")
# Handlers renamed away: a stage deployed before has their error alarm, watching a function that
# `chalice deploy` deleted. The bootstrap and the teardown delete it. The authorizer was `api_key`,
# a name chalice takes for API Gateway's usage-plan key (chalicelib/api/auth.py).
RETIRED_HANDLERS = ("api_key",)
BOUNCE_RATE = 0.02         # 2%
COMPLAINT_RATE = 0.0005    # 0.05%
OVERDUE_FOR_MINUTES = 15
_FIVE_MINUTES = 300


def function_names(stage: str) -> list[str]:
    """The Lambda function names chalice gives this stage's handlers."""
    return [f"{APP}-{stage}"] + [f"{APP}-{stage}-{handler}" for handler in HANDLERS]


def retired_alarm_names(stage: str) -> list[str]:
    """The error alarms of RETIRED_HANDLERS, as an earlier version named them."""
    prefix = f"{APP}-{stage}"
    return [_handler_errors(prefix, f"{prefix}-{handler}")["AlarmName"] for handler in RETIRED_HANDLERS]


def alarms(stage: str, names) -> list[dict]:
    """Every alarm of `stage`; `names` is ops.stack.names(stage) (its dead-letter queues are read)."""
    prefix = f"{APP}-{stage}"
    found = [
        _dlq_depth(f"{prefix}-dlq-depth", names.jobs_dlq,
                   f"Jobs failed every attempt and wait in {names.jobs_dlq}: a survey, alert or re-survey did "
                   "not happen. Read the handler's logs by correlation_id, fix, then redrive the queue."),
        _dlq_depth(f"{prefix}-handlers-dlq-depth", names.handlers_dlq,
                   f"An SES notice, SMS reply or escalation run failed its retries and waits in "
                   f"{names.handlers_dlq}: a bounce, an opt-out or an escalation was not handled. Read the "
                   "event, fix the cause, then replay it to its handler."),
        _ses_rate(prefix, "bounce", "Reputation.BounceRate", BOUNCE_RATE, "2%"),
        _ses_rate(prefix, "complaint", "Reputation.ComplaintRate", COMPLAINT_RATE, "0.05%"),
        *(_handler_errors(prefix, function) for function in function_names(stage)),
        {
            "AlarmName": f"{prefix}-overdue-followups",
            "AlarmDescription": (f"Overdue follow-ups have waited {OVERDUE_FOR_MINUTES} minutes for their "
                                 "escalation (a channel is failing: see alert_error in GET /v1/followups?overdue=true "
                                 "and the escalate_overdue logs), or the escalation run stopped reporting."),
            "Namespace": NAMESPACE,
            "MetricName": "OverdueFollowUps",
            "Dimensions": [{"Name": "Stage", "Value": stage}],
            # Minimum: the count stayed above zero through the whole window, not just for a moment.
            "Statistic": "Minimum",
            "Period": _FIVE_MINUTES,
            "EvaluationPeriods": OVERDUE_FOR_MINUTES * 60 // _FIVE_MINUTES,
            "DatapointsToAlarm": OVERDUE_FOR_MINUTES * 60 // _FIVE_MINUTES,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "breaching",
        },
    ]
    return found


def _dlq_depth(name: str, queue: str, description: str) -> dict:
    return {
        "AlarmName": name,
        "AlarmDescription": description,
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": queue}],
        "Statistic": "Maximum",
        "Period": _FIVE_MINUTES,
        "EvaluationPeriods": 1,
        "Threshold": 0,
        "ComparisonOperator": "GreaterThanThreshold",
        # SQS stops reporting a queue that stays empty and idle: that is the good case.
        "TreatMissingData": "notBreaching",
    }


def _ses_rate(prefix: str, what: str, metric: str, threshold: float, shown: str) -> dict:
    return {
        "AlarmName": f"{prefix}-ses-{what}-rate",
        "AlarmDescription": (f"The account's SES {what} rate is over {shown}; SES reviews (and may pause) "
                             "accounts with high rates. Check the suppression ledger and the source of "
                             "the addresses (GET /v1/suppressions?kind=email)."),
        "Namespace": "AWS/SES",
        "MetricName": metric,
        "Dimensions": [],
        "Statistic": "Maximum",
        "Period": 3600,
        "EvaluationPeriods": 1,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        # No mail sent, no rate: nothing to worry about.
        "TreatMissingData": "notBreaching",
    }


def _handler_errors(prefix: str, function: str) -> dict:
    what = function.removeprefix(prefix).lstrip("-") or "api"
    return {
        "AlarmName": f"{prefix}-handler-errors-{what}",
        "AlarmDescription": (f"Lambda {function} raised or timed out. Its log group has the JSON line with "
                             "level ERROR and the correlation_id to follow."),
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": function}],
        "Statistic": "Sum",
        "Period": _FIVE_MINUTES,
        "EvaluationPeriods": 1,
        "Threshold": 0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }
