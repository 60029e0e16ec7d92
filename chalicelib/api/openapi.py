"""GET /v1/openapi.json: the OpenAPI 3.1 document of every /v1/ route, public and cacheable.

Its schemas are generated from the pydantic models the routes validate with (bodies, query
strings, path keys) and those of their answers (api/answers.py), so they cannot drift from the
code; tests/functional/api/test_openapi.py proves that the operations below are exactly the app's
/v1/ route table. The document is built on the first request and kept for the container's life.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from chalice import Response

from chalicelib.platform import edge

contract = edge.Routes(__name__)

MAX_AGE_SECONDS = 3600
CSV, DOCUMENT = "text/csv", "openapi"   # answers that are no JSON model
EMPTY = "empty"                         # an answer with no body (Slack's acknowledgement)
FORM = "application/x-www-form-urlencoded"


@contract.route("/v1/openapi.json", methods=["GET"])
def openapi_document():
    """Public: what a client generator or fuzzer needs, and nothing a caller's key would unlock."""
    return Response(status_code=200, body=document_text(),
                    headers={"Content-Type": "application/json", "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}"})


@functools.cache
def document_text() -> str:
    return json.dumps(document(), separators=(",", ":"))


@dataclass(frozen=True)
class Operation:
    """One route: its input models and every answer it can give (status -> model, CSV or DOCUMENT).
    API Gateway's own answers (a refused key, throttling, a body too large) are added by `_answers`."""
    method: str
    path: str
    summary: str
    tag: str
    answers: dict[int, Any]
    body: Any = None            # the model of the JSON body
    query: Any = None           # the model of the query string
    path_model: Any = None      # the model of the path parameters, when one checks them
    security: str = "apiKey"    # the scheme of components.securitySchemes
    headers: dict[str, str] = field(default_factory=dict)   # extra request headers: name -> description
    body_type: str = "application/json"     # the media type of the body


