"""`python -m ops --stage dev bootstrap`: create or update every AWS resource of a stage that
chalice does not create, record their names and ARNs in the stage's `.chalice/config.json`, then
run `chalice deploy --stage dev`.

Chalice creates the Lambda functions, their role, the API, the schedule and the event sources
(the jobs queue's mapping, the Lambda subscriptions to the SES notices and SMS replies topics),
but never a table, a queue or a topic. Each `ensure_*` below first looks (Describe/Get/List) and
then changes only what differs from what is declared here, so a second run makes no mutating call,
reports everything unchanged and leaves config.json byte-identical. Secrets are created when
missing and never overwritten (an operator may have set them); their values are never printed.
"""
from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ops import checks, waf
from ops.stack import OPERATOR_SET, SECRET_NAMES, StackNames
from ops.stack import names as stack_names

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".chalice" / "config.json"

# Stages whose table must survive a mistaken `delete-table` (deletion protection on).
PROTECTED_STAGES = ("prod",)
# Lambda's timeout when neither the stage nor the file sets one (chalice's own default).
CHALICE_DEFAULT_TIMEOUT = 60
# AWS recommends a visibility timeout of six times the function timeout for an SQS event source,
# so a message is not handed to a second invocation while the first (and its retries) still runs.
VISIBILITY_TIMEOUT_FACTOR = 6
# After this many receives a job moves to the dead-letter queue (an alarm watches it).
MAX_RECEIVE_COUNT = 5
FOURTEEN_DAYS = 14 * 24 * 3600  # SQS's longest retention: time to read and redrive a failed job
# Only bounces and complaints: deliveries would invoke the handler for nothing (chalicelib/contacts/bounces.py).
SES_EVENT_TYPES = ("bounce", "complaint")
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
# The IAM actions the bootstrap and teardown call, besides chalice's own (tests/deploy checks
# every call they make against this list, so docs/operations.md's permissions stay true).
OPERATOR_ACTIONS = (
    "dynamodb:DescribeTable", "dynamodb:CreateTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable",
    "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive",
    "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups",
    "sns:ListTopics", "sns:CreateTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:DeleteTopic",
    "sqs:GetQueueUrl", "sqs:CreateQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes", "sqs:DeleteQueue",
    "ses:DescribeConfigurationSet", "ses:CreateConfigurationSet", "ses:CreateConfigurationSetEventDestination",
    "ses:UpdateConfigurationSetEventDestination", "ses:DeleteConfigurationSet",
    "ssm:DescribeParameters", "ssm:PutParameter", "ssm:DeleteParameters",
    "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms",
    "cloudwatch:GetDashboard", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards",
    # the lifecycle events' bus; destroy removes the rules on it first
    "events:DescribeEventBus", "events:CreateEventBus", "events:DeleteEventBus", "events:ListRules",
    "events:ListTargetsByRule", "events:RemoveTargets", "events:DeleteRule",
    # each client's limit on the public pages (ops/waf.py); associating needs apigateway:SetWebACL too
    "wafv2:ListWebACLs", "wafv2:CreateWebACL", "wafv2:GetWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL",
    "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "apigateway:SetWebACL",
    # after chalice deploy (ops/after_deploy.py)
    "lambda:ListEventSourceMappings", "lambda:UpdateEventSourceMapping",
    "lambda:GetFunctionEventInvokeConfig", "lambda:PutFunctionEventInvokeConfig",
    "iam:GetRolePolicy", "iam:PutRolePolicy",
)


@dataclass(frozen=True)
class Done:
    """What one step did to one resource. `changed` names settings, never their values."""
    kind: str
    name: str
    action: str  # created, updated, unchanged, deleted, absent, kept
    changed: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.action:<9} {self.kind} {self.name}" + (f" ({', '.join(self.changed)})" if self.changed else "")


class Clients:
    """boto3 clients of one session, each created on first use. Tests pass a session whose event
    hooks record every call."""

    def __init__(self, session=None):
        import boto3
        from botocore.config import Config

        self.session = session or boto3.session.Session()
        self._config = Config(retries={"mode": "standard", "max_attempts": 5})
        self._clients: dict = {}

    def __call__(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=self._config)
        return self._clients[service]


