"""The CloudWatch dashboard of a stage, as data: `dashboard_body` is the DashboardBody JSON (a dict)
that the bootstrap puts (PutDashboard, only when it differs from what GetDashboard answers) and
the CloudFormation merge template declares (AWS::CloudWatch::Dashboard), so both show one thing.

Names come from the places that decide them: the stage's resources from ops/stack.py, the Lambda
functions and the alarms from ops/alarms.py, the app's own metrics (namespace "closeloop",
dimension Stage) from chalicelib/platform/telemetry.py's METRICS. tests/unit/ops/test_dashboard.py checks that
every metric on it is one of those, for this stage's resources.

The rows, top to bottom: the alarms; what happens to surveys (the funnel, machine opens, overdue
follow-ups); detractors and what they set off, the jobs queue and the dead-letter queues; the
Lambda functions; the table and SES's reputation; the API. docs/operations.md's "Reading the CloudWatch dashboard"
says what each shows and what to look for.
"""
from __future__ import annotations

from typing import Any

from ops import alarms as stage_alarms
from ops.stack import APP, StackNames

# Chalice names the REST API after app_name (chalice/deploy/swagger.py: info.title) in every stage,
# and deploys it to api_gateway_stage (.chalice/config.json; chalice's default too). API Gateway's
# metrics are per ApiName and Stage: two stages in one account share this pair.
API_NAME = APP
API_STAGE = "api"
# The app's metrics (chalicelib/platform/telemetry.py: NAMESPACE; ops/alarms.py watches the same).
NAMESPACE = stage_alarms.NAMESPACE
# What the dashboard opens on (the console's time picker changes it for the viewer only).
START = "-PT24H"
_WIDTH = 24  # CloudWatch's dashboard grid is 24 units wide
_FIVE_MINUTES = 300
_HOUR = 3600
# Colours that mean the same thing on every graph.
_BAD = "#d62728"
_GOOD = "#2ca02c"

# The survey funnel: in, out, answered; then the two ways a survey does not go out.
FUNNEL = ("SurveysAccepted", "SurveysSent", "Responses", "SurveysSuppressed", "SurveysFailed")
FOLLOW_UPS = ("Detractors", "Alerts", "AlertsRetracted", "Escalations", "Kudos")


def dashboard_name(names: StackNames) -> str:
    """`closeloop-<stage>`: dashboards are global to the account, so the stage is in the name."""
    return f"{APP}-{names.stage}"


def dashboard_url(names: StackNames, region: str) -> str:
    """Where an operator reads it in the console."""
    return (f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards/dashboard/{dashboard_name(names)}")


def dashboard_body(stage: str, names: StackNames, region: str, account: str) -> dict:
    """The dashboard of `stage`; `names` is ops.stack.names(stage). `region` is where its metrics
    are; `account` (with `region`) makes the alarms' ARNs, which the alarm status widget needs.
    The CloudFormation template passes "${AWS::Region}" and "${AWS::AccountId}" for Fn::Sub."""
    functions = stage_alarms.function_names(stage)
    found = stage_alarms.alarms(stage, names)
    rows: list[list[tuple[int, int, dict]]] = [
        [(24, 2, _text(stage, names))],
        [(24, 4, _alarm_status(found, region, account))],
        [(12, 6, _app_metrics(stage, region, "Survey funnel (per period)", FUNNEL)),
         (6, 6, _app_metrics(stage, region, "Automated opens (scanners, not people)", ("AutomatedOpens",))),
         (6, 6, _overdue(stage, region))],
        [(8, 6, _app_metrics(stage, region, "Detractors, alerts, escalations, kudos", FOLLOW_UPS)),
         (8, 6, _jobs_queue(names, region)),
         (8, 6, _dead_letter_queues(names, region))],
        [(8, 6, _per_function(region, functions, "Lambda errors", "Errors", "Sum")),
         (8, 6, _per_function(region, functions, "Lambda throttles", "Throttles", "Sum")),
         (8, 6, _per_function(region, functions, "Lambda duration p95 (ms)", "Duration", "p95"))],
        [(8, 6, _table_capacity(names, region)),
         (8, 6, _table_throttles(names, region)),
         (4, 6, _ses_rate(found, region, "Reputation.BounceRate", "SES bounce rate")),
         (4, 6, _ses_rate(found, region, "Reputation.ComplaintRate", "SES complaint rate"))],
        [(12, 6, _api_requests(region)),
         (12, 6, _api_latency(region))],
    ]
    widgets, y = [], 0
    for row in rows:
        x = 0
        for width, height, widget in row:
            widgets.append({**widget, "x": x, "y": y, "width": width, "height": height})
            x += width
        if x > _WIDTH:
            raise ValueError(f"a dashboard row is {x} units wide; the grid has {_WIDTH}")
        y += max(height for _, height, _ in row)
    return {"start": START, "periodOverride": "auto", "widgets": widgets}


# --- widgets --------------------------------------------------------------------------------------

def _text(stage: str, names: StackNames) -> dict:
    return {"type": "text", "properties": {"markdown": (
        f"## closeloop {stage}\n"
        f"Made from `ops/dashboard.py` by `python -m ops --stage {stage} bootstrap` (or the merge template): "
        "a change made here in the console is undone by the next bootstrap or stack update. "
        f"Table `{names.table}`, jobs queue `{names.jobs_queue}`. "
        "What each graph shows and what to look for: docs/operations.md, \"Reading the CloudWatch dashboard\".")}}


def _alarm_status(found: list[dict], region: str, account: str) -> dict:
    return {"type": "alarm", "properties": {
        "title": "Alarms (ops/alarms.py): red is firing, grey has no data",
        "alarms": [f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm['AlarmName']}" for alarm in found],
        "sortBy": "stateUpdatedTimestamp",
    }}


def _graph(region: str, title: str, metrics: list[list], **properties: Any) -> dict:
    return {"type": "metric", "properties": {
        "title": title, "region": region, "view": "timeSeries", "stacked": False,
        "metrics": metrics, "yAxis": {"left": {"min": 0}}, **properties}}


def _app_metric(stage: str, metric: str, **options: Any) -> list:
    return [NAMESPACE, metric, "Stage", stage, {"label": metric, **options}]


def _app_metrics(stage: str, region: str, title: str, metrics: tuple[str, ...]) -> dict:
    colours = {"SurveysFailed": _BAD, "Responses": _GOOD}
    return _graph(region, title, [_app_metric(stage, metric, **({"color": colours[metric]} if metric in colours
                                                                else {}))
                                  for metric in metrics],
                  stat="Sum", period=_FIVE_MINUTES)


def _overdue(stage: str, region: str) -> dict:
    # A gauge put by the escalation run every minute, not a count: its highest value per minute.
    return _graph(region, "Overdue follow-ups not yet escalated",
                  [_app_metric(stage, "OverdueFollowUps", color=_BAD)], stat="Maximum", period=60)


def _jobs_queue(names: StackNames, region: str) -> dict:
    return _graph(region, f"Jobs queue {names.jobs_queue}", [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", names.jobs_queue,
         {"label": "waiting (messages)"}],
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", names.jobs_queue,
         {"label": "oldest message (seconds)", "yAxis": "right"}],
    ], stat="Maximum", period=60, yAxis={"left": {"min": 0}, "right": {"min": 0}})