def operations() -> list[Operation]:
    """Every /v1/ route, as the route table has it."""
    import chalicelib.api.answers as a
    import chalicelib.contacts as contacts
    import chalicelib.followups as followups
    import chalicelib.insight as insight
    import chalicelib.integrations as integrations
    import chalicelib.surveys as surveys

    P = a.Problem
    ops = [
        Operation("POST", "/v1/interactions", "Survey the customer of an ended interaction", "surveys",
                  {202: a.InteractionAccepted, 200: a.InteractionAccepted, 400: P}, body=surveys.InteractionIn),
        Operation("DELETE", "/v1/interactions/{interaction_id}", "Cancel the survey before it goes", "surveys",
                  {200: a.SurveyAnswer, 404: P, 409: P}),
        Operation("GET", "/v1/surveys/{survey_id}", "A survey", "surveys", {200: a.SurveyAnswer, 404: P}),
        Operation("GET", "/v1/surveys/{survey_id}/opens", "Every fetch of the survey's links", "surveys",
                  {200: a.SurveyOpens, 404: P}),
        Operation("GET", "/v1/reports/summary", "NPS or CSAT and FCR, per day, agent, team, channel, reason or theme",
                  "insight", {200: a.ReportSummary, 400: P}, query=insight.ReportQuery),
        Operation("GET", "/v1/responses", "Responses, newest first", "insight",
                  {200: a.ResponsesPage, 400: P}, query=insight.ResponseQuery),
        Operation("GET", "/v1/responses.csv", "One CSV page of the responses", "insight",
                  {200: CSV, 400: P}, query=insight.ResponseExportQuery),
        Operation("GET", "/v1/followups", "Follow-ups, newest first", "followups",
                  {200: a.FollowUpsPage, 400: P}, query=followups.FollowUpQuery),
        Operation("GET", "/v1/followups/stats", "Counts, medians and recovery of follow-ups", "followups",
                  {200: a.FollowUpStats, 400: P}, query=followups.StatsQuery),
        Operation("GET", "/v1/followups/{followup_id}", "A follow-up with its history", "followups",
                  {200: followups.FollowUpDetail, 404: P}),
        Operation("POST", "/v1/followups/{followup_id}/claim", "Take an open follow-up", "followups",
                  {200: followups.FollowUpDetail, 400: P, 404: P, 409: P}, body=followups.ClaimIn),
        Operation("PATCH", "/v1/followups/{followup_id}", "Change a follow-up", "followups",
                  {200: followups.FollowUpDetail, 400: P, 404: P, 409: P}, body=followups.FollowUpPatch),
        Operation("GET", "/v1/suppressions", "The suppression ledger", "contacts",
                  {200: a.Suppressions, 400: P}, query=contacts.SuppressionQuery),
        Operation("POST", "/v1/suppressions", "Suppress a contact by hand", "contacts",
                  {201: contacts.Suppression, 200: contacts.Suppression, 400: P}, body=contacts.SuppressionIn),
        Operation("GET", "/v1/suppressions/stats", "Suppressed surveys by reason", "contacts",
                  {200: a.SuppressionStats}),
        Operation("GET", "/v1/suppressions/{kind}/{value}", "One entry of the ledger", "contacts",
                  {200: contacts.Suppression, 400: P, 404: P}, path_model=contacts.SuppressionKey),
        Operation("DELETE", "/v1/suppressions/{kind}/{value}", "Lift a suppression", "contacts",
                  {200: contacts.Suppression, 400: P, 404: P}, path_model=contacts.SuppressionKey),
        Operation("DELETE", "/v1/customers/{customer_id}", "Erase a customer's personal data", "contacts",
                  {200: a.ErasureDone, 400: P}, path_model=contacts.CustomerKey),
        Operation("GET", "/v1/erasures/{receipt_id}", "An erasure's receipt", "contacts",
                  {200: a.ErasureShown, 404: P}),
        Operation("GET", "/v1/openapi.json", "This document", "contract", {200: DOCUMENT}, security=""),
    ]
    webhook = {200: a.WebhookAnswer, 202: a.WebhookAnswer, 400: P, 401: P, 404: P}
    ops += [
        Operation("POST", "/v1/webhooks/zendesk", "A Zendesk trigger's webhook", "webhooks", webhook,
                  body=integrations.ZendeskBody, security="zendeskSignature",
                  headers={"X-Zendesk-Webhook-Signature-Timestamp": "the signed time (ISO 8601), within 5 minutes"}),
        Operation("POST", "/v1/webhooks/intercom", "Intercom's conversation notifications", "webhooks", webhook,
                  body=integrations.IntercomNotification, security="intercomSignature"),
        Operation("POST", "/v1/webhooks/freshdesk", "A Freshdesk automation's webhook", "webhooks", webhook,
                  body=integrations.FreshdeskBody, security="freshdeskSecret"),
    ]
    ops.append(Operation(
        "POST", "/v1/slack/actions", "Slack's interactivity request URL: a button pressed on a detractor message",
        "slack", {200: EMPTY, 400: P, 401: P, 404: P}, body=integrations.SlackActionsForm, body_type=FORM,
        security="slackSignature",
        headers={"X-Slack-Request-Timestamp": "the signed time (unix seconds), within 5 minutes"}))
    return ops


SECURITY_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer",
               "description": "An admin API key (`ops keys create`): `Authorization: Bearer <api key>`."},
    "zendeskSignature": {"type": "apiKey", "in": "header", "name": "X-Zendesk-Webhook-Signature",
                         "description": "base64(HMAC-SHA256(secret, X-Zendesk-Webhook-Signature-Timestamp + body))"},
    "intercomSignature": {"type": "apiKey", "in": "header", "name": "X-Hub-Signature",
                          "description": "sha1=<hex HMAC-SHA1(client secret, body)>; the body's created_at "
                                         "must be within 5 minutes"},
    "freshdeskSecret": {"type": "apiKey", "in": "header", "name": "X-Closeloop-Freshdesk-Secret",
                        "description": "the shared secret the Freshdesk automation sends"},
    "slackSignature": {"type": "apiKey", "in": "header", "name": "X-Slack-Signature",
                       "description": "v0=<hex HMAC-SHA256(signing secret, \"v0:\" + X-Slack-Request-Timestamp "
                                      "+ \":\" + body)>; each signature is accepted once"},
}


