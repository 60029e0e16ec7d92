"""GET /health: public, one cheap read of the table, the version; 503 naming only the error code."""
from __future__ import annotations

import json
import re

from tests.conftest import ROOT, reset_caches


def test_health_answers_ok_with_the_version_without_an_api_key(api, stack, monkeypatch):
    from chalicelib.platform import aws

    # DescribeTable is a control-plane call with a low rate limit: a health check polled every few
    # seconds by several checkers must not use it.
    monkeypatch.setattr(aws.client("dynamodb"), "describe_table", _forbidden)

    response = api.http.get("/health")

    assert response.status_code == 200
    version = (ROOT / "chalicelib" / "VERSION").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert json.loads(response.body) == {"status": "ok", "version": version, "table": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_answers_503_with_the_error_code_only_when_the_table_is_missing(api, stack, monkeypatch):
    missing = f"{stack.table}-missing"
    monkeypatch.setenv("CLOSELOOP_TABLE_NAME", missing)
    reset_caches()

    response = api.http.get("/health")

    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["status"] == "unavailable" and body["table"] == "ResourceNotFoundException"
    assert set(body) == {"status", "version", "table"}
    # Nothing that names the table, account or region leaks to an unauthenticated caller.
    assert missing.encode() not in response.body and b"arn:" not in response.body


def _forbidden(**kwargs):
    raise AssertionError("GET /health called DescribeTable")
