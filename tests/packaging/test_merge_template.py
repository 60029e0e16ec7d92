"""`make package`'s CloudFormation path: chalice's SAM template merged with the template that
ops/cfn_template.py generates declares every resource, wires the handlers to them, and passes cfn-lint."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chalicelib.storage.schema import TABLE_DEFINITION
from chalicelib.storage.table import TTL_ATTRIBUTE
from ops import alarms, bootstrap, cfn_template
from ops.stack import names
from tests.conftest import ROOT

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """`make package STAGE=dev`, into a temporary folder."""
    out = tmp_path_factory.mktemp("merged")
    merge = out / "merge-template.json"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run([sys.executable, "-m", "ops.cfn_template", "--stage", "dev", "--output", str(merge)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([str(BIN / "chalice"), "package", "--stage", "dev", "--merge-template", str(merge), str(out)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def sam(package) -> dict:
    return json.loads((package / "sam.json").read_text())


def functions(sam: dict) -> dict[str, dict]:
    """Handler ("app.handle_job") -> the function's resource."""
    return {r["Properties"]["Handler"]: r for r in sam["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"}


def logical_id(sam: dict, handler: str) -> str:
    (found,) = [k for k, r in sam["Resources"].items() if r.get("Properties", {}).get("Handler") == handler]
    return found


def test_cfn_lint_finds_nothing_in_the_merged_template(package):
    # Every level counts: errors, warnings and the informational checks (-I) that `make package`
    # leaves out. cfn-lint transforms the SAM template first, so what it checks is what
    # CloudFormation would create.
    result = subprocess.run([str(BIN / "cfn-lint"), "--format", "json", "--include-checks", "I",
                             "--regions", "us-east-1", "--", str(package / "sam.json")],
                            capture_output=True, text=True)
    findings = [f"{f['Level']} {f['Rule']['Id']} {'/'.join(map(str, f['Location']['Path']))}: {f['Message']}"
                for f in json.loads(result.stdout or "[]")]
    assert findings == [], "\n".join(findings)
    assert result.returncode == 0, result.stderr


def test_every_merged_resource_is_a_whole_resource(sam):
    # A function or event renamed in chalice would leave this template's part of it without a
    # Type, as a resource of its own: nothing would fail until CloudFormation refused it.
    assert [name for name, resource in sam["Resources"].items() if "Type" not in resource] == []


def test_the_jobs_handler_reports_batch_item_failures_on_its_own_queue(sam):
    (event,) = functions(sam)["app.handle_job"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS"
    properties = event["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["Queue"] == {"Fn::Sub": "${JobsQueue.Arn}"}
    assert properties["BatchSize"] == 1


def test_the_jobs_queue_redrives_to_its_dead_letter_queue(sam):
    resources, stage = sam["Resources"], names("dev")
    queue, dlq = resources["JobsQueue"], resources["JobsDeadLetterQueue"]
    assert (queue["Type"], dlq["Type"]) == ("AWS::SQS::Queue", "AWS::SQS::Queue")
    assert queue["Properties"]["QueueName"] == stage.jobs_queue
    assert dlq["Properties"]["QueueName"] == stage.jobs_dlq
    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": bootstrap.MAX_RECEIVE_COUNT}
    # Lambda's advice for a queue it reads: visibility of at least 6 times the function's timeout.
    timeout = functions(sam)["app.handle_job"]["Properties"]["Timeout"]
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_the_table_is_storages_table_with_stream_ttl_and_recovery_and_outlives_the_stack(sam):
    table = sam["Resources"]["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    properties = copy.deepcopy(table["Properties"])
    assert properties.pop("TableName") == names("dev").table
    assert properties.pop("StreamSpecification") == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties.pop("TimeToLiveSpecification") == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert properties.pop("PointInTimeRecoverySpecification") == {"PointInTimeRecoveryEnabled": True}
    assert properties.pop("DeletionProtectionEnabled") is False  # prod's is on (below)
    assert properties == TABLE_DEFINITION  # keys, attributes, every index, on-demand billing


def test_the_sns_and_schedule_handlers_send_failed_events_to_the_handlers_dead_letter_queue(sam):
    resources = sam["Resources"]
    configs = {r["Properties"]["FunctionName"]["Ref"]: r for r in resources.values()
               if r["Type"] == "AWS::Lambda::EventInvokeConfig"}
    asynchronous = {logical_id(sam, f"app.{h}") for h in ("handle_ses_notice", "handle_sms_reply", "escalate_overdue")}
    assert set(configs) == asynchronous
    for config in configs.values():
        assert config["Properties"]["DestinationConfig"] == {
            "OnFailure": {"Destination": {"Fn::GetAtt": ["HandlersDeadLetterQueue", "Arn"]}}}
        assert config["Properties"]["Qualifier"] == "$LATEST"
    assert configs[logical_id(sam, "app.handle_sms_reply")]["Properties"]["MaximumRetryAttempts"] == 2
    # The escalation's next run, a minute later, is its retry.
    assert configs[logical_id(sam, "app.escalate_overdue")]["Properties"]["MaximumRetryAttempts"] == 0
    assert resources["HandlersDeadLetterQueue"]["Properties"]["QueueName"] == names("dev").handlers_dlq
    # Lambda sends a failed event with the function's role: each of those roles may send there.
    policy = resources[cfn_template.HANDLERS_DLQ_POLICY]["Properties"]
    roles = {resources[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in asynchronous}
    assert {r["Ref"] for r in policy["Roles"]} == roles
    assert policy["PolicyDocument"]["Statement"] == [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                                      "Resource": {"Fn::GetAtt": ["HandlersDeadLetterQueue", "Arn"]}}]


def test_the_sns_handlers_subscribe_to_the_stacks_topics(sam):
    for handler, topic, name in (("app.handle_ses_notice", "SesNoticesTopic", names("dev").ses_notices_topic),
                                 ("app.handle_sms_reply", "SmsRepliesTopic", names("dev").sms_replies_topic)):
        (event,) = functions(sam)[handler]["Properties"]["Events"].values()
        assert event["Properties"]["Topic"] == {"Fn::Sub": "${%s}" % topic}
        assert sam["Resources"][topic]["Properties"]["TopicName"] == name


def test_the_public_survey_routes_are_throttled_and_everything_else_has_a_default(sam):
    from app import app

    settings = sam["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    by_key = {(s["ResourcePath"], s["HttpMethod"]): (s["ThrottlingRateLimit"], s["ThrottlingBurstLimit"])
              for s in settings}
    public = cfn_template.PUBLIC_THROTTLE
    assert by_key.pop(("/*", "*")) == (cfn_template.DEFAULT_THROTTLE.rate, cfn_template.DEFAULT_THROTTLE.burst)
    expected = {("/" + path.replace("/", "~1"), method)
                for path, methods in app.routes.items() if re.match(r"/(s|u|h|signin)(/|$)", path)
                for method in methods}
    assert {"/~1s~1{token}", "/~1u~1{token}", "/~1h~1{token}", "/~1signin"} <= {path for path, _ in expected}
    assert set(by_key) == expected
    assert set(by_key.values()) == {(public.rate, public.burst)}
    assert public.rate < cfn_template.DEFAULT_THROTTLE.rate


def test_the_throttling_is_configurable():
    from app import app

    template = cfn_template.build("dev", app, public=cfn_template.Throttle(5, 10),
                                  default=cfn_template.Throttle(20, 40))
    settings = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    assert {(s["ThrottlingRateLimit"], s["ThrottlingBurstLimit"]) for s in settings} == {(5, 10), (20, 40)}


def test_every_function_reads_the_stacks_resources_not_the_config_placeholders(sam):
    for handler, function in functions(sam).items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["CLOSELOOP_TABLE_NAME"] == {"Ref": "Table"}, handler
        assert variables["CLOSELOOP_JOBS_QUEUE_URL"] == {"Ref": "JobsQueue"}, handler
        assert variables["CLOSELOOP_ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}, handler
        assert variables["CLOSELOOP_ESCALATION_TOPIC_ARN"] == {"Ref": "EscalationTopic"}, handler
        assert variables["CLOSELOOP_EVENT_BUS_NAME"] == {"Ref": "EventBus"}, handler
        assert variables["CLOSELOOP_SECRETS_PARAMETER_PREFIX"] == names("dev").parameter_prefix, handler
        assert variables["CLOSELOOP_SES_CONFIGURATION_SET"] == {"Ref": "SesConfigurationSet"}, handler
        # Every variable the bootstrap records for `chalice deploy` is set here too.
        recorded = bootstrap.Stack(names("dev"), topic_arns=dict.fromkeys(names("dev").topics, "")).environment()
        assert set(recorded) <= set(variables), handler
        # No account id or region written down: every ARN and URL comes from the stack.
        assert "123456789012" not in json.dumps(variables), handler


def test_functions_keep_chalice_deploys_names_which_the_policy_and_alarms_use(sam):
    named = {f["Properties"]["FunctionName"] for f in functions(sam).values()}
    assert named == set(alarms.function_names("dev"))


def test_the_ses_configuration_set_publishes_bounces_and_complaints_to_the_notices_topic(sam):
    resources = sam["Resources"]
    assert resources["SesConfigurationSet"]["Properties"]["Name"] == names("dev").ses_configuration_set
    destination = resources["SesNoticesEventDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "SesConfigurationSet"}
    event = destination["EventDestination"]
    assert (event["Enabled"], sorted(event["MatchingEventTypes"])) == (True, ["bounce", "complaint"])
    assert event["SnsDestination"] == {"TopicARN": {"Ref": "SesNoticesTopic"}}
    statement = resources["SesNoticesTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}


def test_every_alarm_of_the_stage_is_declared_and_alerts_the_leads_topic(sam):
    declared = {r["Properties"]["AlarmName"]: r["Properties"] for r in sam["Resources"].values()
                if r["Type"] == "AWS::CloudWatch::Alarm"}
    expected = alarms.alarms("dev", names("dev"))
    assert set(declared) == {a["AlarmName"] for a in expected}
    for alarm in expected:
        properties = declared[alarm["AlarmName"]]
        assert properties["AlarmActions"] == [{"Ref": "AlertTopic"}]
        assert (properties["MetricName"], properties["Threshold"]) == (alarm["MetricName"], alarm["Threshold"])


def test_the_dashboard_is_the_bootstraps_with_the_stacks_region_and_account(sam):
    from ops import dashboard

    (found,) = [r["Properties"] for r in sam["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    assert found["DashboardName"] == dashboard.dashboard_name(names("dev"))
    # A JSON string (what CloudFormation wants), its region and the alarms' account filled in by Fn::Sub.
    body = json.loads(found["DashboardBody"]["Fn::Sub"])
    assert body == dashboard.dashboard_body("dev", names("dev"), "${AWS::Region}", "${AWS::AccountId}")


def test_the_functions_architecture_is_the_one_the_zip_was_built_for(package, sam):
    # Compiled wheels (pydantic-core) are chosen by the stage's lambda_architecture: a template that
    # said arm64 over an x86_64 zip would fail on its first import.
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        binaries = [n for n in archive.namelist() if n.endswith(".so") and "pydantic_core" in n]
    assert binaries
    built_for = {"arm64" if "aarch64" in n else "x86_64" for n in binaries}
    declared = {a for f in functions(sam).values() for a in f["Properties"]["Architectures"]}
    assert declared == built_for == {"arm64"}


def test_each_stage_gets_its_own_names():
    from app import app

    template = cfn_template.build("prod", app)
    prod = json.dumps(template)
    assert "closeloop-prod-jobs" in prod and "/closeloop/prod/" in prod
    assert "closeloop-dev" not in prod
    assert template["Resources"]["Table"]["Properties"]["DeletionProtectionEnabled"] is True


# --- each client's own limit on the public pages (ops/waf.py) ----------------------------------

def test_each_client_is_limited_on_the_public_pages_by_a_web_acl_on_the_api_stage(sam):
    from ops import waf

    resources = sam["Resources"]
    acl = resources[cfn_template.WEB_ACL]
    assert acl["Type"] == "AWS::WAFv2::WebACL"
    properties = acl["Properties"]
    assert (properties["Scope"], properties["DefaultAction"]) == ("REGIONAL", {"Allow": {}})
    (rule,) = properties["Rules"]
    assert rule["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}
    rate = rule["Statement"]["RateBasedStatement"]
    # Per client IP, over five minutes, at the stage's limit (config.json sets none: the default).
    assert (rate["AggregateKeyType"], rate["EvaluationWindowSec"], rate["Limit"]) == ("IP", 300, waf.DEFAULT_LIMIT)
    scope = rate["ScopeDownStatement"]["RegexMatchStatement"]
    assert scope["FieldToMatch"] == {"UriPath": {}}
    pattern = re.compile(scope["RegexString"])
    for path in ("/s/tok3n", "/api/s/tok3n", "/u/tok3n", "/h/tok3n", "/signin", "/api/signin/tok3n", "/dev/s"):
        assert pattern.search(path), path
    for path in ("/v1/interactions", "/api/v1/webhooks/zendesk", "/health", "/signinx", "/api/surveys", "/"):
        assert not pattern.search(path), path
    # Associated with the API's stage, once the stage exists.
    association = resources[cfn_template.WEB_ACL_ASSOCIATION]
    assert association["Type"] == "AWS::WAFv2::WebACLAssociation"
    assert association["Properties"] == {
        "ResourceArn": {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/api"},
        "WebACLArn": {"Fn::GetAtt": [cfn_template.WEB_ACL, "Arn"]}}
    assert resources["RestAPI"]["Properties"]["StageName"] == "api"
    assert association["DependsOn"] == ["RestAPIapiStage"]  # SAM's name for the stage it makes
    # The stage throttle stays, as the ceiling over all clients.
    settings = {(s["ResourcePath"], s["HttpMethod"]): s["ThrottlingRateLimit"]
                for s in resources["RestAPI"]["Properties"]["MethodSettings"]}
    assert settings[("/~1s~1{token}", "GET")] == cfn_template.PUBLIC_THROTTLE.rate


def test_the_per_client_limit_is_the_stages_setting(tmp_path):
    from app import app
    from ops import waf

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["dev"].setdefault("environment_variables", {})["CLOSELOOP_CLIENT_RATE_LIMIT"] = "250"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    template = cfn_template.build("dev", app, config_path=path)
    (rule,) = template["Resources"][cfn_template.WEB_ACL]["Properties"]["Rules"]
    assert rule["Statement"]["RateBasedStatement"]["Limit"] == 250
    config["stages"]["dev"]["environment_variables"]["CLOSELOOP_CLIENT_RATE_LIMIT"] = "5"  # under WAF's least
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=waf.LIMIT_VARIABLE):
        cfn_template.build("dev", app, config_path=path)


def test_the_api_authorizes_with_our_lambda_and_caches_its_answer_for_30_seconds_not_300(sam):
    from chalicelib.api import auth

    # What chalice itself writes (the merge template adds no definition): the Lambda authorizer on
    # the Authorization header. For an authorizer named `api_key` chalice would write API Gateway's
    # usage-plan key (x-api-key) instead, dropping the authorizer and its TTL: every /v1/ call 403.
    definitions = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["securityDefinitions"]
    assert list(definitions) == ["bearer_key"], definitions
    definition = definitions["bearer_key"]
    assert (definition["type"], definition["name"], definition["in"], definition["x-amazon-apigateway-authtype"]) == (
        "apiKey", "Authorization", "header", "custom")
    authorizer = definition["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "token"
    assert "/functions/${BearerKey.Arn}/invocations" in authorizer["authorizerUri"]["Fn::Sub"]
    assert functions(sam)["app.bearer_key"] is sam["Resources"]["BearerKey"]
    assert authorizer["authorizerResultTtlInSeconds"] == auth.GATEWAY_CACHE_SECONDS == 30
    assert "x-api-key" not in json.dumps(sam["Resources"]["RestAPI"]).lower()

