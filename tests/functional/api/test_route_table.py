"""Who may call what: the route table, and requests to the admin API without valid credentials."""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from chalice.app import ChaliceAuthorizer

import app as app_module
from tests.conftest import API_KEY
from tests.functional.helpers import interaction, post, queued_messages, stored_items

# Routes that need no API key: the survey pages, protected by their unguessable token.
PUBLIC_PAGES = {"/s/{token}", "/s/{token}/{score}", "/h/{token}", "/u/{token}"}
# Helpdesk webhooks authenticate by their product's signature; each must be listed here by name.
SIGNED_WEBHOOKS: set[str] = {"/v1/webhooks/zendesk", "/v1/webhooks/intercom", "/v1/webhooks/freshdesk"}
# Slack's interactivity request URL authenticates by Slack's signature (chalicelib/integrations/slack.py).
SLACK_SIGNED = {"/v1/slack/actions"}
# The leads' sign-in pages: public, a sign-in link protected by its one-time token (chalicelib/leads/signin.py).
SIGNIN_PAGES = {"/signin", "/signin/{token}"}
# The uptime check: a load balancer or monitor has no API key, and the answer is only ok/unavailable,
# the version and the table read's error code (tests/functional/api/test_health.py).
HEALTH = {"/health"}
# The API's OpenAPI document: public so client generators and fuzzers can read it; it holds no data
# (tests/functional/api/test_openapi.py).
CONTRACT = {"/v1/openapi.json"}


def is_session_route(path: str) -> bool:
    """Routes for signed-in leads only: /signout and everything under /dashboard. Which view guards
    them does not matter here: test_session_routes_show_a_signed_out_visitor_nothing requests every
    one of them signed out, so a route added there without a session guard fails it."""
    return path == "/signout" or path.startswith("/dashboard")


def all_routes():
    return [(path, method, entry) for path, methods in app_module.app.routes.items()
            for method, entry in methods.items()]


def admin_routes():
    return [(path, method) for path, method, _ in all_routes()
            if path.startswith("/v1/") and not path.startswith("/v1/webhooks/") and path not in CONTRACT | SLACK_SIGNED]


def test_the_app_has_admin_routes_and_public_pages():
    paths = {path for path, _, _ in all_routes()}
    assert {"/v1/interactions", "/v1/surveys/{survey_id}", "/v1/surveys/{survey_id}/opens"} <= paths
    assert PUBLIC_PAGES <= paths
    assert SIGNIN_PAGES | {"/signout"} <= paths


def test_every_admin_route_requires_the_api_key_authorizer():
    assert app_module.bearer_key.name == "bearer_key"  # its Lambda: closeloop-<stage>-bearer_key
    assert isinstance(app_module.bearer_key, ChaliceAuthorizer)  # the only kind chalice local enforces
    for path, method in admin_routes():
        entry = app_module.app.routes[path][method]
        assert entry.authorizer is app_module.bearer_key, f"{method} {path} is not behind the API key"
        assert entry.authorizer.name == "bearer_key"


def test_chalice_writes_our_lambda_authorizer_for_api_gateway_not_its_usage_plan_key():
    # What `chalice deploy` and `chalice package` hand API Gateway. A definition named `api_key`
    # is taken for chalice's own api_key_required and becomes the x-api-key usage-plan key: the
    # authorizer would never run and every /v1/ call would get 403.
    from chalice.deploy.swagger import CFNSwaggerGenerator

    definitions = CFNSwaggerGenerator().generate_swagger(app_module.app)["securityDefinitions"]
    assert list(definitions) == ["bearer_key"]
    assert definitions["bearer_key"]["name"] == "Authorization"
    assert definitions["bearer_key"]["x-amazon-apigateway-authtype"] == "custom"
    assert definitions["bearer_key"]["x-amazon-apigateway-authorizer"]["type"] == "token"


def test_every_route_without_the_api_key_is_an_allowed_public_page_or_signed_webhook():
    for path, method, entry in all_routes():
        if entry.authorizer is None:
            assert (path in PUBLIC_PAGES or path in SIGNED_WEBHOOKS or path in SIGNIN_PAGES or path in HEALTH
                    or path in CONTRACT or path in SLACK_SIGNED or is_session_route(path)), \
                f"{method} {path} is public by accident"
            assert not (path.startswith("/v1/") and path not in SIGNED_WEBHOOKS | CONTRACT | SLACK_SIGNED)
        else:
            assert entry.authorizer is app_module.bearer_key
    for path in SIGNED_WEBHOOKS:
        assert path.startswith("/v1/webhooks/")


def test_webhooks_and_the_api_document_are_the_only_v1_routes_exempt_from_the_api_key():
    exempt = {(path, method) for path, method, entry in all_routes()
              if path.startswith("/v1/") and entry.authorizer is None}
    assert {path for path, _ in exempt} <= SIGNED_WEBHOOKS | CONTRACT | SLACK_SIGNED
    assert {(path, method) for path, method in exempt if path in SLACK_SIGNED} == {("/v1/slack/actions", "POST")}
    assert {(path, method) for path, method in exempt if path in CONTRACT} == {("/v1/openapi.json", "GET")}


# --- requests without valid credentials ------------------------------------------------------

