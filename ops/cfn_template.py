"""The CloudFormation merge template of a stage, for `chalice package --merge-template`.

`make package STAGE=dev` writes it to dist/merge-template.json and has chalice merge it into the
SAM template it generates (dist/sam.json). It is generated, never edited by hand, from the sources
the rest of closeloop uses, so the CloudFormation path cannot drift from the bootstrap:

- names from ops/stack.py, the table from chalicelib.storage (TABLE_DEFINITION, TTL_ATTRIBUTE: the
  one the local stack and the tests create), queue attributes, the stream, the SES event types,
  the topics' publish policies and the protected stages from ops/bootstrap.py, the alarms from
  ops/alarms.py, the handlers and routes from app.py itself;
- chalice's own logical ids (chalice.utils.to_cfn_resource_name, the rule `chalice package` names
  its resources by), so that what this template adds to a function lands on that function.
  tests/packaging/test_merge_template.py packages the app with it and runs cfn-lint on the result.

What it declares: the table (stream, TTL, point-in-time recovery, kept when the stack goes), the
SNS topics (with the policies that let SES and End User Messaging publish), the jobs queue and its
dead-letter queue, a dead-letter queue for the asynchronous handlers, the SES configuration set
and its bounce/complaint destination, the lifecycle events' bus, the alarms, the dashboard
(ops/dashboard.py), the web ACL that limits each client on the public pages and its association
with the API's stage (ops/waf.py). What it changes in chalice's resources: function names (chalice
deploy's, which the IAM policy and the alarms name), environment variables that point at these resources instead of the placeholders
in .chalice/config.json, the jobs handler's event source (ReportBatchItemFailures, the queue by
reference), the SNS subscriptions (the topics by reference), on-failure destinations for the
asynchronous handlers, and API Gateway throttling (the ceiling over all clients).
Not the functions' architecture: chalice picks the compiled wheels of the zip (pydantic-core) by
`lambda_architecture` in .chalice/config.json and writes the same into the template; saying arm64
here over an x86_64 zip would break every function at its first import.

Chalice merges dict into dict and lets this template's value win anywhere else (lists and strings
are replaced whole), so an intrinsic function is overridden with the same key (`Fn::Sub`), never
with another one that would sit beside chalice's in one dict.

SSM SecureString parameters (the secrets) are not here: CloudFormation cannot create SecureStrings.
The operator creates them once per stage (`aws ssm put-parameter --type SecureString`, names
`<parameter_prefix><name>` for each of ops.stack.SECRET_NAMES); the functions read them at run time.
Not the whole bootstrap: it would create the table, queues and topics by API, and the stack's
resources of the same names would then fail to create.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from chalice.app import ScheduledEventConfig, SNSEventConfig, SQSEventConfig
from chalice.utils import to_cfn_resource_name

from chalicelib.platform.settings import Settings
from chalicelib.storage.schema import TABLE_DEFINITION
from chalicelib.storage.table import TTL_ATTRIBUTE
from ops import alarms as stage_alarms
from ops import bootstrap
from ops import dashboard as stage_dashboard
from ops import waf
from ops.stack import APP, StackNames
from ops.stack import names as stack_names

# Logical ids of what this template declares.
TABLE = "Table"
JOBS_QUEUE = "JobsQueue"
JOBS_DLQ = "JobsDeadLetterQueue"
HANDLERS_DLQ = "HandlersDeadLetterQueue"
HANDLERS_DLQ_POLICY = "HandlersDeadLetterQueueSendPolicy"
ALERT_TOPIC = "AlertTopic"
ESCALATION_TOPIC = "EscalationTopic"
SES_NOTICES_TOPIC = "SesNoticesTopic"
EVENT_BUS = "EventBus"  # the lifecycle events' bus (chalicelib/events/)
SMS_REPLIES_TOPIC = "SmsRepliesTopic"
SES_CONFIGURATION_SET = "SesConfigurationSet"
SES_EVENT_DESTINATION = "SesNoticesEventDestination"
DASHBOARD = "Dashboard"
WEB_ACL = "PublicWebAcl"
WEB_ACL_ASSOCIATION = "PublicWebAclAssociation"
# chalice's fixed names for the API handler function and the REST API.
API_HANDLER = "APIHandler"
REST_API = "RestAPI"

# An SQS attribute the bootstrap sets that this template must point at its own resource instead.
_DLQ_ARN = "arn:placeholder:dead-letter-queue"

# Asynchronous invocations (SNS deliveries, the schedule): Lambda retries a failed one this many
# times, then sends the event to the handlers' dead-letter queue. The SNS handlers are idempotent
# (the ledger keeps a contact once; an SMS reply is handled once per inboundMessageId), so retries
# are safe; an event older than the age limit is not worth acting on any more.
SNS_HANDLER_RETRIES = 2
SNS_HANDLER_MAX_EVENT_AGE_SECONDS = 6 * 3600
# The escalation runs every minute and reads what is due each time: the next run is its retry.
# Its failures still go to the dead-letter queue, so a run that keeps failing is seen.
SCHEDULE_RETRIES = 0
SCHEDULE_MAX_EVENT_AGE_SECONDS = 120

PUBLIC_PATHS = waf.PUBLIC_PATHS


@dataclass(frozen=True)
class Throttle:
    """API Gateway throttling of a method: steady requests per second and the burst above it.
    Limits are per stage and method, summed over all callers: the ceiling; each client's own
    limit is the web ACL's (ops/waf.py)."""
    rate: float
    burst: int