def _dead_letter_queues(names: StackNames, region: str) -> dict:
    return _graph(region, "Dead-letter queues (should stay at 0)", [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", names.jobs_dlq,
         {"label": f"failed jobs ({names.jobs_dlq})", "color": _BAD}],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", names.handlers_dlq,
         {"label": f"failed events ({names.handlers_dlq})"}],
    ], stat="Maximum", period=_FIVE_MINUTES)


def _short(function: str, functions: list[str]) -> str:
    """The handler's name as app.py has it ("api" for the API handler)."""
    return function.removeprefix(functions[0]).lstrip("-") or "api"


def _per_function(region: str, functions: list[str], title: str, metric: str, stat: str) -> dict:
    return _graph(region, title, [
        ["AWS/Lambda", metric, "FunctionName", function, {"label": _short(function, functions)}]
        for function in functions], stat=stat, period=_FIVE_MINUTES)


def _table_capacity(names: StackNames, region: str) -> dict:
    return _graph(region, f"Table {names.table}: capacity consumed (units per period)", [
        ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", names.table, {"label": "read (RCU)"}],
        ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", names.table, {"label": "write (WCU)"}],
    ], stat="Sum", period=_FIVE_MINUTES)


def _table_throttles(names: StackNames, region: str) -> dict:
    # ThrottledRequests is reported per operation (TableName and Operation): summed over them.
    search = ("SEARCH('{AWS/DynamoDB,Operation,TableName} MetricName=\"ThrottledRequests\" "
              f"TableName=\"{names.table}\"', 'Sum', {_FIVE_MINUTES})")
    return _graph(region, f"Table {names.table}: throttled (should stay at 0)", [
        [{"expression": f"SUM({search})", "label": "throttled requests (all operations)", "id": "throttled",
          "color": _BAD}],
        ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", names.table, {"label": "read throttle events"}],
        ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", names.table, {"label": "write throttle events"}],
    ], stat="Sum", period=_FIVE_MINUTES)


def _ses_rate(found: list[dict], region: str, metric: str, title: str) -> dict:
    """SES's account reputation rate (a fraction: 0.02 is 2%), with its alarm's threshold drawn."""
    (alarm,) = [a for a in found if a["Namespace"] == "AWS/SES" and a["MetricName"] == metric]
    return _graph(region, title, [["AWS/SES", metric, {"label": metric.removeprefix("Reputation.")}]],
                  stat=alarm["Statistic"], period=alarm["Period"],
                  annotations={"horizontal": [{"label": f"alarm above {alarm['Threshold']:g}",
                                               "value": alarm["Threshold"], "color": _BAD}]})


def _api_requests(region: str) -> dict:
    dimensions = ["ApiName", API_NAME, "Stage", API_STAGE]
    return _graph(region, f"API {API_NAME}/{API_STAGE}: requests and errors (per period)", [
        ["AWS/ApiGateway", "Count", *dimensions, {"label": "requests"}],
        ["AWS/ApiGateway", "4XXError", *dimensions, {"label": "4XX (bad key, throttled 429, not found)"}],
        ["AWS/ApiGateway", "5XXError", *dimensions, {"label": "5XX", "color": _BAD}],
    ], stat="Sum", period=_FIVE_MINUTES)


def _api_latency(region: str) -> dict:
    dimensions = ["ApiName", API_NAME, "Stage", API_STAGE]
    return _graph(region, f"API {API_NAME}/{API_STAGE}: latency (ms)", [
        ["AWS/ApiGateway", "Latency", *dimensions, {"label": "p50", "stat": "p50"}],
        ["AWS/ApiGateway", "Latency", *dimensions, {"label": "p95", "stat": "p95"}],
        ["AWS/ApiGateway", "IntegrationLatency", *dimensions, {"label": "Lambda p95", "stat": "p95"}],
    ], period=_FIVE_MINUTES)
