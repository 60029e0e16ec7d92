"""`python -m ops --stage dev bootstrap --no-deploy` against the local AWS emulator: every resource
with its settings, recorded in (a copy of) config.json; run again, it changes nothing."""
from __future__ import annotations

import json

import pytest

from chalicelib.storage import schema
from chalicelib.storage.table import TTL_ATTRIBUTE
from ops import alarms as stage_alarms
from ops.bootstrap import STREAM, bootstrap
from ops.dashboard import dashboard_body, dashboard_name
from ops.stack import OPERATOR_SET, SECRET_NAMES, names
from tests.conftest import REGION, ROOT
from tests.deploy.conftest import client

DEV = names("dev")
# What a look costs; anything else in a second run would be a change.
READ_ONLY = ("Describe", "Get", "List")


def _topic_arn(name: str) -> str:
    arns = [t["TopicArn"] for t in client("sns").list_topics()["Topics"] if t["TopicArn"].endswith(f":{name}")]
    assert len(arns) == 1, arns
    return arns[0]


def test_the_first_run_creates_every_resource_with_its_settings(aws, config_path):
    done = bootstrap("dev", config_path, aws)

    assert {step.action for step in done} == {"created", "updated"}  # config.json is updated, the rest created
    db = client("dynamodb")
    table = db.describe_table(TableName=DEV.table)["Table"]
    assert table["StreamSpecification"] == STREAM
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {
        i["IndexName"] for i in schema.TABLE_DEFINITION["GlobalSecondaryIndexes"]}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert not table.get("DeletionProtectionEnabled")  # only prod's table is protected
    ttl = db.describe_time_to_live(TableName=DEV.table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", TTL_ATTRIBUTE)
    backups = db.describe_continuous_backups(TableName=DEV.table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    sqs = client("sqs")
    jobs = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=DEV.jobs_queue)["QueueUrl"],
                                    AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=DEV.jobs_dlq)["QueueUrl"],
                                   AttributeNames=["All"])["Attributes"]
    redrive = json.loads(jobs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"] and int(redrive["maxReceiveCount"]) == 5
    assert int(jobs["VisibilityTimeout"]) == 6 * 30  # six times config.json's lambda_timeout
    assert int(jobs["MessageRetentionPeriod"]) == int(dlq["MessageRetentionPeriod"]) == 14 * 24 * 3600
    sqs.get_queue_url(QueueName=DEV.handlers_dlq)  # for the asynchronous handlers' failed events

    for topic in DEV.topics:
        _topic_arn(topic)
    # SES publishes bounces and complaints, End User Messaging the texted replies, as services.
    for topic, service in ((DEV.ses_notices_topic, "ses.amazonaws.com"),
                           (DEV.sms_replies_topic, "sms-voice.amazonaws.com")):
        policy = json.loads(client("sns").get_topic_attributes(TopicArn=_topic_arn(topic))["Attributes"]["Policy"])
        assert [(s["Principal"], s["Action"], s["Condition"]) for s in policy["Statement"]] == [
            ({"Service": service}, "sns:Publish", {"StringEquals": {"aws:SourceAccount": "123456789012"}})]
    found = client("ses").describe_configuration_set(ConfigurationSetName=DEV.ses_configuration_set,
                                                     ConfigurationSetAttributeNames=["eventDestinations"])
    [destination] = found["EventDestinations"]
    assert destination["SNSDestination"]["TopicARN"] == _topic_arn(DEV.ses_notices_topic)
    assert sorted(destination["MatchingEventTypes"]) == ["bounce", "complaint"]
    # One resource in both SES APIs: the v2 API (the one that sends) sees the set.
    client("sesv2").get_configuration_set(ConfigurationSetName=DEV.ses_configuration_set)

    parameters = client("ssm").describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [DEV.parameter_prefix]}])["Parameters"]
    assert sorted(p["Name"] for p in parameters) == sorted(DEV.parameter(n) for n in SECRET_NAMES
                                                           if n not in OPERATOR_SET)
    assert {p["Type"] for p in parameters} == {"SecureString"}

    alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix="closeloop-dev-")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(a["AlarmName"] for a in stage_alarms.alarms("dev", DEV))
    assert all(a["AlarmActions"] == [_topic_arn(DEV.alert_topic)] for a in alarms)

    # The dashboard, its alarm status widget naming the alarms of this account and region.
    found = client("cloudwatch").get_dashboard(DashboardName=dashboard_name(DEV))
    assert json.loads(found["DashboardBody"]) == dashboard_body("dev", DEV, REGION, "123456789012")
    assert ("dashboard", "closeloop-dev", "created") in {(step.kind, step.name, step.action) for step in done}


