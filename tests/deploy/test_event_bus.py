"""The lifecycle events' bus of a stage: the bootstrap makes it and records its name, once; destroy
removes it with the rules a team put on it."""
from __future__ import annotations

import json

from ops.bootstrap import bootstrap
from ops.teardown import destroy
from tests.deploy.conftest import client


def _buses() -> set[str]:
    return {bus["Name"] for bus in client("events").list_event_buses()["EventBuses"]}


def test_the_bootstrap_makes_the_bus_once_and_records_it(aws, config_path):
    first = bootstrap("dev", config_path, aws)
    again = bootstrap("dev", config_path, aws)

    assert "closeloop-dev-events" in _buses()
    recorded = json.loads(config_path.read_text())["stages"]["dev"]["environment_variables"]
    assert recorded["CLOSELOOP_EVENT_BUS_NAME"] == "closeloop-dev-events"
    assert [str(d) for d in first if d.kind == "event bus"] == ["created   event bus closeloop-dev-events"]
    assert [str(d) for d in again if d.kind == "event bus"] == ["unchanged event bus closeloop-dev-events"]


def test_destroy_removes_the_bus_and_the_rules_on_it(aws, config_path):
    bootstrap("dev", config_path, aws)
    events, sqs = client("events"), client("sqs")
    queue_url = sqs.create_queue(QueueName="team-copy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="to-jira", EventBusName="closeloop-dev-events",
                    EventPattern=json.dumps({"source": ["closeloop"]}))
    events.put_targets(Rule="to-jira", EventBusName="closeloop-dev-events", Targets=[{"Id": "q", "Arn": arn}])

    done = destroy("dev", config_path, aws, delete_app=False)
    again = destroy("dev", config_path, aws, delete_app=False)

    assert "closeloop-dev-events" not in _buses()
    assert [d.action for d in done if d.kind == "event bus"] == ["deleted"]
    assert [d.action for d in again if d.kind == "event bus"] == ["absent"]
