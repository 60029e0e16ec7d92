"""`python -m ops --stage dev destroy [--delete-data]`: `chalice delete --stage dev`, then remove
what the bootstrap made (ops/bootstrap.py), each step safe to repeat.

Data stays unless asked for: the table, and the secrets' parameters with it, since the suppression
hash key must live as long as the opt-outs hashed with it, and helpdesk secrets are set in the
helpdesks too. On a protected stage (prod) deleting data also needs --yes-delete-prod.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ops import waf
from ops.bootstrap import (
    CONFIG, PROTECTED_STAGES, Clients, Done, current_dashboard, read_config, remove_retired_alarms, run_chalice,
    stage_config,
)
from ops.stack import SECRET_NAMES, StackNames
from ops.stack import names as stack_names


def destroy(stage: str, config_path: Path = CONFIG, aws: Clients | None = None, delete_data: bool = False,
            yes_delete_prod: bool = False, delete_app: bool = True) -> list[Done]:
    stage_config(read_config(config_path), stage)  # refuses local and unknown stages
    if delete_data and stage in PROTECTED_STAGES and not yes_delete_prod:
        sys.exit(f"refusing to delete the data of {stage}: add --yes-delete-prod (DELETE_PROD=1) if you mean it")
    aws = aws or Clients()
    names = stack_names(stage)
    # The app first: its event source mapping and subscriptions point at the queue and topics.
    if delete_app:
        run_chalice("delete", stage, config_path)
    done = [remove_dashboard(aws, names), waf.remove_web_acl(aws, names)]
    done += remove_alarms(aws, stage, names)
    done.append(remove_configuration_set(aws, names.ses_configuration_set))
    done += [remove_queue(aws, name) for name in (names.jobs_queue, names.jobs_dlq, names.handlers_dlq)]
    done += remove_topics(aws, names.topics)
    done.append(remove_event_bus(aws, names.event_bus))
    if delete_data:
        done += remove_parameters(aws, names)
        done.append(remove_table(aws, names.table))
    else:
        done += [Done("parameter", names.parameter(name), "kept") for name in SECRET_NAMES]
        done.append(Done("table", names.table, "kept"))
    return done


def remove_dashboard(aws, names: StackNames) -> Done:
    from ops.dashboard import dashboard_name

    name = dashboard_name(names)
    cloudwatch = aws("cloudwatch")
    if current_dashboard(cloudwatch, name) is None:  # look first: DeleteDashboards refuses a missing name
        return Done("dashboard", name, "absent")
    cloudwatch.delete_dashboards(DashboardNames=[name])
    return Done("dashboard", name, "deleted")


def remove_alarms(aws, stage: str, names: StackNames) -> list[Done]:
    from ops.alarms import alarms

    wanted = [alarm["AlarmName"] for alarm in alarms(stage, names)]
    cloudwatch = aws("cloudwatch")
    existing = set()
    for start in range(0, len(wanted), 100):
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=wanted[start:start + 100]):
            existing.update(alarm["AlarmName"] for alarm in page["MetricAlarms"])
    found = [name for name in wanted if name in existing]
    for start in range(0, len(found), 100):  # DeleteAlarms takes at most 100 names
        cloudwatch.delete_alarms(AlarmNames=found[start:start + 100])
    return [Done("alarm", name, "deleted" if name in existing else "absent") for name in wanted] + (
        remove_retired_alarms(aws, stage))  # a stage destroyed without an upgrade first


def remove_configuration_set(aws, name: str) -> Done:
    ses = aws("ses")
    try:  # look first: the emulator answers a delete of a missing set with a 500
        ses.describe_configuration_set(ConfigurationSetName=name)
    except ses.exceptions.ConfigurationSetDoesNotExistException:
        return Done("configuration set", name, "absent")
    ses.delete_configuration_set(ConfigurationSetName=name)  # its event destinations go with it
    return Done("configuration set", name, "deleted")


def remove_queue(aws, name: str) -> Done:
    sqs = aws("sqs")
    try:
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        return Done("queue", name, "absent")
    return Done("queue", name, "deleted")


def remove_topics(aws, wanted: tuple[str, ...]) -> list[Done]:
    sns = aws("sns")
    existing = {}
    for page in sns.get_paginator("list_topics").paginate():
        existing.update({topic["TopicArn"].rsplit(":", 1)[1]: topic["TopicArn"] for topic in page["Topics"]})
    done = []
    for name in wanted:
        if name in existing:
            sns.delete_topic(TopicArn=existing[name])  # and its subscriptions
        done.append(Done("topic", name, "deleted" if name in existing else "absent"))
    return done


def remove_event_bus(aws, name: str) -> Done:
    """The lifecycle events' bus, with the rules on it (a bus with rules cannot be deleted)."""
    events = aws("events")
    try:
        rules = events.list_rules(EventBusName=name).get("Rules", [])
    except events.exceptions.ResourceNotFoundException:
        return Done("event bus", name, "absent")
    for rule in rules:
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name).get("Targets", [])
        if targets:
            events.remove_targets(Rule=rule["Name"], EventBusName=name, Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=rule["Name"], EventBusName=name)
    events.delete_event_bus(Name=name)
    return Done("event bus", name, "deleted")


def remove_parameters(aws, names: StackNames) -> list[Done]:
    ssm = aws("ssm")
    wanted = [names.parameter(name) for name in SECRET_NAMES]
    answer = ssm.delete_parameters(Names=wanted)
    deleted = set(answer.get("DeletedParameters", []))
    return [Done("parameter", name, "deleted" if name in deleted else "absent") for name in wanted]


def remove_table(aws, name: str) -> Done:
    db = aws("dynamodb")
    try:
        table = db.describe_table(TableName=name)["Table"]
    except db.exceptions.ResourceNotFoundException:
        return Done("table", name, "absent")
    if table.get("DeletionProtectionEnabled"):  # the caller has confirmed (--yes-delete-prod)
        db.update_table(TableName=name, DeletionProtectionEnabled=False)
        db.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    db.delete_table(TableName=name)
    db.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    return Done("table", name, "deleted")