# Public pages: a person clicks once or twice; far more than this is a flood or a scanner swarm,
# and it should hit API Gateway's 429 before it reaches Lambda and DynamoDB.
PUBLIC_THROTTLE = Throttle(rate=50, burst=100)
# Everything else (the admin API, helpdesk webhooks, the dashboard).
DEFAULT_THROTTLE = Throttle(rate=100, burst=200)


@dataclass(frozen=True)
class Function:
    """A Lambda function chalice generates for app.py: its logical id, the name `chalice deploy`
    gives it, and how events reach it."""
    logical_id: str
    name: str
    handler: str                      # the function's name in app.py
    kind: str                         # "api", "authorizer", "sqs", "sns", "schedule"
    event: Optional[str] = None       # the logical id of its event in the SAM template
    source: Optional[str] = None      # the queue or topic it reads


def functions(app, stage: str) -> list[Function]:
    """Every Lambda function of `app`, named as chalice names them (chalice/deploy/appgraph.py)."""
    prefix = f"{APP}-{stage}"
    found = [Function(API_HANDLER, prefix, "api_handler", "api")]
    for auth in app.builtin_auth_handlers:
        found.append(Function(to_cfn_resource_name(auth.name), f"{prefix}-{auth.name}", auth.name, "authorizer"))
    for source in app.event_sources:
        logical_id = to_cfn_resource_name(source.name)
        name = f"{prefix}-{source.name}"
        if isinstance(source, SQSEventConfig):
            found.append(Function(logical_id, name, source.name, "sqs",
                                  to_cfn_resource_name(f"{source.name}-sqs-event-source"), source.queue))
        elif isinstance(source, SNSEventConfig):
            found.append(Function(logical_id, name, source.name, "sns",
                                  to_cfn_resource_name(f"{source.name}-sns-subscription"), source.topic))
        elif isinstance(source, ScheduledEventConfig):
            found.append(Function(logical_id, name, source.name, "schedule",
                                  to_cfn_resource_name(f"{source.name}-event")))
        else:  # a new kind of handler needs its retries and failure destination decided here
            raise ValueError(f"no CloudFormation wiring for {type(source).__name__} {source.name}")
    return found


def role_id(function: Function) -> str:
    """The IAM role chalice makes per function when the stage has its own policy file."""
    return to_cfn_resource_name(f"{function.handler}_role")


