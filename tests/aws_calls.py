"""Records every AWS API call each Lambda function makes while the tests run, for the
least-privilege proof (tests/packaging/test_least_privilege.py).

A call counts for a function only while one of that function's entry points runs: the route
views (function `api_handler`), the built-in authorizer (`bearer_key`), the event handlers (named
after their Python functions) and any pure Lambda function. Each is wrapped where Chalice keeps
it (the route table, the authorizer object, the event handler object), so a call is attributed
however a test reaches it: through chalice's test client, `lambda_.invoke` or the module
attribute. Calls made by test setup (creating tables, reading the outbox, inspecting the queue)
or by tests that call chalicelib directly run outside every entry point and are not recorded.

Recording patches botocore's `BaseClient._make_api_call`, the one method every client call goes
through: a handler cannot escape the proof by building its own client outside chalicelib.aws.
A call is recorded before it is sent, so one that fails still counts: it needed the permission.
"""
from __future__ import annotations

import contextvars
import functools
import threading
from dataclasses import dataclass

import pytest

# The Lambda function whose entry point is running in this thread (None: test code).
_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("lambda_function", default=None)

API_HANDLER = "api_handler"  # chalice's name for the one function that serves every route

# Operations that IAM authorizes as other actions (there is no dynamodb:TransactWriteItems or
# sqs:SendMessageBatch permission): the action each is checked as.
_BATCH_AS = {
    ("sqs", "SendMessageBatch"): "SendMessage", ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility", ("sns", "PublishBatch"): "Publish",
}
_TRANSACT_AS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
                "Get": "GetItem"}


@dataclass(frozen=True, order=True)
class Call:
    """One IAM permission a function used: `action` (e.g. "dynamodb:Query") on `resource`.

    `resource` names the stage's resource by role, not by the test's name for it, so the proof
    can check it against any stage's policy: "table", "index/<name>", "jobs_queue",
    "alert_topic", "escalation_topic", "phone_number", "sender_identity" (the stage's sender),
    "configuration_set", "parameter/<secret name>", "event_bus", or "?<what was called>" when the call went to
    something that is none of the stage's resources (the proof then fails: no policy names it).
    """
    function: str
    action: str
    resource: str


class CallRecord:
    def __init__(self):
        self._lock = threading.Lock()
        self.calls: set[Call] = set()

    def add(self, function: str, service_model, operation: str, params: dict) -> None:
        prefix = service_model.signing_name  # the IAM prefix: "ses" for sesv2, "dynamodb", ...
        service = service_model.service_name
        found = [Call(function, f"{prefix}:{action}", resource)
                 for action, resource in _permissions(service, operation, params)]
        with self._lock:
            self.calls.update(found)

    def by_function(self) -> dict[str, set[Call]]:
        with self._lock:
            calls = sorted(self.calls)
        table: dict[str, set[Call]] = {}
        for call in calls:
            table.setdefault(call.function, set()).add(call)
        return table


RECORD = CallRecord()


