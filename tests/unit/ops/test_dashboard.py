"""The stage's CloudWatch dashboard (ops/dashboard.py): a valid PutDashboard body within CloudWatch's
limits, whose every graph shows a metric that exists, of this stage's resources."""
from __future__ import annotations

import json
import re

import botocore.session
import pytest
from botocore.validate import validate_parameters

from chalicelib.platform import telemetry
from ops import alarms, dashboard
from ops.stack import names
from tests.conftest import ROOT

STAGES = ("dev", "prod")
REGION = "eu-west-1"
ACCOUNT = "123456789012"
# The metrics of AWS's namespaces the dashboard may show: a typo in a name graphs nothing, silently.
AWS_METRICS = {
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"},
    "AWS/Lambda": {"Errors", "Throttles", "Duration"},
    "AWS/DynamoDB": {"ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents",
                     "WriteThrottleEvents", "ThrottledRequests"},
    "AWS/SES": {"Reputation.BounceRate", "Reputation.ComplaintRate"},
    "AWS/ApiGateway": {"Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"},
}
# CloudWatch's limits (Dashboard Body Structure and Syntax): 500 widgets, a 24-unit-wide grid,
# 1-1000 units high, 100 alarms in an alarm status widget; and, far below CloudWatch's own, 100
# metrics a graph and 100 kB a body, so the dashboard stays one a person can read.
MAX_WIDGETS, MAX_ALARMS, MAX_METRICS, MAX_BYTES = 500, 100, 100, 100_000
RENDERING_OPTIONS = {"label", "color", "stat", "period", "yAxis", "visible", "id", "expression"}


def body(stage: str) -> dict:
    return dashboard.dashboard_body(stage, names(stage), REGION, ACCOUNT)


def graphs(found: dict) -> list[dict]:
    return [w["properties"] for w in found["widgets"] if w["type"] == "metric"]


def metrics(found: dict) -> list[tuple[str, str, dict[str, str], dict]]:
    """Every metric on the dashboard: namespace, name, dimensions, rendering options."""
    shown = []
    for graph in graphs(found):
        for entry in graph["metrics"]:
            if isinstance(entry[0], dict):  # a metric math expression
                continue
            options = entry[-1] if isinstance(entry[-1], dict) else {}
            plain = entry[:-1] if options else entry
            namespace, name, *dimensions = plain
            assert len(dimensions) % 2 == 0, entry
            assert "." not in (namespace, name) and "." not in dimensions, entry  # no shorthand
            shown.append((namespace, name, dict(zip(dimensions[::2], dimensions[1::2])), options))
    return shown


def titled(found: dict, title: str) -> dict:
    (graph,) = [g for g in graphs(found) if g["title"].startswith(title)]
    return graph


@pytest.mark.parametrize("stage", STAGES)
def test_the_name_is_the_stages_and_the_body_a_valid_put_dashboard_call(stage):
    name = dashboard.dashboard_name(names(stage))
    assert name == f"closeloop-{stage}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", name)
    text = json.dumps(body(stage))
    shape = botocore.session.get_session().get_service_model("cloudwatch").operation_model(
        "PutDashboard").input_shape
    validate_parameters({"DashboardName": name, "DashboardBody": text}, shape)
    assert json.loads(text) == body(stage)  # plain JSON: no tuple, no float that does not round-trip
    assert len(text.encode()) < MAX_BYTES


@pytest.mark.parametrize("stage", STAGES)
def test_the_widgets_fit_the_grid_without_overlapping(stage):
    widgets = body(stage)["widgets"]
    assert 0 < len(widgets) <= MAX_WIDGETS
    taken: set[tuple[int, int]] = set()
    for widget in widgets:
        assert widget["type"] in ("metric", "text", "alarm")
        assert all(isinstance(widget[key], int) for key in ("x", "y", "width", "height"))
        assert 1 <= widget["width"] <= 24 and 1 <= widget["height"] <= 1000
        assert widget["x"] >= 0 and widget["y"] >= 0 and widget["x"] + widget["width"] <= 24
        cells = {(x, y) for x in range(widget["x"], widget["x"] + widget["width"])
                 for y in range(widget["y"], widget["y"] + widget["height"])}
        assert not cells & taken, widget.get("properties", {}).get("title")
        taken |= cells


@pytest.mark.parametrize("stage", STAGES)
def test_every_graph_is_titled_in_the_region_and_readable(stage):
    for graph in graphs(body(stage)):
        assert graph["title"].strip() and graph["region"] == REGION
        assert graph["view"] == "timeSeries" and graph["period"] in (60, 300, 3600)
        assert 0 < len(graph["metrics"]) <= MAX_METRICS
        for entry in graph["metrics"]:
            options = entry[-1] if isinstance(entry[-1], dict) else {}
            assert set(options) <= RENDERING_OPTIONS, options
            assert options.get("label"), entry  # a legend a person can read, not a dimension value
            assert "stat" in graph or "stat" in options or "expression" in options, entry