@dataclass
class Stack:
    """What the bootstrap found or made: the values the app's configuration needs."""
    names: StackNames
    queue_url: str = ""
    topic_arns: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        n = self.names
        return {
            "CLOSELOOP_TABLE_NAME": n.table,
            "CLOSELOOP_JOBS_QUEUE_URL": self.queue_url,
            # app.py names the queue and the two topics at import, for chalice to wire the handlers.
            "CLOSELOOP_JOBS_QUEUE_NAME": n.jobs_queue,
            "CLOSELOOP_SES_NOTICES_TOPIC_NAME": n.ses_notices_topic,
            "CLOSELOOP_SMS_REPLIES_TOPIC_NAME": n.sms_replies_topic,
            "CLOSELOOP_ALERT_TOPIC_ARN": self.topic_arns[n.alert_topic],
            "CLOSELOOP_ESCALATION_TOPIC_ARN": self.topic_arns[n.escalation_topic],
            "CLOSELOOP_SES_CONFIGURATION_SET": n.ses_configuration_set,
            "CLOSELOOP_SECRETS_PARAMETER_PREFIX": n.parameter_prefix,
            "CLOSELOOP_EVENT_BUS_NAME": n.event_bus,
        }


# --- the stage's configuration file ------------------------------------------------------------

def read_config(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def stage_config(config: dict, stage: str) -> dict:
    if stage == "local":
        sys.exit("the local stage runs on this machine (`make run`), not on AWS")
    if stage not in config["stages"]:
        sys.exit(f"unknown stage {stage!r}: add it to .chalice/config.json (stages: {', '.join(config['stages'])})")
    return config["stages"][stage]


def lambda_timeout(config: dict, stage: str, function: str = "handle_job") -> int:
    """The function's timeout as chalice resolves it: the stage's per-function setting, the
    stage's, the file's per-function setting, the file's."""
    staged = stage_config(config, stage)
    for scope in (staged.get("lambda_functions", {}).get(function, {}), staged,
                  config.get("lambda_functions", {}).get(function, {}), config):
        if "lambda_timeout" in scope:
            return int(scope["lambda_timeout"])
    return CHALICE_DEFAULT_TIMEOUT


def api_gateway_stage(config: dict, stage: str) -> str:
    """The API Gateway stage chalice deploys the stage's API to (its own default: "api")."""
    return stage_config(config, stage).get("api_gateway_stage", config.get("api_gateway_stage", "api"))


def record(path: Path, stage: str, values: dict[str, str]) -> Done:
    """Write `values` into the stage's environment_variables, keeping every other key, the key
    order and the file's format (indent 2); the file is written only when a value changed."""
    path = Path(path)
    config = read_config(path)
    variables = stage_config(config, stage).setdefault("environment_variables", {})
    changed = tuple(name for name, value in values.items() if variables.get(name) != value)
    if not changed:
        return Done("config", str(path), "unchanged")
    variables.update(values)
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    os.replace(staged, path)  # never a half-written config
    return Done("config", str(path), "updated", changed)


# --- resources ------------------------------------------------------------------------------

def ensure_table(aws, name: str, protect: bool) -> Done:
    """The table of storage/schema.py's TABLE_DEFINITION with a stream, TTL, point-in-time recovery and, on
    protected stages, deletion protection (which the bootstrap turns on but never off)."""
    from chalicelib.storage import schema

    db = aws("dynamodb")
    try:
        table = db.describe_table(TableName=name)["Table"]
    except db.exceptions.ResourceNotFoundException:
        table = None
    changed: list[str] = []
    if table is None:
        db.create_table(TableName=name, **schema.TABLE_DEFINITION, StreamSpecification=STREAM,
                        DeletionProtectionEnabled=protect)
        _wait_active(db, name)
    else:
        if table["TableStatus"] != "ACTIVE":  # a run interrupted while the table was changing
            _wait_active(db, name)
        changed += [f"index {index}" for index in schema.add_missing_indexes(name, db)]
        stream = table.get("StreamSpecification") or {}
        if stream != STREAM:
            if stream.get("StreamEnabled"):  # another view type: a stream is changed by replacing it
                db.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
                _wait_active(db, name)
            db.update_table(TableName=name, StreamSpecification=STREAM)
            _wait_active(db, name)
            changed.append("stream")
        if protect and not table.get("DeletionProtectionEnabled"):
            db.update_table(TableName=name, DeletionProtectionEnabled=True)
            _wait_active(db, name)
            changed.append("deletion protection")
    ttl = db.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or ttl.get("AttributeName") != schema.TTL_ATTRIBUTE:
        db.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": schema.TTL_ATTRIBUTE})
        changed.append("ttl")
    backups = db.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    if backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") != "ENABLED":
        _enable_point_in_time_recovery(db, name)
        changed.append("point-in-time recovery")
    if table is None:
        return Done("table", name, "created")
    return Done("table", name, "updated" if changed else "unchanged", tuple(changed))


def _enable_point_in_time_recovery(db, name: str) -> None:
    # A table minutes old answers ContinuousBackupsUnavailable until its backups are set up.
    for attempt in range(30):
        try:
            db.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})
            return
        except db.exceptions.ContinuousBackupsUnavailableException:
            if attempt == 29:
                raise
            time.sleep(5)