def _permissions(service: str, operation: str, params: dict) -> list[tuple[str, str]]:
    """(IAM action, resource role) pairs one API call needs."""
    from chalicelib.platform.settings import get_settings

    try:
        settings = get_settings()
    except RuntimeError:  # a test's deliberately broken configuration: nothing can match it
        settings = None

    def table(name: str) -> str:
        return "table" if settings and name == settings.table_name else f"?table {name}"

    if service == "dynamodb":
        if operation in ("TransactWriteItems", "TransactGetItems"):
            return [(_TRANSACT_AS[kind], table(part["TableName"]))
                    for item in params.get("TransactItems", []) for kind, part in item.items()]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(operation, table(name)) for name in params.get("RequestItems", {})]
        resource = table(params.get("TableName", "?"))
        if params.get("IndexName") and resource == "table":
            resource = f"index/{params['IndexName']}"
        return [(operation, resource)]
    action = _BATCH_AS.get((service, operation), operation)
    if service == "sqs":
        url = params.get("QueueUrl")
        return [(action, "jobs_queue" if settings and url == settings.jobs_queue_url else f"?queue {url}")]
    if service == "sns":
        if params.get("PhoneNumber"):
            return [(action, "phone_number")]
        topic = params.get("TopicArn") or params.get("TargetArn")
        roles = {settings.alert_topic_arn: "alert_topic", settings.escalation_topic_arn: "escalation_topic"} if settings else {}
        return [(action, roles.get(topic) or f"?topic {topic}")]
    if service == "sesv2":
        from email.utils import parseaddr

        sender = parseaddr(params.get("FromEmailAddress") or "")[1]
        ours = settings and sender == parseaddr(settings.sender_email)[1]
        needed = [(action, "sender_identity" if ours else f"?identity {sender}")]
        if params.get("ConfigurationSetName"):
            needed.append((action, "configuration_set"))
        return needed
    if service == "events":  # PutEvents: the lifecycle events' bus (chalicelib/events/)
        buses = {entry.get("EventBusName", "default") for entry in params.get("Entries", [])} or {"default"}
        return [(action, "event_bus" if settings and bus == settings.event_bus_name else f"?bus {bus}")
                for bus in sorted(buses)]
    if service == "ssm":
        prefix = settings.secrets_parameter_prefix if settings else ""
        names = params.get("Names") or [params.get("Name") or params.get("Path") or "?"]
        return [(action, f"parameter/{name[len(prefix):]}" if prefix and name.startswith(prefix) else f"?parameter {name}")
                for name in names]
    return [(action, f"?{service} {operation}")]


def _attributed(function: str, func):
    @functools.wraps(func)
    def entry_point(*args, **kwargs):
        token = _function.set(function)
        try:
            return func(*args, **kwargs)
        finally:
            _function.reset(token)
    return entry_point


def deployed_functions(chalice_app) -> set[str]:
    """The Lambda functions `chalice deploy` makes of the app (each gets its own role)."""
    names = {API_HANDLER} if chalice_app.routes else set()
    names |= {auth.name for auth in chalice_app.builtin_auth_handlers}
    names |= {source.name for source in chalice_app.event_sources}
    names |= {function.name for function in chalice_app.pure_lambda_functions}
    return names


def install(monkeypatch: pytest.MonkeyPatch, chalice_app) -> None:
    """Wrap every entry point of `chalice_app` and record the calls made inside them."""
    import botocore.client
    from chalice.app import ChaliceAuthorizer, EventSourceHandler, LambdaFunction

    for methods in chalice_app.routes.values():
        for entry in methods.values():
            monkeypatch.setattr(entry, "view_function", _attributed(API_HANDLER, entry.view_function))
    for name, handler in chalice_app.handler_map.items():
        if isinstance(handler, (ChaliceAuthorizer, EventSourceHandler, LambdaFunction)):
            monkeypatch.setattr(handler, "func", _attributed(name, handler.func))
            if isinstance(handler, EventSourceHandler):
                # It builds its middleware chain around `func` on first use: rebuild it around the wrapper.
                monkeypatch.setattr(handler, "handler", None)
    missing = deployed_functions(chalice_app) - {API_HANDLER} - set(chalice_app.handler_map)
    assert not missing, f"entry points the recorder cannot find: {sorted(missing)}"

    original = botocore.client.BaseClient._make_api_call

    def recorded_call(client, operation_name, api_params):
        function = _function.get()
        if function is not None:
            RECORD.add(function, client.meta.service_model, operation_name, api_params)
        return original(client, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recorded_call)


@pytest.fixture(scope="session", autouse=True)
def record_aws_calls():
    """Live for the whole session, so the proof (which runs after tests/functional) sees every call."""
    from app import app

    with pytest.MonkeyPatch.context() as monkeypatch:
        install(monkeypatch, app)
        yield RECORD