def build(stage: str, app=None, public: Throttle = PUBLIC_THROTTLE, default: Throttle = DEFAULT_THROTTLE,
          config_path: Path = bootstrap.CONFIG) -> dict:
    """The merge template of `stage`."""
    if app is None:
        from app import app  # noqa: PLC0415 - app.py reads the environment when imported; only here
    names = stack_names(stage)
    handlers = functions(app, stage)
    config = bootstrap.read_config(config_path)
    timeout = bootstrap.lambda_timeout(config, stage)
    resources: dict[str, Any] = {}
    resources.update(_table(names, protect=stage in bootstrap.PROTECTED_STAGES))
    resources.update(_queues(names, timeout))
    resources.update(_topics(names))
    resources.update(_ses(names))
    resources[EVENT_BUS] = {"Type": "AWS::Events::EventBus", "Properties": {"Name": names.event_bus}}
    resources.update(_functions(names, handlers))
    resources.update(_failure_destinations(handlers))
    resources[REST_API] = {"Properties": {"MethodSettings": method_settings(app, public, default)}}
    resources.update(_alarms(stage, names))
    resources.update(_dashboard(stage, names))
    resources.update(_web_acl(names, waf.limit(bootstrap.stage_environment(config_path, stage)),
                              bootstrap.api_gateway_stage(config, stage)))
    return {"Resources": resources, "Outputs": _outputs()}


def _table(names: StackNames, protect: bool) -> dict:
    definition = copy.deepcopy(TABLE_DEFINITION)
    return {TABLE: {
        "Type": "AWS::DynamoDB::Table",
        # The table is the product's data: deleting the stack or a change that replaces the table
        # leaves it in place (restore or re-attach by name) instead of dropping every survey.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "TableName": names.table,
            **definition,
            "StreamSpecification": {"StreamViewType": bootstrap.STREAM["StreamViewType"]},
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": protect,
        },
    }}