def document() -> dict:
    """The OpenAPI 3.1 document; a model's schema is generated once and referenced by name."""
    from pydantic.json_schema import models_json_schema

    import chalicelib.api.answers as a

    ops = operations()
    wanted = {(model, "validation") for op in ops for model in (op.body, op.query, op.path_model) if model}
    wanted |= {(model, "serialization") for op in ops for model in op.answers.values() if isinstance(model, type)}
    wanted |= {(a.GatewayError, "serialization"), (a.ChaliceError, "serialization")}
    refs, top = models_json_schema(sorted(wanted, key=lambda m: (m[0].__name__, m[1])),
                                   ref_template="#/components/schemas/{model}")
    schemas = top.get("$defs", {})
    paths: dict[str, dict] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "closeloop admin API", "version": _version(),
                 "description": "CSAT/NPS surveys after support interactions (docs/api.md)."},
        "servers": [{"url": "/", "description": "where the app is served (a deployed stage's URL)"}],
        "tags": [{"name": name} for name in sorted({op.tag for op in ops})],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(op: Operation, refs: dict, schemas: dict) -> dict:
    parameters = [_path_parameter(name, op, refs, schemas) for name in _path_names(op.path)]
    if op.query:
        parameters += _parameters(schemas, refs[(op.query, "validation")], "query")
    parameters += [{"name": name, "in": "header", "required": False, "description": text,
                    "schema": {"type": "string"}} for name, text in op.headers.items()]
    spec: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{op.path.removeprefix('/v1/')}".replace("/", "_").replace(
            "{", "").replace("}", "").replace(".", "_"),
        "summary": op.summary, "tags": [op.tag], "parameters": parameters,
        "responses": _answers(op, refs),
        "security": [{op.security: []}] if op.security else [],
    }
    if op.body:
        spec["requestBody"] = {"required": True, "content": {
            op.body_type: {"schema": refs[(op.body, "validation")]}}}
    return spec


def _answers(op: Operation, refs: dict) -> dict:
    answers = {}
    for status, model in sorted(op.answers.items()):
        answers[str(status)] = _answer(status, model, refs)
    gateway = {"description": "answered by API Gateway before the app runs", "content": {
        "application/json": {"schema": refs[(_answers_module().GatewayError, "serialization")]}}}
    if op.security == "apiKey":
        answers["401"] = {**gateway, "description": "no Authorization header"}
        answers["403"] = {**gateway, "description": "an unknown, revoked or malformed API key"}
    if op.body:
        answers["413"] = {**gateway, "description": "a body over API Gateway's limit (10 MB)"}
        answers["415"] = {"description": f"a body that is not {op.body_type}", "content": {
            "application/json": {"schema": refs[(_answers_module().ChaliceError, "serialization")]}}}
    answers["429"] = {**gateway, "description": "throttled (the stage's rate limits)"}
    return answers


def _answer(status: int, model: Any, refs: dict) -> dict:
    if model == CSV:
        headers = {name: {"description": text, "schema": {"type": "string"}} for name, text in (
            ("Content-Disposition", "attachment; filename=..."),
            ("Link", '<next page URL>; rel="next", on every page but the last'),
            ("X-Next-Cursor", "the next page's cursor, on every page but the last"))}
        return {"description": "a CSV page: UTF-8 with a BOM, a header row, RFC 4180", "headers": headers,
                "content": {"text/csv": {"schema": {"type": "string"}}}}
    if model == EMPTY:
        return {"description": "acknowledged, with no body"}
    if model == DOCUMENT:
        return {"description": "this document", "headers": {"Cache-Control": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"type": "object"}}}}
    description = (model.__doc__ or "").strip().splitlines()[0] if status < 300 else _PROBLEMS.get(status, "")
    return {"description": description or str(status),
            "content": {"application/json": {"schema": refs[(model, "serialization")]}}}


_PROBLEMS = {400: "invalid input: `fields` names each offending field", 401: "the signature is missing, wrong, "
             "stale or replayed", 404: "not found (a webhook: not configured)", 409: "refused in the current state"}


def _answers_module():
    import chalicelib.api.answers as a
    return a


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _path_parameter(name: str, op: Operation, refs: dict, schemas: dict) -> dict:
    schema: dict = {"type": "string", "minLength": 1}
    if op.path_model:
        schema = _not_null(_schema_of(schemas, refs[(op.path_model, "validation")])["properties"][name])
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _parameters(schemas: dict, ref: dict, where: str) -> list[dict]:
    model = _schema_of(schemas, ref)
    required = set(model.get("required", []))
    return [{"name": name, "in": where, "required": name in required, "schema": _not_null(schema)}
            for name, schema in model["properties"].items()]


def _schema_of(schemas: dict, ref: dict) -> dict:
    return schemas[ref["$ref"].rsplit("/", 1)[1]]


def _not_null(schema: dict) -> dict:
    """A parameter is absent rather than null: Optional[X]'s schema less its null branch."""
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if len(options) != 1:
        return schema
    kept = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**options[0], **kept}


def _version() -> str:
    from pathlib import Path

    return (Path(__file__).resolve().parent.parent / "VERSION").read_text().strip()