@pytest.fixture
def existing_survey(api, stack):
    """A survey that exists (and was sent), so a refused read would have something to leak."""
    response = post(api, interaction(interaction_id="zd-existing"))
    assert response.status_code == 202
    stack.run_jobs()
    stack.delays.clear()
    return json.loads(response.body)["survey_id"]


def _request(api, path, method, survey_id, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    concrete = path.replace("{survey_id}", survey_id)
    body = json.dumps(interaction(interaction_id="zd-intruder")) if method == "POST" else b""
    return api.http.request(method, concrete, headers=headers, body=body)


def _assert_refused_and_nothing_written(api, stack, survey_id, authorization):
    before = stored_items(stack)
    for path, method in admin_routes():
        response = _request(api, path, method, survey_id, authorization)
        assert response.status_code in (401, 403), f"{method} {path} answered {response.status_code}"
        assert survey_id.encode() not in response.body and b"zd-existing" not in response.body
    assert stored_items(stack) == before
    assert not any(item["pk"]["S"] == "INTERACTION#zd-intruder" for item in stored_items(stack))
    assert queued_messages(stack) == 0 and stack.delays == []
    assert len(stack.emails()) == 1  # only the existing survey's


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Bearer wrong-key", "Bearer cl_" + "x" * 43, f"Basic {API_KEY}",
    API_KEY, f"Bearer {API_KEY}x",
], ids=["no-header", "empty", "scheme-only", "empty-key", "wrong-key", "unknown-key", "basic-scheme",
        "no-scheme", "key-with-suffix"])
def test_admin_routes_refuse_missing_or_wrong_credentials_and_write_nothing(api, stack, existing_survey,
                                                                            authorization):
    _assert_refused_and_nothing_written(api, stack, existing_survey, authorization)


def test_a_request_without_authorization_header_gets_401(api, existing_survey):
    response = _request(api, "/v1/interactions", "POST", existing_survey, None)
    assert response.status_code == 401


def test_a_revoked_key_stops_working_and_writes_nothing(api, stack, existing_survey):
    from chalicelib.apikeys import keys as auth

    key, record = auth.create_key("helpdesk")
    ok = api.http.get(f"/v1/surveys/{existing_survey}", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200  # the key worked before it was revoked

    auth.revoke_key(record.key_hash)

    _assert_refused_and_nothing_written(api, stack, existing_survey, f"Bearer {key}")
    # The admin key of the tests still works: revoking one key revokes only that key.
    assert api.http.get(f"/v1/surveys/{existing_survey}", headers=api.headers).status_code == 200


def test_a_key_revoked_by_its_prefix_is_refused(api, stack, existing_survey):
    from chalicelib.apikeys import keys as auth

    key, record = auth.create_key("zapier")
    auth.revoke_key(record.prefix)
    _assert_refused_and_nothing_written(api, stack, existing_survey, f"Bearer {key}")


# --- the leads' session routes, signed out ----------------------------------------------------

SECRET = "SECRET-MARKER"


def _session_routes() -> list[tuple[str, str]]:
    return sorted((path, method) for path, method, _ in all_routes() if is_session_route(path))


def _signed_out_cookies(api, stack, clock) -> dict[str, str | None]:
    """Every way of being signed out: no cookie, a forged one, an expired session, a removed lead's."""
    from chalicelib.leads import allowed_list as leads
    from chalicelib.leads import sessions

    kim = leads.add_lead("kim@example.com", owner="kim")
    removed, _ = sessions.start_session(leads.add_lead("lee@example.com", owner="lee"))
    leads.remove_lead("lee@example.com")
    expired, _ = sessions.start_session(kim)
    clock.advance(12 * 3600)
    return {"none": None, "forged": "A" * 43, "junk": "x;y", "expired": expired, "removed": removed}


def test_session_routes_show_a_signed_out_visitor_nothing(api, stack, clock):
    from chalicelib.leads import sessions
    from tests.functional.followup_helpers import open_followup
    from tests.repos import Repositories

    followup_id = open_followup(clock.now, comment=SECRET)
    survey_id = followup_id.removeprefix("fu_")
    before = Repositories().followups.get(followup_id)
    cookies = _signed_out_cookies(api, stack, clock)
    stolen_csrf = Repositories().leads.get_session(sessions.hash_value(cookies["expired"])).csrf_token
    routes = _session_routes()
    assert ("/signout", "POST") in routes

    for path, method in routes:
        concrete = re.sub(r"\{(\w+)\}", lambda m: survey_id if "survey" in m.group(1) else followup_id, path)
        form = {"csrf": stolen_csrf, "status": "resolved", "owner": "kim", "note": "hi", "next": "/dashboard"}
        for name, cookie in cookies.items():
            headers = {"Cookie": f"closeloop_session={cookie}"} if cookie else {}
            if method not in ("GET", "HEAD"):
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = api.http.request(method, concrete, headers=headers,
                                        body=urlencode(form).encode() if method not in ("GET", "HEAD") else b"")
            where = f"{method} {concrete} with {name} cookie"
            assert response.status_code == 303, f"{where}: {response.status_code}"
            assert response.headers["Location"].startswith("http://127.0.0.1:8000/signin"), where
            assert not re.search(r"closeloop_session=[^;]", response.headers.get("Set-Cookie", "")), where
            assert SECRET.encode() not in response.body and b"Ada" not in response.body, where
    after = Repositories().followups.get(followup_id)
    assert after.version == before.version and after.history == before.history  # nothing done