def _queue(name: str, attributes: dict[str, str], dead_letter_queue: Optional[str] = None) -> dict:
    """The queue the bootstrap makes, from its SetQueueAttributes strings: CloudFormation wants
    numbers, booleans and a RedrivePolicy object pointing at the template's dead-letter queue."""
    properties: dict[str, Any] = {"QueueName": name}
    for key, value in attributes.items():
        if key == "RedrivePolicy":
            redrive = json.loads(value)
            if redrive["deadLetterTargetArn"] != _DLQ_ARN or dead_letter_queue is None:
                raise ValueError(f"{name}: a redrive policy this template cannot point at its own queue")
            properties[key] = {**redrive, "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_queue, "Arn"]}}
        elif value in ("true", "false"):
            properties[key] = value == "true"
        else:
            properties[key] = int(value) if value.isdigit() else value
    # Said explicitly (cfn-lint asks it of stateful resources): a queue goes with the stack, as
    # the functions that read it do; nothing in it outlives them (jobs are retried by the app).
    return {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
            "Properties": properties}


def _queues(names: StackNames, lambda_timeout: int) -> dict:
    return {
        JOBS_DLQ: _queue(names.jobs_dlq, bootstrap.DLQ_ATTRIBUTES),
        JOBS_QUEUE: _queue(names.jobs_queue, bootstrap.queue_attributes(names, lambda_timeout, _DLQ_ARN), JOBS_DLQ),
        HANDLERS_DLQ: _queue(names.handlers_dlq, bootstrap.DLQ_ATTRIBUTES),
    }


def _topics(names: StackNames) -> dict:
    topics = {ALERT_TOPIC: names.alert_topic, ESCALATION_TOPIC: names.escalation_topic,
              SES_NOTICES_TOPIC: names.ses_notices_topic, SMS_REPLIES_TOPIC: names.sms_replies_topic}
    resources = {logical_id: {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}
                 for logical_id, name in topics.items()}
    # SES (the configuration set's destination) and End User Messaging (inbound SMS) publish to
    # these topics as services: the bootstrap's policy, written for a stand-in topic ARN whose
    # parts become references here.
    publishers = ((SES_NOTICES_TOPIC, "ses.amazonaws.com"), (SMS_REPLIES_TOPIC, "sms-voice.amazonaws.com"))
    for logical_id, service in publishers:
        arn = f"arn:aws:sns:{_STAND_IN_REGION}:{_STAND_IN_ACCOUNT}:{topics[logical_id]}"
        policy = _referenced(bootstrap.publish_policy(arn, service),
                             {arn: {"Ref": logical_id}, _STAND_IN_ACCOUNT: {"Ref": "AWS::AccountId"}})
        resources[f"{logical_id}Policy"] = {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": logical_id}], "PolicyDocument": policy}}
    return resources


_STAND_IN_REGION = "stand-in-region"
_STAND_IN_ACCOUNT = "000000000000"


def _referenced(value: Any, references: dict[str, Any]) -> Any:
    """`value` with every string that is a key of `references` replaced by its reference."""
    if isinstance(value, dict):
        return {key: _referenced(item, references) for key, item in value.items()}
    if isinstance(value, list):
        return [_referenced(item, references) for item in value]
    if isinstance(value, str) and value in references:
        return references[value]
    if isinstance(value, str) and (_STAND_IN_ACCOUNT in value or _STAND_IN_REGION in value):
        raise ValueError(f"a stand-in left in the template: {value!r}")  # the policy grew a part to map
    return value


def _ses(names: StackNames) -> dict:
    return {
        SES_CONFIGURATION_SET: {"Type": "AWS::SES::ConfigurationSet",
                                "Properties": {"Name": names.ses_configuration_set}},
        SES_EVENT_DESTINATION: {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            # The topic must accept SES's publications before SES checks the destination.
            "DependsOn": [f"{SES_NOTICES_TOPIC}Policy"],
            "Properties": {
                "ConfigurationSetName": {"Ref": SES_CONFIGURATION_SET},
                "EventDestination": {
                    "Name": f"{names.ses_configuration_set}-notices",  # the bootstrap's name for it
                    "Enabled": True,
                    # What chalicelib/contacts/bounces.py acts on (it reads this eventType format).
                    "MatchingEventTypes": list(bootstrap.SES_EVENT_TYPES),
                    "SnsDestination": {"TopicARN": {"Ref": SES_NOTICES_TOPIC}},
                },
            },
        },
    }


def environment(names: StackNames) -> dict:
    """What the bootstrap records in the stage's configuration, the ARNs and URLs as references:
    CloudFormation then creates a resource before the functions that use it, and no account id or
    region is written down."""
    settings = {
        "table_name": {"Ref": TABLE},
        "jobs_queue_url": {"Ref": JOBS_QUEUE},             # a queue's Ref is its URL
        "alert_topic_arn": {"Ref": ALERT_TOPIC},           # a topic's Ref is its ARN
        "escalation_topic_arn": {"Ref": ESCALATION_TOPIC},
        "ses_configuration_set": {"Ref": SES_CONFIGURATION_SET},
        "secrets_parameter_prefix": names.parameter_prefix,
        "event_bus_name": {"Ref": EVENT_BUS},           # a bus's Ref is its name
    }
    unknown = sorted(set(settings) - set(Settings.model_fields))
    if unknown:  # the app would never read it: a renamed setting
        raise ValueError(f"not settings of chalicelib.config: {unknown}")
    return {
        **{f"CLOSELOOP_{name.upper()}": value for name, value in settings.items()},
        # app.py reads these when imported (the names chalice wires the handlers to); the template
        # wires the events itself, but the app sees the same values as after the bootstrap.
        "CLOSELOOP_JOBS_QUEUE_NAME": names.jobs_queue,
        "CLOSELOOP_SES_NOTICES_TOPIC_NAME": names.ses_notices_topic,
        "CLOSELOOP_SMS_REPLIES_TOPIC_NAME": names.sms_replies_topic,
    }


def _functions(names: StackNames, handlers: list[Function]) -> dict:
    topics = {"ses_notices": SES_NOTICES_TOPIC, "sms_replies": SMS_REPLIES_TOPIC}
    variables = environment(names)
    resources = {}
    for function in handlers:
        properties: dict[str, Any] = {"FunctionName": function.name, "Environment": {"Variables": variables}}
        if function.kind == "sqs":
            properties["Events"] = {function.event: {"Properties": {
                "Queue": {"Fn::Sub": "${%s.Arn}" % JOBS_QUEUE},
                # The handler answers batchItemFailures (chalicelib/platform/jobs.py: run_batch): only those
                # records come back; after MAX_RECEIVE_COUNT receives one goes to the DLQ.
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            }}}
        elif function.kind == "sns":
            properties["Events"] = {function.event: {"Properties": {
                "Topic": {"Fn::Sub": "${%s}" % _topic_of(function, topics)}}}}
        resources[function.logical_id] = {"Properties": properties}
    return resources


def _topic_of(function: Function, topics: dict[str, str]) -> str:
    """The topic resource an SNS handler reads: app.py names its topic `closeloop[-<stage>]-<what>`."""
    for what, logical_id in topics.items():
        if function.source and function.source.endswith(what.replace("_", "-")):
            return logical_id
    raise ValueError(f"{function.handler} reads topic {function.source!r}, which this template does not declare")


def _failure_destinations(handlers: list[Function]) -> dict:
    asynchronous = [f for f in handlers if f.kind in ("sns", "schedule")]
    resources: dict[str, Any] = {HANDLERS_DLQ_POLICY: {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "handlers-dead-letter-queue",
            # Lambda sends a failed event with the function's own role.
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": [HANDLERS_DLQ, "Arn"]}}]},
            "Roles": [{"Ref": role_id(f)} for f in asynchronous],
        },
    }}
    for function in asynchronous:
        retries, age = ((SNS_HANDLER_RETRIES, SNS_HANDLER_MAX_EVENT_AGE_SECONDS) if function.kind == "sns"
                        else (SCHEDULE_RETRIES, SCHEDULE_MAX_EVENT_AGE_SECONDS))
        resources[f"{function.logical_id}EventInvokeConfig"] = {
            "Type": "AWS::Lambda::EventInvokeConfig",
            # Lambda checks that the role may send to the destination when the config is made.
            "DependsOn": [HANDLERS_DLQ_POLICY],
            "Properties": {
                "FunctionName": {"Ref": function.logical_id},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": retries,
                "MaximumEventAgeInSeconds": age,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [HANDLERS_DLQ, "Arn"]}}},
            },
        }
    return resources


