"""`chalice deploy` itself, run by the bootstrap, against the local AWS emulator (Lambda, IAM, API
Gateway, EventBridge in moto; creating a function needs no Docker there): the handlers are wired to
the queue and topics the bootstrap made, twice without duplicates, and `destroy` removes them.
On a copy of the project, so the repository's config.json and .chalice/deployed stay untouched."""
from __future__ import annotations

import copy
import io
import json
import shutil
import sys
import zipfile

import pytest

from ops import alarms
from ops.after_deploy import DLQ_POLICY, function_name
from ops.bootstrap import OPERATOR_ACTIONS, bootstrap, deploy
from ops.bytecode import MARKER
from ops.stack import names
from ops.teardown import destroy
from tests.conftest import REGION, ROOT
from tests.deploy.conftest import client
from tests.deploy.test_teardown import iam_actions

DEV = names("dev")
AUTHORIZER = "bearer_key"  # app.py's authorizer: its Lambda is closeloop-<stage>-bearer_key


@pytest.fixture
def project(tmp_path):
    project = tmp_path / "closeloop"
    project.mkdir()
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, project / name)
    for name in ("chalicelib", "templates", "vendor"):  # vendor/templates is a link to ../templates
        shutil.copytree(ROOT / name, project / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    # config.json and every policy file (per stage, per function), not what chalice leaves behind.
    shutil.copytree(ROOT / ".chalice", project / ".chalice",
                    ignore=shutil.ignore_patterns("deployed", "deployments", "venv", "*.tmp"))
    # chalice's cache of built dependency zips (keyed by requirements.txt and vendor/): shared with
    # `make package` and the packaging test, so the wheels are fetched once. Git ignores it.
    (ROOT / ".chalice" / "deployments").mkdir(exist_ok=True)
    (project / ".chalice" / "deployments").symlink_to(ROOT / ".chalice" / "deployments")
    return project


@pytest.fixture
def emulated_api_gateway(monkeypatch):
    """moto (5.2) imports only OpenAPI 3 documents and reads the optional `info.description` as if
    it were required; chalice sends Swagger 2.0 without one. Its paths read the same, so the doc is
    handed on as OpenAPI 3 (the server runs in this process: the emulator is mended here).
    moto makes no authorizers from the doc's securityDefinitions, so each doc chalice sent is kept,
    in order, for a test to read what API Gateway would have made of it."""
    from moto.apigateway.models import APIGatewayBackend

    imported, put = APIGatewayBackend.import_rest_api, APIGatewayBackend.put_rest_api
    sent: list[dict] = []

    def as_openapi3(api_doc: dict) -> dict:
        if "swagger" in api_doc:  # chalice's, not the one moto's import hands on to its own put
            sent.append(copy.deepcopy(api_doc))
        api_doc = {key: value for key, value in api_doc.items() if key != "swagger"}
        return {**api_doc, "openapi": "3.0.1", "info": {"description": "", **api_doc.get("info", {})}}

    monkeypatch.setattr(APIGatewayBackend, "import_rest_api",
                        lambda self, api_doc, fail_on_warnings: imported(self, as_openapi3(api_doc), fail_on_warnings))
    monkeypatch.setattr(APIGatewayBackend, "put_rest_api",
                        lambda self, function_id, api_doc, fail_on_warnings, mode="merge": put(
                            self, function_id, as_openapi3(api_doc), fail_on_warnings, mode))
    return sent


def uploaded_code(function: str) -> bytes:
    """The zip the emulated Lambda holds for a function."""
    from moto.awslambda.models import lambda_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    return lambda_backends[DEFAULT_ACCOUNT_ID][REGION].get_function(function).code_bytes


def _wiring() -> dict:
    lam = client("lambda")
    functions = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    asynchronous = {}
    for name in functions:
        try:
            invoke = lam.get_function_event_invoke_config(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            continue
        asynchronous[name] = (invoke["MaximumRetryAttempts"],
                              invoke["DestinationConfig"]["OnFailure"]["Destination"].rsplit(":", 1)[1])
    subscriptions = client("sns").list_subscriptions()["Subscriptions"]
    gateway = client("apigateway")
    return {
        "functions": functions,
        "mappings": sorted((m["EventSourceArn"].rsplit(":", 1)[1], m["FunctionArn"].rsplit(":", 1)[1],
                            tuple(m.get("FunctionResponseTypes") or ())) for m in mappings),
        "asynchronous": asynchronous,
        "subscriptions": sorted((s["TopicArn"].rsplit(":", 1)[1], s["Protocol"], s["Endpoint"].rsplit(":", 1)[1])
                                for s in subscriptions),
        "rules": [r["ScheduleExpression"] for r in client("events").list_rules()["Rules"] if "ScheduleExpression" in r],
        "apis": [(api["name"], sorted(r["path"] for r in gateway.get_resources(restApiId=api["id"])["items"]))
                 for api in gateway.get_rest_apis()["items"]],
    }


def assert_the_api_authorizes_with_our_lambda(api_doc: dict) -> None:
    """API Gateway makes a TOKEN authorizer of each custom security definition. For a definition
    named `api_key` chalice writes the usage-plan key (x-api-key) instead: no Lambda authorizer, no
    TTL, and every /v1/ call would get 403."""
    from chalicelib.api import auth

    definitions = api_doc["securityDefinitions"]
    assert list(definitions) == [AUTHORIZER], definitions
    definition = definitions[AUTHORIZER]
    assert (definition["type"], definition["name"], definition["in"], definition["x-amazon-apigateway-authtype"]) == (
        "apiKey", "Authorization", "header", "custom")
    authorizer = definition["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "token"
    assert authorizer["authorizerUri"].endswith(f":function:closeloop-dev-{AUTHORIZER}/invocations")
    assert authorizer["authorizerResultTtlInSeconds"] == auth.GATEWAY_CACHE_SECONDS
    operations = [op for path in api_doc["paths"].values() for op in path.values() if isinstance(op, dict)]
    assert {name for op in operations for entry in op.get("security", []) for name in entry} == {AUTHORIZER}
    assert "x-api-key" not in json.dumps(api_doc).lower()


def test_chalice_deploy_wires_the_handlers_to_what_the_bootstrap_made(aws, project, emulated_api_gateway,
                                                                       monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    config = project / ".chalice" / "config.json"
    bootstrap("dev", config, aws)

    aws.calls.clear()

    deploy("dev", config, aws)

    wiring = _wiring()
    assert set(alarms.function_names("dev")) <= set(wiring["functions"])
    assert wiring["mappings"] == [(DEV.jobs_queue, "closeloop-dev-handle_job", ("ReportBatchItemFailures",))]
    # SNS and the schedule invoke asynchronously: bounded retries, then the handlers' dead-letter queue.
    assert wiring["asynchronous"] == {"closeloop-dev-handle_ses_notice": (2, DEV.handlers_dlq),
                                      "closeloop-dev-handle_sms_reply": (2, DEV.handlers_dlq),
                                      "closeloop-dev-escalate_overdue": (0, DEV.handlers_dlq)}
    for handler in ("handle_ses_notice", "handle_sms_reply", "escalate_overdue"):
        policy = client("iam").get_role_policy(RoleName=function_name("dev", handler), PolicyName=DLQ_POLICY)
        assert [s["Action"] for s in policy["PolicyDocument"]["Statement"]] == ["sqs:SendMessage"]
    assert iam_actions(aws.calls) - set(OPERATOR_ACTIONS) == set()
    assert wiring["subscriptions"] == sorted([(DEV.ses_notices_topic, "lambda", "closeloop-dev-handle_ses_notice"),
                                              (DEV.sms_replies_topic, "lambda", "closeloop-dev-handle_sms_reply")])
    assert wiring["rules"] == ["rate(1 minute)"]
    # The zip chalice uploaded carries its modules' bytecode (ops/bytecode.py): no compiling at a cold start.
    with zipfile.ZipFile(io.BytesIO(uploaded_code("closeloop-dev-handle_job"))) as archive:
        names_in_zip = set(archive.namelist())
    assert MARKER in names_in_zip and f"chalicelib/api/__pycache__/events.{sys.implementation.cache_tag}.pyc" in names_in_zip
    [(api, paths)] = wiring["apis"]
    assert api == "closeloop" and {"/v1/interactions", "/s/{token}", "/v1/webhooks/zendesk"} <= set(paths)
    # The REST API's authorizer is our Lambda (moto makes none from the doc: read what chalice sent).
    (imported,) = emulated_api_gateway
    assert_the_api_authorizes_with_our_lambda(imported)
    # Each client's limit on the public pages: the stage's web ACL on the API's stage.
    (api_id,) = [api["id"] for api in client("apigateway").get_rest_apis()["items"]]
    stage_arn = f"arn:aws:apigateway:{REGION}::/restapis/{api_id}/stages/api"
    assert client("wafv2").get_web_acl_for_resource(ResourceArn=stage_arn)["WebACL"]["Name"] == "closeloop-dev-public"
    recorded = json.loads(config.read_text())["stages"]["dev"]["environment_variables"]
    environment = wiring["functions"]["closeloop-dev-handle_job"]["Environment"]["Variables"]
    assert environment["CLOSELOOP_JOBS_QUEUE_URL"] == recorded["CLOSELOOP_JOBS_QUEUE_URL"]
    assert environment["CLOSELOOP_SES_CONFIGURATION_SET"] == DEV.ses_configuration_set

    # Again: chalice updates in place, nothing is wired twice.
    bootstrap("dev", config, aws)
    assert {step.action for step in deploy("dev", config, aws)} == {"unchanged"}  # chalice kept them
    again = _wiring()
    assert {k: v for k, v in again.items() if k != "functions"} == {k: v for k, v in wiring.items() if k != "functions"}
    assert set(again["functions"]) == set(wiring["functions"])
    assert_the_api_authorizes_with_our_lambda(emulated_api_gateway[-1])  # the update sent it again

    destroy("dev", config, aws)
    gone = _wiring()
    assert not any(gone.values()), gone


def name_the_authorizer(project, name: str) -> None:
    """The project's authorizer (function, routes, config, policy files) renamed from AUTHORIZER."""
    for path in ("app.py", "chalicelib/api/auth.py", "chalicelib/api/admin.py", ".chalice/config.json"):
        (project / path).write_text((ROOT / path).read_text().replace(AUTHORIZER, name))
    for stage in ("dev", "prod"):
        shutil.copy(ROOT / ".chalice" / "policies" / stage / f"{AUTHORIZER}.json",
                    project / ".chalice" / "policies" / stage / f"{name}.json")


def test_an_upgraded_stage_loses_the_authorizer_under_its_old_name(aws, project, emulated_api_gateway, monkeypatch):
    # A stage deployed before the rename has closeloop-dev-api_key: chalice deletes a function (and
    # its role) that the app no longer has, so no old authorizer is left behind.
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    config = project / ".chalice" / "config.json"
    name_the_authorizer(project, "api_key")
    bootstrap("dev", config, aws)
    deploy("dev", config, aws)
    assert "closeloop-dev-api_key" in _wiring()["functions"]

    name_the_authorizer(project, AUTHORIZER)  # this release
    bootstrap("dev", config, aws)
    deploy("dev", config, aws)

    functions = _wiring()["functions"]
    assert "closeloop-dev-api_key" not in functions and f"closeloop-dev-{AUTHORIZER}" in functions
    roles = {role["RoleName"] for role in client("iam").list_roles()["Roles"]}
    assert "closeloop-dev-api_key" not in roles and f"closeloop-dev-{AUTHORIZER}" in roles
    assert_the_api_authorizes_with_our_lambda(emulated_api_gateway[-1])