def _wait_active(db, name: str) -> None:
    # DynamoDB refuses a second UpdateTable while the first is in progress.
    db.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})


def ensure_topics(aws, wanted: tuple[str, ...]) -> tuple[list[Done], dict[str, str]]:
    """SNS topics by name; returns what was done and each topic's ARN."""
    sns = aws("sns")
    existing = {}
    for page in sns.get_paginator("list_topics").paginate():
        existing.update({topic["TopicArn"].rsplit(":", 1)[1]: topic["TopicArn"] for topic in page["Topics"]})
    done, arns = [], {}
    for name in wanted:
        if name in existing:
            arns[name] = existing[name]
            done.append(Done("topic", name, "unchanged"))
        else:
            arns[name] = sns.create_topic(Name=name)["TopicArn"]
            done.append(Done("topic", name, "created"))
    return done, arns


def publish_policy(topic_arn: str, service: str) -> dict:
    """Lets an AWS service publish to the topic, for this account's resources only (the
    confused-deputy guard): SES its bounces and complaints, End User Messaging the texts customers
    send to our number. The same statement as the merge template's (ops/cfn_template.py)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "PublishFromService", "Effect": "Allow", "Principal": {"Service": service},
        "Action": "sns:Publish", "Resource": topic_arn,
        "Condition": {"StringEquals": {"aws:SourceAccount": topic_arn.split(":")[4]}}}]}


def ensure_topic_policy(aws, name: str, topic_arn: str, policy: dict) -> Done:
    sns = aws("sns")
    current = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"].get("Policy")
    if current and json.loads(current) == policy:
        return Done("topic policy", name, "unchanged")
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
    return Done("topic policy", name, "updated" if current else "created")


def ensure_queue(aws, name: str, attributes: dict[str, str]) -> tuple[Done, str, str]:
    """An SQS queue with these attributes; returns what was done, its URL and its ARN."""
    sqs = aws("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        url = None
    if url is None:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Done("queue", name, "created"), url, arn
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    differing = {key: value for key, value in attributes.items() if not _same_attribute(current.get(key), value)}
    if differing:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=differing)
    return (Done("queue", name, "updated" if differing else "unchanged", tuple(sorted(differing))),
            url, current["QueueArn"])


def _same_attribute(current: str | None, wanted: str) -> bool:
    """SQS answers policies as JSON text of its own formatting (and numbers as it pleases)."""
    if current == wanted:
        return True
    if current is None or not wanted.startswith("{"):
        return False
    normalize = lambda text: {key: str(value) for key, value in json.loads(text).items()}  # noqa: E731
    return normalize(current) == normalize(wanted)


def queue_attributes(names: StackNames, lambda_timeout_seconds: int, dlq_arn: str) -> dict[str, str]:
    return {
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT_FACTOR * lambda_timeout_seconds),
        "MessageRetentionPeriod": str(FOURTEEN_DAYS),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
        "SqsManagedSseEnabled": "true",
    }


DLQ_ATTRIBUTES = {"MessageRetentionPeriod": str(FOURTEEN_DAYS), "SqsManagedSseEnabled": "true"}


def ensure_configuration_set(aws, name: str, topic_arn: str) -> Done:
    """The SES configuration set the survey emails are sent with, publishing bounces and
    complaints to the SES notices topic (whose Lambda subscription chalice makes).

    Through SES's v1 API: configuration sets are one resource in both APIs (SES v2's SendEmail
    takes a set made here), and the local AWS emulator implements event destinations only in v1.
    """
    ses = aws("ses")
    destination = {"Name": f"{name}-notices", "Enabled": True, "MatchingEventTypes": list(SES_EVENT_TYPES),
                   "SNSDestination": {"TopicARN": topic_arn}}
    try:
        found = ses.describe_configuration_set(ConfigurationSetName=name,
                                               ConfigurationSetAttributeNames=["eventDestinations"])
    except ses.exceptions.ConfigurationSetDoesNotExistException:
        ses.create_configuration_set(ConfigurationSet={"Name": name})
        ses.create_configuration_set_event_destination(ConfigurationSetName=name, EventDestination=destination)
        return Done("configuration set", name, "created")
    current = next((d for d in found.get("EventDestinations") or [] if d and d.get("Name") == destination["Name"]),
                   None)
    if current is None:
        ses.create_configuration_set_event_destination(ConfigurationSetName=name, EventDestination=destination)
        return Done("configuration set", name, "updated", ("event destination",))
    if (bool(current.get("Enabled")) is not True
            or sorted(t.lower() for t in current.get("MatchingEventTypes", [])) != sorted(SES_EVENT_TYPES)
            or current.get("SNSDestination", {}).get("TopicARN") != topic_arn):
        ses.update_configuration_set_event_destination(ConfigurationSetName=name, EventDestination=destination)
        return Done("configuration set", name, "updated", ("event destination",))
    return Done("configuration set", name, "unchanged")


def ensure_event_bus(aws, name: str) -> Done:
    """The lifecycle events' bus (chalicelib/events/); the rules that route from it are the stage's teams'."""
    events = aws("events")
    try:
        events.describe_event_bus(Name=name)
        return Done("event bus", name, "unchanged")
    except events.exceptions.ResourceNotFoundException:
        events.create_event_bus(Name=name)
        return Done("event bus", name, "created")