def _encode(path: str) -> str:
    # API Gateway's method settings name a resource by its path with each "/" written "~1", after
    # a leading "/" of their own: /s/{token} is /~1s~1{token}.
    return "/" + path.replace("/", "~1")


def is_public(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS)


def method_settings(app, public: Throttle, default: Throttle) -> list[dict]:
    """A default for every method, then the public routes' own limit, method by method."""
    def setting(path: str, method: str, throttle: Throttle) -> dict:
        return {"ResourcePath": path, "HttpMethod": method,
                "ThrottlingRateLimit": throttle.rate, "ThrottlingBurstLimit": throttle.burst}

    settings = [setting("/*", "*", default)]
    for path in sorted(p for p in app.routes if is_public(p)):
        for method in sorted(app.routes[path]):
            settings.append(setting(_encode(path), method, public))
    return settings


def _alarms(stage: str, names: StackNames) -> dict:
    """ops/alarms.py's alarms (put_metric_alarm arguments, the same properties in CloudFormation)
    acting on the alert topic."""
    resources = {}
    prefix = f"{APP}-{stage}-"
    for alarm in stage_alarms.alarms(stage, names):
        logical_id = to_cfn_resource_name(alarm["AlarmName"].removeprefix(prefix)) + "Alarm"
        properties = {key: value for key, value in alarm.items() if not (key == "Dimensions" and not value)}
        properties["AlarmActions"] = [{"Ref": ALERT_TOPIC}]
        resources[logical_id] = {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}
    return resources