@pytest.mark.parametrize("stage", STAGES)
def test_every_metric_exists_and_belongs_to_the_stage(stage):
    stack = names(stage)
    functions = set(alarms.function_names(stage))
    queues = {stack.jobs_queue, stack.jobs_dlq, stack.handlers_dlq}
    for namespace, name, dimensions, _ in metrics(body(stage)):
        if namespace == telemetry.NAMESPACE:
            assert name in telemetry.METRICS and dimensions == {"Stage": stage}
            continue
        assert name in AWS_METRICS[namespace], (namespace, name)
        expected = {"AWS/SQS": lambda d: set(d) == {"QueueName"} and d["QueueName"] in queues,
                    "AWS/Lambda": lambda d: set(d) == {"FunctionName"} and d["FunctionName"] in functions,
                    "AWS/DynamoDB": lambda d: d == {"TableName": stack.table},
                    "AWS/SES": lambda d: d == {},  # the account's reputation, as the alarms watch it
                    "AWS/ApiGateway": lambda d: d == {"ApiName": "closeloop", "Stage": "api"}}[namespace]
        assert expected(dimensions), (namespace, name, dimensions)
    assert f"closeloop-{'prod' if stage == 'dev' else 'dev'}" not in json.dumps(body(stage))


def test_every_metric_the_app_counts_is_on_the_dashboard():
    shown = {name for namespace, name, _, _ in metrics(body("dev")) if namespace == telemetry.NAMESPACE}
    assert shown == set(telemetry.METRICS)
    funnel = titled(body("dev"), "Survey funnel")
    assert [entry[1] for entry in funnel["metrics"]] == [
        "SurveysAccepted", "SurveysSent", "Responses", "SurveysSuppressed", "SurveysFailed"]


def test_every_function_has_its_errors_throttles_and_p95_duration():
    found = body("dev")
    for title, metric, stat in (("Lambda errors", "Errors", "Sum"), ("Lambda throttles", "Throttles", "Sum"),
                                ("Lambda duration", "Duration", "p95")):
        graph = titled(found, title)
        assert graph["stat"] == stat
        assert [(entry[1], entry[3]) for entry in graph["metrics"]] == [
            (metric, function) for function in alarms.function_names("dev")]


def test_the_queues_show_depth_age_and_both_dead_letter_queues():
    shown = {(name, dimensions["QueueName"]) for namespace, name, dimensions, _ in metrics(body("dev"))
             if namespace == "AWS/SQS"}
    dev = names("dev")
    assert shown == {("ApproximateNumberOfMessagesVisible", dev.jobs_queue),
                     ("ApproximateAgeOfOldestMessage", dev.jobs_queue),
                     ("ApproximateNumberOfMessagesVisible", dev.jobs_dlq),
                     ("ApproximateNumberOfMessagesVisible", dev.handlers_dlq)}


def test_the_table_throttles_sum_every_operation_of_the_stages_table():
    graph = titled(body("prod"), "Table closeloop-prod: throttled")
    (expression,) = [entry[0] for entry in graph["metrics"] if isinstance(entry[0], dict)]
    assert re.fullmatch(r"[a-z][A-Za-z0-9_]*", expression["id"])  # CloudWatch's rule for an id
    assert 'MetricName="ThrottledRequests"' in expression["expression"]
    assert 'TableName="closeloop-prod"' in expression["expression"]
    assert "{AWS/DynamoDB,Operation,TableName}" in expression["expression"]


def test_the_ses_graphs_draw_the_alarms_thresholds():
    by_metric = {a["MetricName"]: a for a in alarms.alarms("dev", names("dev")) if a["Namespace"] == "AWS/SES"}
    for title, metric in (("SES bounce rate", "Reputation.BounceRate"),
                          ("SES complaint rate", "Reputation.ComplaintRate")):
        graph = titled(body("dev"), title)
        assert [entry[1] for entry in graph["metrics"]] == [metric]
        (line,) = graph["annotations"]["horizontal"]
        assert line["value"] == by_metric[metric]["Threshold"]
        assert (graph["stat"], graph["period"]) == (by_metric[metric]["Statistic"], by_metric[metric]["Period"])
    assert titled(body("dev"), "SES bounce rate")["annotations"]["horizontal"][0]["value"] == alarms.BOUNCE_RATE


def test_the_api_is_chalices_rest_api_on_the_configured_stage():
    from app import app

    assert dashboard.API_NAME == app.app_name  # chalice names the REST API after the app, every stage
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage in STAGES:
        assert config["stages"][stage].get("api_gateway_stage", config.get("api_gateway_stage", "api")) == \
            dashboard.API_STAGE
    shown = {name for namespace, name, _, _ in metrics(body("dev")) if namespace == "AWS/ApiGateway"}
    assert shown == {"Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_alarm_status_lists_every_alarm_of_the_stage(stage):
    (widget,) = [w for w in body(stage)["widgets"] if w["type"] == "alarm"]
    arns = widget["properties"]["alarms"]
    assert 0 < len(arns) <= MAX_ALARMS
    assert arns == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{a['AlarmName']}"
                    for a in alarms.alarms(stage, names(stage))]


def test_the_body_leaves_nothing_for_fn_sub_but_region_and_account():
    text = json.dumps(dashboard.dashboard_body("dev", names("dev"), "${AWS::Region}", "${AWS::AccountId}"))
    assert set(re.findall(r"\$\{[^}]*\}", text)) == {"${AWS::Region}", "${AWS::AccountId}"}
    assert "${" not in json.dumps(body("dev"))