def ensure_parameters(aws, names: StackNames) -> list[Done]:
    """Each secret's SecureString parameter, created with a random value when missing. An existing
    one is never read nor overwritten: an operator may have set it (a helpdesk's signing secret),
    and a new suppression hash key would orphan every hashed opt-out. The helpdesk API credentials
    (OPERATOR_SET) are only the operator's to set: a missing one is left missing."""
    ssm = aws("ssm")
    wanted = [names.parameter(name) for name in SECRET_NAMES]
    operator_set = {names.parameter(name) for name in OPERATOR_SET}
    existing: set[str] = set()
    for page in ssm.get_paginator("describe_parameters").paginate(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": wanted}]):
        existing.update(parameter["Name"] for parameter in page["Parameters"])
    done = []
    for parameter in wanted:
        if parameter in existing:
            done.append(Done("parameter", parameter, "unchanged"))
            continue
        if parameter in operator_set:
            continue  # optional: the operator puts it to turn that helpdesk's write-back on
        try:
            ssm.put_parameter(Name=parameter, Type="SecureString", Value=secrets.token_urlsafe(32), Overwrite=False,
                              Description="closeloop secret, generated by the bootstrap; set your own at will")
            done.append(Done("parameter", parameter, "created"))
        except ssm.exceptions.ParameterAlreadyExists:  # made meanwhile by someone else: theirs stays
            done.append(Done("parameter", parameter, "unchanged"))
    return done


def ensure_alarms(aws, stage: str, names: StackNames, alert_topic_arn: str) -> list[Done]:
    """The alarms of ops/alarms.py, notifying the alert topic; put only when new or different."""
    from ops.alarms import alarms

    wanted = [{**alarm, "AlarmActions": [alert_topic_arn]} for alarm in alarms(stage, names)]
    if not wanted:
        return []
    cloudwatch = aws("cloudwatch")
    current = {}
    for start in range(0, len(wanted), 100):  # DescribeAlarms takes at most 100 names
        batch = [alarm["AlarmName"] for alarm in wanted[start:start + 100]]
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=batch, AlarmTypes=["MetricAlarm"]):
            current.update({alarm["AlarmName"]: alarm for alarm in page["MetricAlarms"]})
    done = []
    for alarm in wanted:
        name = alarm["AlarmName"]
        differing = tuple(key for key in alarm if key != "Tags" and not _same_alarm_value(
            current.get(name, {}).get(key), alarm[key]))
        if name in current and not differing:
            done.append(Done("alarm", name, "unchanged"))
            continue
        cloudwatch.put_metric_alarm(**alarm)
        done.append(Done("alarm", name, "updated", differing) if name in current else Done("alarm", name, "created"))
    return done + remove_retired_alarms(aws, stage)