def test_the_stage_configuration_records_the_names_and_keeps_everything_else(aws, config_path):
    before = json.loads(config_path.read_text())
    bootstrap("dev", config_path, aws)
    after = json.loads(config_path.read_text())

    recorded = after["stages"]["dev"]["environment_variables"]
    sqs = client("sqs")
    assert recorded["CLOSELOOP_TABLE_NAME"] == "closeloop-dev"
    assert recorded["CLOSELOOP_JOBS_QUEUE_URL"] == sqs.get_queue_url(QueueName="closeloop-dev-jobs")["QueueUrl"]
    assert recorded["CLOSELOOP_JOBS_QUEUE_NAME"] == "closeloop-dev-jobs"
    assert recorded["CLOSELOOP_ALERT_TOPIC_ARN"] == _topic_arn("closeloop-dev-alerts")
    assert recorded["CLOSELOOP_ESCALATION_TOPIC_ARN"] == _topic_arn("closeloop-dev-escalations")
    assert recorded["CLOSELOOP_SES_NOTICES_TOPIC_NAME"] == "closeloop-dev-ses-notices"
    assert recorded["CLOSELOOP_SMS_REPLIES_TOPIC_NAME"] == "closeloop-dev-sms-replies"
    assert recorded["CLOSELOOP_SES_CONFIGURATION_SET"] == "closeloop-dev"
    assert recorded["CLOSELOOP_SECRETS_PARAMETER_PREFIX"] == "/closeloop/dev/"
    # Every other key and stage stays as it was, in its order; new keys come last.
    old = before["stages"]["dev"]["environment_variables"]
    assert list(recorded)[:len(old)] == list(old)
    assert {k: v for k, v in recorded.items() if k in old and k not in (
        "CLOSELOOP_JOBS_QUEUE_URL", "CLOSELOOP_ALERT_TOPIC_ARN")} == {
        k: v for k, v in old.items() if k not in ("CLOSELOOP_JOBS_QUEUE_URL", "CLOSELOOP_ALERT_TOPIC_ARN")}
    after["stages"]["dev"]["environment_variables"] = old
    assert after == before
    # The format is the file's own (indent 2, a final newline).
    text = config_path.read_text()
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_the_repository_config_keeps_its_format_when_rewritten():
    """record() writes json.dumps(indent=2): true of the file as committed, so a run changes only values."""
    text = (ROOT / ".chalice" / "config.json").read_text()
    assert json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n" == text


def test_a_second_run_changes_nothing_and_only_looks(aws, config_path):
    bootstrap("dev", config_path, aws)
    first = config_path.read_bytes()
    aws.calls.clear()

    done = bootstrap("dev", config_path, aws)

    assert [str(step) for step in done if step.action != "unchanged"] == []
    assert config_path.read_bytes() == first
    mutating = [call for call in aws.calls if not call.split(".", 1)[1].startswith(READ_ONLY)]
    assert mutating == []
    assert aws.calls  # it did look
    assert "CloudWatch.GetDashboard" in aws.calls and "CloudWatch.PutDashboard" not in aws.calls
    assert [step.action for step in done if step.kind == "dashboard"] == ["unchanged"]


