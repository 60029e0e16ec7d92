"""`python -m ops --stage dev destroy [--delete-data]` against the local AWS emulator (without
`chalice delete`): everything the bootstrap made goes, the data only when asked."""
from __future__ import annotations

import pytest

from ops import alarms as stage_alarms
from ops.bootstrap import bootstrap
from ops.stack import OPERATOR_SET, SECRET_NAMES, names
from ops.teardown import destroy
from tests.deploy.conftest import client


def _left(stage: str) -> dict[str, list[str]]:
    """What of the stage's resources exists in the emulated account."""
    stack = names(stage)
    sqs, ses = client("sqs"), client("ses")
    return {
        "tables": [t for t in client("dynamodb").list_tables()["TableNames"] if t == stack.table],
        "queues": [url.rsplit("/", 1)[1] for url in sqs.list_queues(QueueNamePrefix=stack.table).get("QueueUrls", [])],
        "topics": [t["TopicArn"].rsplit(":", 1)[1] for t in client("sns").list_topics()["Topics"]
                   if t["TopicArn"].rsplit(":", 1)[1] in stack.topics],
        "configuration sets": [c["Name"] for c in ses.list_configuration_sets()["ConfigurationSets"]
                               if c["Name"] == stack.ses_configuration_set],
        "parameters": [p["Name"] for p in client("ssm").describe_parameters(ParameterFilters=[
            {"Key": "Name", "Option": "BeginsWith", "Values": [stack.parameter_prefix]}])["Parameters"]],
        "alarms": [a["AlarmName"] for a in client("cloudwatch").describe_alarms(
            AlarmNamePrefix=f"closeloop-{stage}-")["MetricAlarms"]],
        "dashboards": [d["DashboardName"] for d in client("cloudwatch").list_dashboards(
            DashboardNamePrefix=f"closeloop-{stage}")["DashboardEntries"]
            if d["DashboardName"] == f"closeloop-{stage}"],
    }


def test_bootstrap_makes_what_destroy_takes_away(aws, config_path):
    bootstrap("dev", config_path, aws)
    made = _left("dev")
    assert {kind: len(found) for kind, found in made.items()} == {
        "tables": 1, "queues": 3, "topics": 4, "configuration sets": 1,
        "parameters": len(SECRET_NAMES) - len(OPERATOR_SET),
        "alarms": len(stage_alarms.alarms("dev", names("dev"))), "dashboards": 1}


def test_destroy_removes_everything_but_the_data(aws, config_path):
    bootstrap("dev", config_path, aws)

    done = destroy("dev", config_path, aws, delete_app=False)

    left = _left("dev")
    assert left["tables"] == ["closeloop-dev"]
    made = [names("dev").parameter(n) for n in SECRET_NAMES if n not in OPERATOR_SET]
    assert sorted(left["parameters"]) == sorted(made)
    assert {kind: found for kind, found in left.items() if kind not in ("tables", "parameters")} == {
        "queues": [], "topics": [], "configuration sets": [], "alarms": [], "dashboards": []}
    assert {step.action for step in done} == {"deleted", "kept"}


def test_destroy_removes_the_renamed_authorizers_old_alarm_of_a_stage_never_upgraded(aws, config_path):
    bootstrap("dev", config_path, aws)
    old = "closeloop-dev-handler-errors-api_key"  # the authorizer's before its rename to bearer_key
    client("cloudwatch").put_metric_alarm(
        AlarmName=old, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=300, EvaluationPeriods=1,
        Dimensions=[{"Name": "FunctionName", "Value": "closeloop-dev-api_key"}], Threshold=0,
        ComparisonOperator="GreaterThanThreshold")

    done = destroy("dev", config_path, aws, delete_app=False)

    assert _left("dev")["alarms"] == []
    assert ("alarm", old, "deleted") in {(step.kind, step.name, step.action) for step in done}


def test_destroy_with_delete_data_removes_the_table_and_the_secrets_and_can_run_again(aws, config_path):
    bootstrap("dev", config_path, aws)
    destroy("dev", config_path, aws, delete_app=False)

    destroy("dev", config_path, aws, delete_data=True, delete_app=False)

    assert all(found == [] for found in _left("dev").values()), _left("dev")
    assert {step.action for step in destroy("dev", config_path, aws, delete_data=True, delete_app=False)} == {"absent"}


def test_prod_data_needs_a_second_yes(aws, config_path):
    bootstrap("prod", config_path, aws)
    aws.calls.clear()

    with pytest.raises(SystemExit) as refused:
        destroy("prod", config_path, aws, delete_data=True, delete_app=False)

    assert "--yes-delete-prod" in str(refused.value)
    assert aws.calls == []  # refused before touching anything
    assert _left("prod")["tables"] == ["closeloop-prod"]
    destroy("prod", config_path, aws, delete_data=True, yes_delete_prod=True, delete_app=False)
    assert all(found == [] for found in _left("prod").values()), _left("prod")


def test_another_stage_is_left_alone(aws, config_path):
    bootstrap("dev", config_path, aws)
    bootstrap("prod", config_path, aws)

    destroy("dev", config_path, aws, delete_data=True, delete_app=False)

    assert all(found for found in _left("prod").values()), _left("prod")


def test_every_call_of_bootstrap_and_destroy_is_a_listed_operator_permission(aws, config_path):
    """OPERATOR_ACTIONS is what docs/operations.md tells an operator to grant: it must be enough."""
    from ops.bootstrap import OPERATOR_ACTIONS

    bootstrap("dev", config_path, aws)
    bootstrap("dev", config_path, aws)
    destroy("dev", config_path, aws, delete_app=False)
    destroy("dev", config_path, aws, delete_data=True, delete_app=False)

    assert iam_actions(aws.calls) - set(OPERATOR_ACTIONS) == set()


def iam_actions(calls: list[str]) -> set[str]:
    """`DynamoDB.DescribeTable` as IAM names it, `dynamodb:DescribeTable`."""
    services = {"DynamoDB": "dynamodb", "SNS": "sns", "SQS": "sqs", "SES": "ses", "SSM": "ssm",
                "CloudWatch": "cloudwatch", "Lambda": "lambda", "IAM": "iam", "WAFV2": "wafv2",
                "EventBridge": "events"}
    return {f"{services[call.split('.')[0]]}:{call.split('.')[1]}" for call in calls}


def test_the_destroy_command_prints_what_it_did(aws, config_path, capsys):
    from ops.__main__ import main

    bootstrap("dev", config_path, aws)

    assert main(["--stage", "dev", "destroy", "--no-delete-app", "--config", str(config_path)]) == 0

    out = capsys.readouterr().out
    assert "deleted   queue closeloop-dev-jobs\n" in out and "kept      table closeloop-dev\n" in out
    assert _left("dev")["tables"] == ["closeloop-dev"] and not _left("dev")["queues"]