def remove_retired_alarms(aws, stage: str) -> list[Done]:
    """Delete the alarms of handlers renamed away (ops/alarms.py RETIRED_HANDLERS) where they are
    left; a stage that never had them gets no step."""
    from ops.alarms import retired_alarm_names

    retired = retired_alarm_names(stage)
    if not retired:  # DescribeAlarms without names lists every alarm of the account
        return []
    cloudwatch = aws("cloudwatch")
    found = [alarm["AlarmName"] for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=retired)
             for alarm in page["MetricAlarms"]]
    if found:
        cloudwatch.delete_alarms(AlarmNames=found)
    return [Done("alarm", name, "deleted") for name in found]


def ensure_dashboard(aws, stage: str, names: StackNames, region: str, account: str) -> Done:
    """The stage's CloudWatch dashboard (ops/dashboard.py); put only when new or different.
    CloudWatch keeps the body as text: compared parsed, so its formatting does not count."""
    from ops.dashboard import dashboard_body, dashboard_name

    name = dashboard_name(names)
    body = dashboard_body(stage, names, region, account)
    cloudwatch = aws("cloudwatch")
    current = current_dashboard(cloudwatch, name)
    if current == body:
        return Done("dashboard", name, "unchanged")
    answer = cloudwatch.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body, separators=(",", ":")))
    for message in answer.get("DashboardValidationMessages") or []:  # warnings: errors are refused
        print(f"dashboard {name}: {message.get('DataPath', '')} {message.get('Message', '')}", file=sys.stderr)
    return Done("dashboard", name, "created" if current is None else "updated")


def current_dashboard(cloudwatch, name: str) -> dict | None:
    """The dashboard's body as CloudWatch has it, parsed; None when there is no such dashboard."""
    try:
        return json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    except cloudwatch.exceptions.ClientError as error:
        # Its model has two shapes for the code (DashboardNotFoundError, ResourceNotFound): either class.
        if error.response.get("Error", {}).get("Code") in ("ResourceNotFound", "DashboardNotFoundError"):
            return None
        raise


def _same_alarm_value(current, wanted) -> bool:
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool):
        return isinstance(current, (int, float)) and float(current) == float(wanted)
    if isinstance(wanted, list):  # dimensions and actions: order is not meaningful
        key = lambda item: json.dumps(item, sort_keys=True)  # noqa: E731
        return isinstance(current, list) and sorted(map(key, current)) == sorted(map(key, wanted))
    return current == wanted


# --- the whole stage ------------------------------------------------------------------------------

def bootstrap(stage: str, config_path: Path = CONFIG, aws: Clients | None = None) -> list[Done]:
    """Create or update every resource of `stage` and record them in its configuration."""
    aws = aws or Clients()
    _require_region(aws)
    config = read_config(config_path)
    timeout = lambda_timeout(config, stage)
    names = stack_names(stage)
    stack = Stack(names)
    done = [ensure_table(aws, names.table, protect=stage in PROTECTED_STAGES)]
    topics_done, stack.topic_arns = ensure_topics(aws, names.topics)
    done += topics_done
    for topic, service in ((names.ses_notices_topic, "ses.amazonaws.com"),
                           (names.sms_replies_topic, "sms-voice.amazonaws.com")):
        arn = stack.topic_arns[topic]
        done.append(ensure_topic_policy(aws, topic, arn, publish_policy(arn, service)))
    dlq_done, _, dlq_arn = ensure_queue(aws, names.jobs_dlq, DLQ_ATTRIBUTES)
    queue_done, stack.queue_url, _ = ensure_queue(aws, names.jobs_queue, queue_attributes(names, timeout, dlq_arn))
    # Where the asynchronous handlers' failed events go (set on the functions after chalice deploy).
    handlers_dlq_done, _, _ = ensure_queue(aws, names.handlers_dlq, DLQ_ATTRIBUTES)
    done += [dlq_done, queue_done, handlers_dlq_done]
    done.append(ensure_configuration_set(aws, names.ses_configuration_set, stack.topic_arns[names.ses_notices_topic]))
    done.append(ensure_event_bus(aws, names.event_bus))
    done += ensure_parameters(aws, names)
    done += ensure_alarms(aws, stage, names, stack.topic_arns[names.alert_topic])
    # The account from a topic ARN the bootstrap has anyway: the alarms' ARNs need it.
    done.append(ensure_dashboard(aws, stage, names, aws.session.region_name,
                                 stack.topic_arns[names.alert_topic].split(":")[4]))
    done.append(waf.ensure_web_acl(aws, names, waf.limit(stage_environment(config_path, stage)))[0])
    done.append(record(config_path, stage, stack.environment()))
    return done


