"""The stage's CloudWatch alarms (ops/alarms.py): valid put_metric_alarm calls, one per handler,
the thresholds the issue sets, and the metric the app itself emits."""
from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import validate_parameters

from chalicelib.platform import telemetry
from ops import alarms
from ops.stack import names

STAGES = ("dev", "prod")


def by_name(stage: str) -> dict[str, dict]:
    return {alarm["AlarmName"]: alarm for alarm in alarms.alarms(stage, names(stage))}


@pytest.mark.parametrize("stage", STAGES)
def test_every_alarm_is_a_valid_put_metric_alarm_call_without_actions(stage):
    shape = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricAlarm").input_shape
    for alarm in alarms.alarms(stage, names(stage)):
        validate_parameters(alarm, shape)  # raises ParamValidationError naming the field
        assert "AlarmActions" not in alarm  # the caller adds the alert topic
        assert alarm["AlarmDescription"].strip()
        assert alarm["TreatMissingData"] in ("breaching", "notBreaching")


@pytest.mark.parametrize("stage", STAGES)
def test_alarm_names_are_unique_and_belong_to_the_stage(stage):
    found = alarms.alarms(stage, names(stage))
    assert len({alarm["AlarmName"] for alarm in found}) == len(found)
    assert all(alarm["AlarmName"].startswith(f"closeloop-{stage}-") for alarm in found)
    other = {alarm["AlarmName"] for alarm in alarms.alarms("other", names("other"))}
    assert not other & {alarm["AlarmName"] for alarm in found}


def test_the_dead_letter_queue_alarm_fires_on_one_message_in_the_stage_dlq():
    alarm = by_name("prod")["closeloop-prod-dlq-depth"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": names("prod").jobs_dlq}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_ses_alarms_fire_above_2_percent_bounces_and_0_05_percent_complaints():
    found = by_name("prod")
    bounce, complaint = found["closeloop-prod-ses-bounce-rate"], found["closeloop-prod-ses-complaint-rate"]
    assert (bounce["Namespace"], bounce["MetricName"]) == ("AWS/SES", "Reputation.BounceRate")
    assert (complaint["Namespace"], complaint["MetricName"]) == ("AWS/SES", "Reputation.ComplaintRate")
    # SES reports these rates as fractions: 0.02 is 2%.
    assert bounce["Threshold"] == pytest.approx(0.02) and complaint["Threshold"] == pytest.approx(0.0005)
    assert bounce["ComparisonOperator"] == complaint["ComparisonOperator"] == "GreaterThanThreshold"


def test_there_is_an_error_alarm_for_every_lambda_function_chalice_deploys():
    import app as app_module

    app = app_module.app
    handlers = ({source.name for source in app.event_sources} | {auth.name for auth in app.builtin_auth_handlers}
                | {function.name for function in app.pure_lambda_functions})
    assert set(alarms.HANDLERS) == handlers  # a new handler needs its alarm (add it to alarms.HANDLERS)
    watched = {alarm["Dimensions"][0]["Value"] for alarm in alarms.alarms("prod", names("prod"))
               if alarm["Namespace"] == "AWS/Lambda"}
    # Chalice's names: the API handler is <app>-<stage>, every other function <app>-<stage>-<handler>.
    assert watched == {"closeloop-prod"} | {f"closeloop-prod-{handler}" for handler in handlers}
    for alarm in alarms.alarms("prod", names("prod")):
        if alarm["Namespace"] == "AWS/Lambda":
            assert alarm["MetricName"] == "Errors" and alarm["Statistic"] == "Sum" and alarm["Threshold"] == 0


def test_the_overdue_alarm_watches_the_metric_the_escalation_run_emits():
    alarm = by_name("dev")["closeloop-dev-overdue-followups"]
    assert alarm["Namespace"] == telemetry.NAMESPACE and alarm["MetricName"] in telemetry.METRICS
    assert alarm["Dimensions"] == [{"Name": "Stage", "Value": "dev"}]
    assert alarm["Period"] * alarm["EvaluationPeriods"] == alarms.OVERDUE_FOR_MINUTES * 60
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]  # above zero the whole time
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    # The run reports every minute: silence means it stopped, which is as bad as a backlog.
    assert alarm["TreatMissingData"] == "breaching"