# What the dashboard's body may leave for Fn::Sub: the stack's region and account, nothing else.
_PSEUDO_PARAMETERS = {"region": "${AWS::Region}", "account": "${AWS::AccountId}"}


def _dashboard(stage: str, names: StackNames) -> dict:
    """The bootstrap's dashboard, its region and account (in the alarms' ARNs) filled in by Fn::Sub."""
    text = json.dumps(stage_dashboard.dashboard_body(stage, names, **_PSEUDO_PARAMETERS), separators=(",", ":"))
    leftover = text
    for parameter in _PSEUDO_PARAMETERS.values():
        leftover = leftover.replace(parameter, "")
    if "${" in leftover:  # Fn::Sub would read it as a reference
        raise ValueError("the dashboard body has a ${...} that is not the stack's region or account")
    return {DASHBOARD: {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": stage_dashboard.dashboard_name(names),
        "DashboardBody": {"Fn::Sub": text},
    }}}


def _web_acl(names: StackNames, requests_per_window: int, api_stage: str) -> dict:
    """ops/waf.py's web ACL, associated with the API's stage. SAM names the stage it makes
    `<api><stage name>Stage`; the association must wait for it (the API alone is not enough)."""
    return {
        WEB_ACL: {"Type": "AWS::WAFv2::WebACL", "Properties": waf.web_acl(names, requests_per_window)},
        WEB_ACL_ASSOCIATION: {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "DependsOn": [f"{REST_API}{api_stage}Stage"],
            "Properties": {
                "ResourceArn": {"Fn::Sub": waf.stage_arn("${AWS::Region}", "${%s}" % REST_API, api_stage)},
                "WebACLArn": {"Fn::GetAtt": [WEB_ACL, "Arn"]},
            },
        },
    }


def _outputs() -> dict:
    def output(value: Any) -> dict:
        return {"Value": value}

    return {
        "TableName": output({"Ref": TABLE}),
        "TableStreamArn": output({"Fn::GetAtt": [TABLE, "StreamArn"]}),
        "JobsQueueUrl": output({"Ref": JOBS_QUEUE}),
        "JobsDeadLetterQueueUrl": output({"Ref": JOBS_DLQ}),
        "HandlersDeadLetterQueueUrl": output({"Ref": HANDLERS_DLQ}),
        "AlertTopicArn": output({"Ref": ALERT_TOPIC}),
        "EscalationTopicArn": output({"Ref": ESCALATION_TOPIC}),
        "SesNoticesTopicArn": output({"Ref": SES_NOTICES_TOPIC}),
        "SmsRepliesTopicArn": output({"Ref": SMS_REPLIES_TOPIC}),
        "SesConfigurationSetName": output({"Ref": SES_CONFIGURATION_SET}),
        "EventBusName": output({"Ref": EVENT_BUS}),
        "PublicWebAclArn": output({"Fn::GetAtt": [WEB_ACL, "Arn"]}),
    }


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.cfn_template", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--output", type=Path, help="file to write (default: standard output)")
    parser.add_argument("--public-rate", type=float, default=PUBLIC_THROTTLE.rate,
                        help="requests/s on the public survey and sign-in routes (per method, all callers)")
    parser.add_argument("--public-burst", type=int, default=PUBLIC_THROTTLE.burst)
    parser.add_argument("--default-rate", type=float, default=DEFAULT_THROTTLE.rate,
                        help="requests/s on every other method")
    parser.add_argument("--default-burst", type=int, default=DEFAULT_THROTTLE.burst)
    args = parser.parse_args(argv)
    template = build(args.stage, public=Throttle(args.public_rate, args.public_burst),
                     default=Throttle(args.default_rate, args.default_burst))
    text = json.dumps(template, indent=2, sort_keys=True) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)


if __name__ == "__main__":
    main()
