"""GET /v1/openapi.json: public, cacheable, valid OpenAPI 3.1, generated from the models the routes
validate with, and describing exactly the app's /v1/ routes and what each really answers."""
from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_spec

import app as app_module
from tests.conftest import ROOT
from tests.functional.helpers import interaction, post


@pytest.fixture
def document(api):
    response = api.http.get("/v1/openapi.json")  # no API key
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def v1_routes() -> set[tuple[str, str]]:
    return {(path, method) for path, methods in app_module.app.routes.items() if path.startswith("/v1/")
            for method in methods}


def test_the_document_is_public_cacheable_and_valid_openapi_3_1(api):
    response = api.http.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    document = json.loads(response.body)
    assert document["openapi"] == "3.1.0"
    validate_spec(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_the_document_has_every_v1_route_with_its_methods_and_nothing_else(document):
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    assert documented == v1_routes()


def test_each_operation_names_its_security(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            entry = app_module.app.routes[path][method.upper()]
            names = {name for requirement in operation["security"] for name in requirement}
            if entry.authorizer is not None:
                assert names == {"apiKey"}, f"{method} {path}"
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
            elif path.startswith("/v1/webhooks/") or path == "/v1/slack/actions":
                assert len(names) == 1 and schemes[names.pop()]["in"] == "header", f"{method} {path}"
                assert {"401", "404"} <= set(operation["responses"]), f"{method} {path}"
            else:
                assert (path, method) == ("/v1/openapi.json", "get") and names == set()


def test_inputs_are_the_schemas_of_the_models_the_routes_validate_with(document):
    from chalicelib.followups import FollowUpPatch
    from chalicelib.insight import ResponseQuery
    from chalicelib.surveys import InteractionIn

    schemas = document["components"]["schemas"]
    for model in (InteractionIn, FollowUpPatch):
        generated = model.model_json_schema(mode="validation", ref_template="#/components/schemas/{model}")
        for name, schema in {model.__name__: {k: v for k, v in generated.items() if k != "$defs"},
                             **generated.get("$defs", {})}.items():
            assert schemas[name] == schema, name
    body = document["paths"]["/v1/interactions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/InteractionIn"}
    parameters = document["paths"]["/v1/responses"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == [f.alias or name for name, f in ResponseQuery.model_fields.items()]
    assert all(p["in"] == "query" and not p["required"] for p in parameters)


def _assert_documented(document, path: str, method: str, response) -> None:
    """The answer's status is documented for the operation and its JSON body fits that schema."""
    answers = document["paths"][path][method.lower()]["responses"]
    assert str(response.status_code) in answers, f"{method} {path}: {response.status_code} undocumented"
    schema = answers[str(response.status_code)]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": document["components"]}).validate(
        json.loads(response.body))


def test_every_success_and_problem_shape_is_what_the_routes_answer(document, api, stack, clock):
    from tests.functional.followup_helpers import open_followup

    created = post(api, interaction(interaction_id="zd-doc"))
    _assert_documented(document, "/v1/interactions", "POST", created)
    assert created.status_code == 202
    _assert_documented(document, "/v1/interactions", "POST", post(api, interaction(interaction_id="zd-doc")))
    survey_id = json.loads(created.body)["survey_id"]
    http, h = api.http, api.headers
    _assert_documented(document, "/v1/surveys/{survey_id}", "GET", http.get(f"/v1/surveys/{survey_id}", headers=h))
    _assert_documented(document, "/v1/surveys/{survey_id}/opens", "GET",
                       http.get(f"/v1/surveys/{survey_id}/opens", headers=h))
    _assert_documented(document, "/v1/interactions/{interaction_id}", "DELETE",
                       http.delete("/v1/interactions/zd-doc", headers=h))

    from chalicelib.leads import add_lead

    add_lead("kim@example.com", owner="kim")  # an owner is a lead; "lee" is one too, for the 409
    add_lead("lee@example.com", owner="lee")
    followup_id = open_followup(clock.now)
    for method, path, body in (("GET", "/v1/followups/{followup_id}", b""),
                               ("POST", "/v1/followups/{followup_id}/claim", b'{"owner": "kim"}'),
                               ("POST", "/v1/followups/{followup_id}/claim", b'{"owner": "lee"}'),  # 409
                               ("PATCH", "/v1/followups/{followup_id}", b'{"status": "contacted"}'),
                               ("PATCH", "/v1/followups/{followup_id}", b'{"status": "nope"}')):       # 400
        response = http.request(method, path.replace("{followup_id}", followup_id), headers=h, body=body)
        _assert_documented(document, path, method, response)
    for path, query in (("/v1/followups", ""), ("/v1/followups/stats", ""), ("/v1/responses", ""),
                        ("/v1/reports/summary", "?survey=csat&from=2026-11-01&to=2026-11-30&group_by=day"),
                        ("/v1/reports/summary", "?survey=nps&from=2026-11-01&to=2026-11-30"),
                        ("/v1/reports/summary", "?survey=csat&from=2026-11-01&to=2026-11-30&group_by=reason"),
                        ("/v1/reports/summary", "?survey=nps&from=2026-11-01&to=2026-11-30&group_by=theme"),
                        ("/v1/suppressions", ""), ("/v1/suppressions/stats", "")):
        _assert_documented(document, path, "GET", http.get(path + query, headers=h))

    suppress, entry, phone = b'{"kind": "phone", "value": "+14155550123"}', "/v1/suppressions/{kind}/{value}", \
        "/v1/suppressions/phone/%2B14155550123"
    for method, path, concrete in (("POST", "/v1/suppressions", "/v1/suppressions"), ("GET", entry, phone),
                                   ("DELETE", entry, phone), ("GET", entry, phone)):  # the last: 404
        response = http.request(method, concrete, headers=h, body=suppress if method == "POST" else b"")
        _assert_documented(document, path, method, response)
    erased = http.delete("/v1/customers/cus_19", headers=h)
    _assert_documented(document, "/v1/customers/{customer_id}", "DELETE", erased)
    receipt = json.loads(erased.body)["receipt_id"]
    _assert_documented(document, "/v1/erasures/{receipt_id}", "GET", http.get(f"/v1/erasures/{receipt}", headers=h))


def test_the_summary_documents_its_groupings_fcr_and_shares(document):
    parameters = {p["name"]: p for p in document["paths"]["/v1/reports/summary"]["get"]["parameters"]}
    assert {"reason", "theme", "agent"} <= set(parameters["group_by"]["schema"]["enum"])
    schemas = document["components"]["schemas"]
    assert schemas["ReportSummary"]["properties"]["group_by"]["enum"] == parameters["group_by"]["schema"]["enum"]
    assert "responses" in schemas["ReportSummary"]["required"]
    group = schemas["ReportGroup"]
    assert {"fcr", "label", "share", "share_ci95"} <= set(group["properties"]) and "fcr" in group["required"]
    assert set(schemas["Fcr"]["required"]) == {"answered", "resolved", "rate", "ci95"}


def test_the_document_is_built_on_first_use_not_at_import():
    probe = ("import sys, app; from chalicelib.api import openapi; "
             "print(openapi.document_text.cache_info().currsize, 'chalicelib.api.answers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"]
