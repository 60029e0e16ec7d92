"""Schemathesis against the app, from the document it serves: property-based requests to every
operation over real HTTP (chalice's local server in a thread, on DynamoDB Local and moto), and no
answer may be a server error or one the document does not describe (status, content type, body,
headers). Bounded and derandomized: a few examples per operation and mode, the same each run."""
from __future__ import annotations

import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)

from tests.conftest import API_KEY, ROOT

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 6, schemathesis.GenerationMode.NEGATIVE: 3}


@pytest.fixture
def served(api, stack, clock, monkeypatch):
    """The app over HTTP on a free loopback port, with data to list: a follow-up (its responded
    survey), a suppression and an erasure receipt. Two helpdesks have a secret (their forgeries
    are refused, 401), Freshdesk none (404, not configured)."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import LocalDevServer

    from app import app
    from chalicelib.platform import settings
    from tests.functional.followup_helpers import open_followup

    monkeypatch.setenv("CLOSELOOP_ZENDESK_WEBHOOK_SECRET", "zendesk-secret-for-the-fuzz-run")
    monkeypatch.setenv("CLOSELOOP_INTERCOM_CLIENT_SECRET", "intercom-secret-for-the-fuzz-run")
    monkeypatch.delenv("CLOSELOOP_FRESHDESK_WEBHOOK_SECRET", raising=False)
    settings.reset_settings()

    open_followup(clock.now)
    assert api.http.post("/v1/suppressions", headers=api.headers,
                         body=b'{"kind": "email", "value": "ada@example.com"}').status_code == 201
    assert api.http.delete("/v1/customers/cus_erased", headers=api.headers).status_code == 200
    config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name="test")
    server = LocalDevServer(app, config, "127.0.0.1", 0)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}"
    server.shutdown()
    server.server.server_close()
    thread.join(timeout=10)


def test_no_request_gets_a_server_error_or_an_answer_the_document_does_not_describe(served):
    schema = schemathesis.openapi.from_url(f"{served}/v1/openapi.json")
    failures: list[str] = []
    answered: dict[str, set[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            _run(operation, mode, examples, served, failures, answered.setdefault(operation.label, set()))
    assert not failures, "\n\n".join(failures[:10])
    assert all(answered.values()), answered  # every operation was really called
    assert any(200 in statuses for statuses in answered.values())


def _run(operation, mode, examples: int, base_url: str, failures: list[str], statuses: set[int]) -> None:

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)
        statuses.add(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as failure:  # noqa: BLE001 - schemathesis raises a group of failed checks
            failures.append(f"{operation.label} ({mode.value}): {failure}\n{case.as_curl_command()}")

    check()
    print(operation.label, mode.value, sorted(statuses))
