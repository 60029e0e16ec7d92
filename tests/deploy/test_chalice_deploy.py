"""`chalice deploy` itself, run by the bootstrap, against the local AWS emulator (Lambda, IAM, API
Gateway, EventBridge in moto; creating a function needs no Docker there): the handlers are wired to
the queue and topics the bootstrap made, twice without duplicates, and `destroy` removes them.
On a copy of the project, so the repository's config.json and .chalice/deployed stay untouched."""
from __future__ import annotations

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
    handed on as OpenAPI 3 (the server runs in this process: the emulator is mended here)."""
    from moto.apigateway.models import APIGatewayBackend

    imported, put = APIGatewayBackend.import_rest_api, APIGatewayBackend.put_rest_api

    def as_openapi3(api_doc: dict) -> dict:
        api_doc = {key: value for key, value in api_doc.items() if key != "swagger"}
        return {**api_doc, "openapi": "3.0.1", "info": {"description": "", **api_doc.get("info", {})}}

    monkeypatch.setattr(APIGatewayBackend, "import_rest_api",
                        lambda self, api_doc, fail_on_warnings: imported(self, as_openapi3(api_doc), fail_on_warnings))
    monkeypatch.setattr(APIGatewayBackend, "put_rest_api",
                        lambda self, function_id, api_doc, fail_on_warnings, mode="merge": put(
                            self, function_id, as_openapi3(api_doc), fail_on_warnings, mode))


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

    destroy("dev", config, aws)
    gone = _wiring()
    assert not any(gone.values()), gone