def deploy(stage: str, config_path: Path = CONFIG, aws: Clients | None = None) -> list[Done]:
    """`chalice deploy`, then what it cannot set on its functions (ops/after_deploy.py)."""
    from ops import after_deploy

    aws = aws or Clients()
    run_chalice("deploy", stage, config_path)
    names = stack_names(stage)
    sqs = aws("sqs")
    jobs_queue, handlers_dlq = (
        sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"],
                                 AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for name in (names.jobs_queue, names.handlers_dlq))
    done = after_deploy.configure(aws, names, jobs_queue, handlers_dlq)
    api_stage = waf.stage_arn(aws.session.region_name, waf.deployed_rest_api(config_path, stage),
                              api_gateway_stage(read_config(config_path), stage))
    return done + [waf.ensure_association(aws, names, api_stage)]


def _require_region(aws: Clients) -> None:
    if not aws.session.region_name:
        sys.exit("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)")


def stage_environment(config_path: Path, stage: str) -> dict[str, str]:
    """The stage's environment variables as Lambda will see them (file-wide, then the stage's)."""
    config = read_config(config_path)
    return {**config.get("environment_variables", {}), **stage_config(config, stage).get("environment_variables", {})}


def run_chalice(command: str, stage: str, config_path: Path = CONFIG) -> None:
    """`chalice deploy|delete --stage <stage>` in the project of `config_path`, its zip compiled
    (ops/bytecode.py). app.py names its queue and topics at import, when chalice reads it, so
    chalice runs with the stage's variables."""
    if importlib.util.find_spec("chalice") is None:
        sys.exit("chalice is not installed: run `make setup`")
    project = Path(config_path).resolve().parent.parent
    here = str(Path(__file__).resolve().parent.parent)  # ops/, wherever the project is
    env = {**os.environ, **stage_environment(config_path, stage),
           "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-m", "ops.bytecode", command, "--stage", stage], cwd=project, env=env)
    if result.returncode:
        sys.exit(f"chalice {command} --stage {stage} failed (exit {result.returncode})")


# --- command line (python -m ops --stage dev bootstrap|destroy) ----------------------------------

CONFIG_HELP = "the chalice config.json to read and record into (default: the project's)"


def add_commands(commands) -> None:
    command = commands.add_parser("bootstrap", help="create or update the stage's AWS resources, then chalice deploy")
    command.add_argument("--no-deploy", dest="chalice", action="store_false",
                         help="only the resources and config.json; no `chalice deploy`")
    command.add_argument("--config", type=Path, default=CONFIG, help=CONFIG_HELP)
    command = commands.add_parser("destroy", help="chalice delete, then remove the stage's resources (not its data)")
    command.add_argument("--delete-data", action="store_true",
                         help="also delete the table and the secrets' parameters")
    command.add_argument("--yes-delete-prod", action="store_true", help="needed with --delete-data on prod")
    command.add_argument("--no-delete-app", dest="chalice", action="store_false",
                         help="leave the chalice app; only remove the resources")
    command.add_argument("--config", type=Path, default=CONFIG, help=CONFIG_HELP)


def main(args) -> int:
    if args.area == "destroy":
        from ops import teardown

        done = teardown.destroy(args.stage, args.config, delete_data=args.delete_data,
                                yes_delete_prod=args.yes_delete_prod, delete_app=args.chalice)
        _print(done)
        return 0
    problems = checks.stage_problems(stage_environment(args.config, args.stage))
    if problems:
        sys.exit(f"stage {args.stage} is not deployable:\n  " + "\n  ".join(problems))
    aws = Clients()
    done = bootstrap(args.stage, args.config, aws)
    _print(done)
    if any(step.kind == "config" and step.action == "updated" for step in done):
        print(f"{args.config} records the stage's resources now: commit it")
    from ops.dashboard import dashboard_url

    print(f"dashboard: {dashboard_url(stack_names(args.stage), aws.session.region_name)}")
    if args.chalice:
        _print(deploy(args.stage, args.config, aws))
    return 0


def _print(done: list[Done]) -> None:
    for step in done:
        print(step)
    print(", ".join(f"{count} {action}" for action, count in Counter(step.action for step in done).items()))