def test_drift_is_put_back_and_then_left_alone(aws, config_path):
    bootstrap("dev", config_path, aws)
    sqs, ssm, db = client("sqs"), client("ssm"), client("dynamodb")
    sqs.set_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=DEV.jobs_queue)["QueueUrl"],
                             Attributes={"VisibilityTimeout": "30"})
    ssm.delete_parameter(Name=DEV.parameter("api_key_pepper"))
    db.update_continuous_backups(TableName=DEV.table,
                                 PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    client("cloudwatch").delete_alarms(AlarmNames=["closeloop-dev-dlq-depth"])

    changed = {(step.kind, step.name, step.action, step.changed) for step in bootstrap("dev", config_path, aws)
               if step.action != "unchanged"}

    assert changed == {("queue", DEV.jobs_queue, "updated", ("VisibilityTimeout",)),
                       ("parameter", DEV.parameter("api_key_pepper"), "created", ()),
                       ("table", DEV.table, "updated", ("point-in-time recovery",)),
                       ("alarm", "closeloop-dev-dlq-depth", "created", ())}
    assert all(step.action == "unchanged" for step in bootstrap("dev", config_path, aws))


def test_a_dashboard_changed_in_the_console_is_put_back_and_then_left_alone(aws, config_path):
    bootstrap("dev", config_path, aws)
    cloudwatch = client("cloudwatch")
    edited = json.loads(cloudwatch.get_dashboard(DashboardName="closeloop-dev")["DashboardBody"])
    edited["widgets"].pop()
    cloudwatch.put_dashboard(DashboardName="closeloop-dev", DashboardBody=json.dumps(edited, indent=4))
    aws.calls.clear()

    [step] = [step for step in bootstrap("dev", config_path, aws) if step.kind == "dashboard"]

    assert (step.name, step.action) == ("closeloop-dev", "updated")
    assert aws.calls.count("CloudWatch.PutDashboard") == 1
    assert json.loads(cloudwatch.get_dashboard(DashboardName="closeloop-dev")["DashboardBody"]) == dashboard_body(
        "dev", DEV, REGION, "123456789012")
    # Formatting is not a difference: the same body, indented otherwise, is left alone.
    cloudwatch.put_dashboard(DashboardName="closeloop-dev",
                             DashboardBody=json.dumps(dashboard_body("dev", DEV, REGION, "123456789012"), indent=4))
    assert [s.action for s in bootstrap("dev", config_path, aws) if s.kind == "dashboard"] == ["unchanged"]


def test_an_existing_secret_is_never_overwritten_nor_printed(aws, config_path, capsys, monkeypatch):
    from ops.__main__ import main

    ssm = client("ssm")
    ssm.put_parameter(Name=DEV.parameter("zendesk_webhook_secret"), Type="SecureString",
                      Value="set-by-the-operator-in-zendesk")

    assert main(["--stage", "dev", "bootstrap", "--no-deploy", "--config", str(config_path)]) == 0
    assert main(["--stage", "dev", "bootstrap", "--no-deploy", "--config", str(config_path)]) == 0

    values = {p["Name"]: p["Value"] for p in ssm.get_parameters(
        Names=[DEV.parameter(n) for n in SECRET_NAMES], WithDecryption=True)["Parameters"]}
    assert values[DEV.parameter("zendesk_webhook_secret")] == "set-by-the-operator-in-zendesk"
    generated = [v for n, v in values.items() if n != DEV.parameter("zendesk_webhook_secret")]
    assert len(set(generated)) == len(SECRET_NAMES) - 1 - len(OPERATOR_SET) and all(len(v) >= 43 for v in generated)
    out = capsys.readouterr()
    assert not [v for v in values.values() if v in out.out or v in out.err]
    assert "created   parameter /closeloop/dev/api_key_pepper" in out.out
    assert ("dashboard: https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
            "#dashboards/dashboard/closeloop-dev\n") in out.out
    assert config_path.read_text().count("set-by-the-operator") == 0


def test_prod_protects_its_table_from_deletion(aws, config_path):
    bootstrap("prod", config_path, aws)
    assert client("dynamodb").describe_table(TableName="closeloop-prod")["Table"]["DeletionProtectionEnabled"]
    assert json.loads(config_path.read_text())["stages"]["prod"]["environment_variables"][
        "CLOSELOOP_TABLE_NAME"] == "closeloop-prod"


def test_a_stage_protected_later_gets_its_protection(aws, config_path, monkeypatch):
    import ops.bootstrap

    monkeypatch.setattr(ops.bootstrap, "PROTECTED_STAGES", ())
    bootstrap("prod", config_path, aws)
    monkeypatch.setattr(ops.bootstrap, "PROTECTED_STAGES", ("prod",))

    [table] = [step for step in bootstrap("prod", config_path, aws) if step.kind == "table"]

    assert (table.action, table.changed) == ("updated", ("deletion protection",))
    assert client("dynamodb").describe_table(TableName="closeloop-prod")["Table"]["DeletionProtectionEnabled"]


@pytest.mark.parametrize("stage", ["local", "staging"])
def test_the_local_stage_and_unknown_stages_are_refused(aws, config_path, stage):
    with pytest.raises(SystemExit) as refused:
        bootstrap(stage, config_path, aws)
    assert stage in str(refused.value)
    assert aws.calls == []


def test_the_queue_visibility_follows_the_jobs_handlers_timeout_as_chalice_resolves_it():
    from ops.bootstrap import lambda_timeout

    config = {"lambda_timeout": 30, "stages": {"dev": {}}}
    assert lambda_timeout(config, "dev") == 30
    config["lambda_functions"] = {"handle_job": {"lambda_timeout": 45}}
    assert lambda_timeout(config, "dev") == 45
    config["stages"]["dev"] = {"lambda_timeout": 50}
    assert lambda_timeout(config, "dev") == 50
    config["stages"]["dev"]["lambda_functions"] = {"handle_job": {"lambda_timeout": 120}}
    assert lambda_timeout(config, "dev") == 120
    assert lambda_timeout({"stages": {"dev": {}}}, "dev") == 60  # chalice's default


def test_each_client_is_limited_on_the_public_pages_by_the_stages_web_acl(aws, config_path):
    from ops import waf

    config = json.loads(config_path.read_text())
    config["stages"]["dev"]["environment_variables"]["CLOSELOOP_CLIENT_RATE_LIMIT"] = "400"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    done = bootstrap("dev", config_path, aws)

    assert [str(step) for step in done if step.kind == "web acl"] == ["created   web acl closeloop-dev-public"]
    wafv2 = client("wafv2")
    (summary,) = wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]
    acl = wafv2.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    (rule,) = acl["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rate["AggregateKeyType"], rate["Limit"], rate["EvaluationWindowSec"]) == ("IP", 400, 300)
    assert rate["ScopeDownStatement"]["RegexMatchStatement"]["RegexString"] == waf.public_path_pattern()
    assert rule["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}
    # The same definition as the merge template's: one place decides it.
    assert {key: acl[key] for key in ("Rules", "DefaultAction", "VisibilityConfig")} == {
        key: waf.web_acl(DEV, 400)[key] for key in ("Rules", "DefaultAction", "VisibilityConfig")}

    # A changed limit is put back in place; then nothing changes and the bootstrap only looks.
    config["stages"]["dev"]["environment_variables"]["CLOSELOOP_CLIENT_RATE_LIMIT"] = "800"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    again = [s for s in bootstrap("dev", config_path, aws) if s.kind == "web acl"]
    assert [(s.action, s.changed) for s in again] == [("updated", ("Description", "Rules"))]
    acl = wafv2.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    assert acl["Rules"][0]["Statement"]["RateBasedStatement"]["Limit"] == 800
    aws.calls.clear()
    assert [s.action for s in bootstrap("dev", config_path, aws) if s.kind == "web acl"] == ["unchanged"]
    assert [c for c in aws.calls if c.startswith("WAFV2.")] == ["WAFV2.ListWebACLs", "WAFV2.GetWebACL"]


def test_an_upgrade_deletes_the_error_alarm_of_the_renamed_authorizer(aws, config_path):
    # A stage bootstrapped before the authorizer's rename (api_key -> bearer_key) has an error alarm
    # on closeloop-dev-api_key, which `chalice deploy` deletes: the alarm would watch nothing.
    bootstrap("dev", config_path, aws)
    cloudwatch = client("cloudwatch")
    old = "closeloop-dev-handler-errors-api_key"
    cloudwatch.put_metric_alarm(AlarmName=old, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum",
                                Dimensions=[{"Name": "FunctionName", "Value": "closeloop-dev-api_key"}],
                                Period=300, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")

    done = bootstrap("dev", config_path, aws)

    assert [(step.kind, step.name, step.action) for step in done if step.action != "unchanged"] == [
        ("alarm", old, "deleted")]
    left = {a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix="closeloop-dev-")["MetricAlarms"]}
    assert old not in left and "closeloop-dev-handler-errors-bearer_key" in left
    assert all(step.action == "unchanged" for step in bootstrap("dev", config_path, aws))
