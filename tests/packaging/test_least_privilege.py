"""Least privilege, proven: each Lambda function's policy allows every AWS call that function made
during the tests, and grants no service (nor, after the whole functional suite, any action) that
the function never used.

The calls come from tests/aws_calls.py, which records them for the whole session, so under
`make test` this runs after tests/functional and sees every call those tests made through the
app's entry points. It always drives one compact survey loop itself too (interaction, email,
response, detractor alert, escalation, claim and resolve, re-survey, SES notice, SMS survey and
replies, sign-in), configured as a deployed stage is (secrets from SSM Parameter Store, a
configuration set, an escalation topic), so that every function is exercised even when this file
runs alone.

Each recorded call names the stage's resource by role ("table", "jobs_queue", ...); the proof
turns it into the ARN that resource has in each deployed stage and evaluates the stage's policy
file for that function against it, as IAM would: the action against Action, the ARN against
Resource or NotResource, and the statement's conditions.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from ops import policies
from ops.stack import names
from tests.aws_calls import API_HANDLER, Call, deployed_functions
from tests.conftest import REGION, ROOT, reset_caches

ACCOUNT = "123456789012"
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
STAGES = policies.deployed_stages(CONFIG)
FUNCTIONAL = ROOT / "tests" / "functional"


def load_policy(stage: str, function: str) -> dict:
    return json.loads((ROOT / ".chalice" / policies.policy_file(stage, function)).read_text())


def as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value)


# --- what IAM does with one request ---------------------------------------------------------

def _regex(iam_pattern: str) -> str:
    """IAM's wildcards: `*` any run of characters (colons and slashes included), `?` one."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in iam_pattern)


def _matches(patterns, value: str, case_sensitive: bool = True) -> bool:
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return any(re.fullmatch(_regex(p), value, flags) for p in as_list(patterns))


def _conditions_hold(conditions: dict, context: dict) -> bool:
    """Only the operators the policies use; an unknown one never holds (the proof fails loudly)."""
    for operator, keys in conditions.items():
        if operator != "StringEquals":
            return False
        for key, expected in keys.items():
            if context.get(key) not in as_list(expected):
                return False
    return True


def _statement_applies(statement: dict, action: str, resource: str, context: dict) -> bool:
    if not _matches(statement["Action"], action, case_sensitive=False):  # actions are case-insensitive
        return False
    if "Resource" in statement:
        if not _matches(statement["Resource"], resource):
            return False
    elif _matches(statement["NotResource"], resource):
        return False
    return _conditions_hold(statement.get("Condition", {}), context)


def allowed(policy: dict, action: str, resource: str, context: dict) -> bool:
    """Allowed by some statement and denied by none (an identity policy alone, no boundaries)."""
    applying = [s for s in policy["Statement"] if _statement_applies(s, action, resource, context)]
    return any(s["Effect"] == "Allow" for s in applying) and not any(s["Effect"] == "Deny" for s in applying)


# --- a recorded call, as the request it is in a deployed stage ---------------------------------

def requests_in(stage: str, call: Call) -> list[tuple[str, str, dict]]:
    """(action, ARN, condition context) of every authorization `call` needs in `stage`;
    [] when the call went to none of the stage's resources."""
    n = names(stage)
    sender = policies.sender_email(stage, CONFIG)
    arn = f"{REGION}:{ACCOUNT}"
    role = call.resource
    if role == "table":
        found = [f"arn:aws:dynamodb:{arn}:table/{n.table}"]
    elif role.startswith("index/"):
        found = [f"arn:aws:dynamodb:{arn}:table/{n.table}/{role}"]
    elif role == "jobs_queue":
        found = [f"arn:aws:sqs:{arn}:{n.jobs_queue}"]
    elif role in ("alert_topic", "escalation_topic"):
        found = [f"arn:aws:sns:{arn}:{getattr(n, role)}"]
    elif role == "event_bus":
        found = [f"arn:aws:events:{arn}:event-bus/{n.event_bus}"]
    elif role == "phone_number":
        found = ["+14155550123"]  # SMS to a number: the request names the number, not an ARN
    elif role == "sender_identity":
        # Whichever the operator verified, the address or its domain, must work.
        found = [f"arn:aws:ses:{arn}:identity/{sender}", f"arn:aws:ses:{arn}:identity/{sender.rpartition('@')[2]}"]
    elif role == "configuration_set":
        found = [f"arn:aws:ses:{arn}:configuration-set/{n.ses_configuration_set}"]
    elif role.startswith("parameter/"):
        found = [f"arn:aws:ssm:{arn}:parameter{n.parameter(role.split('/', 1)[1])}"]
    else:
        return []
    context = {"ses:FromAddress": sender} if call.action.startswith("ses:") else {}
    return [(call.action, resource, context) for resource in found]


# --- the record: the session's calls and one survey loop of our own ----------------------------

OUR_NUMBER = "+18885550100"
_driven = False


def drive_survey_loop(request) -> None:
    """One pass through every function, configured as a deployed stage is."""
    import boto3

    from chalicelib.followups.lifecycle import followup_id_for
    from chalicelib.platform import clock, secrets
    from tests.functional.helpers import (
        PHONE, choose_path, confirm, open_id_in, open_page, send_email_survey, send_sms_survey, submit_form,
    )
    from tests.functional.signin_helpers import add_lead, request_link
    from tests.repos import Repositories

    api, stack, webhook = (request.getfixturevalue(name) for name in ("api", "stack", "webhook"))
    monkeypatch = request.getfixturevalue("monkeypatch")
    prefix = "/closeloop/test/"
    ssm = boto3.client("ssm", region_name=REGION)
    for name in secrets.NAMES:
        ssm.put_parameter(Name=prefix + name, Value=uuid.uuid4().hex, Type="SecureString")
    sesv2 = boto3.client("sesv2", region_name=REGION)
    sesv2.create_configuration_set(ConfigurationSetName="closeloop-test")
    escalations = boto3.client("sns", region_name=REGION).create_topic(Name="escalations")["TopicArn"]
    boto3.client("events", region_name=REGION).create_event_bus(Name="closeloop-test-events")
    for variable, value in {
        "SECRETS_PARAMETER_PREFIX": prefix, "SECRETS_CACHE_SECONDS": "0",  # every function reads its own
        "SES_CONFIGURATION_SET": "closeloop-test", "ESCALATION_TOPIC_ARN": escalations,
        "ESCALATION_WEBHOOK_URL": webhook.url, "THROTTLE_DAYS": "0", "RESURVEY_DELAY_SECONDS": "0",
        "EVENT_BUS_NAME": "closeloop-test-events",
    }.items():
        monkeypatch.setenv(f"CLOSELOOP_{variable}", value)
    reset_caches()
    secrets.reset()

    # An email survey answered 1 with a comment: the alert (topic and signed webhook), a follow-up.
    n = uuid.uuid4().hex[:8]
    survey_id, links = send_email_survey(api, stack, interaction_id=f"zd-{n}",
                                         customer={"id": f"cus_{n}", "email": f"c{n}@example.com", "name": "Ada"})
    page = open_page(api, links[1])
    assert json.loads(confirm(api, links[1], page).body)["recorded"] is True
    clock.set_now(clock.now() + timedelta(seconds=5))
    thanks = submit_form(api, choose_path(links[1]),
                         {"open_id": open_id_in(page.body.decode()), "score": "1", "comment": "Nobody answered"})
    assert thanks.status_code == 200
    stack.run_jobs()
    assert stack.alerts(), "the detractor alert was not published"

    # Its deadline passes: the scheduled handler escalates it.
    followup_id = followup_id_for(survey_id)
    patched = api.http.patch(f"/v1/followups/{followup_id}", headers=api.headers,
                             body=json.dumps({"due_at": "2020-01-01T00:00:00Z"}))
    assert patched.status_code == 200, patched.body
    event = api.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                         resources=[f"arn:aws:events:{REGION}:{ACCOUNT}:rule/escalate"])
    assert api.lambda_.invoke("escalate_overdue", event).payload["escalated"] == [followup_id]

    # A lead claims and resolves it: its re-survey's timer is due at once (no delay here); the
    # scheduled handler queues it, and the jobs handler makes and sends the re-survey (and the
    # email of sam's assignment). An owner is a lead.
    add_lead("sam@example.com", name="Sam", owner="sam")
    for method, path, body in (("post", f"/v1/followups/{followup_id}/claim", {"owner": "sam"}),
                               ("patch", f"/v1/followups/{followup_id}", {"status": "resolved", "note": "refund"})):
        answer = getattr(api.http, method)(path, headers=api.headers, body=json.dumps(body))
        assert answer.status_code == 200, answer.body
    assert api.lambda_.invoke("escalate_overdue", event).payload["timers_fired"] == 1
    stack.run_jobs()
    assert Repositories().followups.get(followup_id).resurvey_id is not None

    # SES reports a bounce.
    bounce = (ROOT / "tests" / "fixtures" / "ses" / "bounce-permanent.json").read_text()
    api.lambda_.invoke("handle_ses_notice", api.events.generate_sns_event(
        message=bounce, subject="Amazon SES Email Event Notification"))

    # An SMS survey, answered by text with a score, then STOP.
    send_sms_survey(api, stack, interaction_id=f"zd-sms-{n}",
                    customer={"id": f"cus_sms_{n}", "phone": PHONE, "name": "Bo"})
    for body in ("2", "STOP"):
        message = {"originationNumber": PHONE, "destinationNumber": OUR_NUMBER, "messageKeyword": "KEYWORD_1",
                   "messageBody": body, "inboundMessageId": str(uuid.uuid4()), "previousPublishedMessageId": "p1"}
        api.lambda_.invoke("handle_sms_reply", api.events.generate_sns_event(message=json.dumps(message)))
    stack.run_jobs()

    # A lead asks for a sign-in link; an operator checks the health route.
    add_lead("lead@example.com", name="Lee", owner="lee")
    assert request_link(api, "lead@example.com").status_code == 200
    stack.run_jobs()  # the jobs handler emails the link
    api.http.get("/health")


@pytest.fixture
def recorded(request, record_aws_calls) -> dict[str, set[Call]]:
    global _driven
    if not _driven:
        drive_survey_loop(request)
        _driven = True
    return record_aws_calls.by_function()


def whole_functional_suite_ran(session) -> bool:
    """Every test file of tests/functional was part of this session (as under `make test`)."""
    ran = {Path(item.path) for item in session.items}
    return set(FUNCTIONAL.rglob("test_*.py")) <= ran


# --- the files ------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_the_committed_policy_files_are_their_rendering(stage):
    rendered = policies.render(stage, CONFIG)
    committed = {p.stem for p in (ROOT / ".chalice" / "policies" / stage).glob("*.json")}
    assert committed == set(rendered), "run `python -m ops.policies`"
    for function, policy in rendered.items():
        path = ROOT / ".chalice" / policies.policy_file(stage, function)
        assert path.read_text() == policies.text(policy), f"{path} is stale: run `python -m ops.policies`"


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_deploys_with_its_own_policy(stage):
    from chalice.app import ScheduledEventConfig, SNSEventConfig, SQSEventConfig

    from app import app

    functions = deployed_functions(app)
    assert set(policies.GRANTS) == functions, "ops/policies.py GRANTS must name exactly the app's functions"
    stage_config = CONFIG["stages"][stage]
    # No stage-wide file: a function added without a policy of its own fails to deploy instead.
    assert "iam_policy_file" not in stage_config and "iam_policy_file" not in CONFIG
    assert CONFIG["autogen_policy"] is False and stage_config.get("autogen_policy") in (None, False)
    assert {function: settings.get("iam_policy_file")
            for function, settings in stage_config.get("lambda_functions", {}).items()} == {
        function: policies.policy_file(stage, function) for function in functions}
    # The event source mapping polls the queue with its consumer's role (policies.RUNTIME_GRANTS).
    assert [s.name for s in app.event_sources if isinstance(s, SQSEventConfig)] == [policies.QUEUE_CONSUMER]
    # SNS and EventBridge invoke a function through its resource policy and need nothing in its
    # role; another kind of source (a stream, S3) needs runtime grants that are not declared yet.
    assert all(isinstance(s, (ScheduledEventConfig, SNSEventConfig, SQSEventConfig)) for s in app.event_sources)


@pytest.mark.parametrize("stage", STAGES)
def test_no_policy_grants_a_wildcard_action_or_an_unnamed_resource(stage):
    for function in policies.GRANTS:
        for statement in load_policy(stage, function)["Statement"]:
            assert statement["Effect"] == "Allow"
            assert not [a for a in as_list(statement["Action"]) if "*" in a], (function, statement["Sid"])
            if "NotResource" in statement:
                # SMS to phone numbers, which have no ARN: everything except SNS's own resources.
                assert as_list(statement["Action"]) == ["sns:Publish"], (function, statement)
                assert statement["NotResource"] == "arn:aws:sns:*:*:*", (function, statement)
                continue
            for resource in as_list(statement["Resource"]):
                # Region and account may be open (unknown when the files are written); the
                # service's resource is always named.
                arn, aws, service, _region, _account, named = (resource.split(":", 5) + [""] * 6)[:6]
                assert (arn, aws) == ("arn", "aws") and service, (function, resource)
                assert named and not named.startswith("*"), (function, resource)


# --- the proof ------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", STAGES)
def test_every_call_a_function_made_is_allowed_by_its_own_policy(stage, recorded):
    from app import app

    assert set(recorded) == deployed_functions(app), "a function was never exercised"
    refused = []
    for function, calls in recorded.items():
        policy = load_policy(stage, function)
        for call in sorted(calls):
            needed = requests_in(stage, call)
            if not needed:
                refused.append(f"{function}: {call.action} on {call.resource} (none of the stage's resources)")
            for action, resource, context in needed:
                if not allowed(policy, action, resource, context):
                    refused.append(f"{function}: {action} on {resource}")
    assert not refused, "calls the deployed policy would refuse:\n" + "\n".join(refused)


@pytest.mark.parametrize("stage", STAGES)
def test_no_function_is_granted_what_it_never_uses(stage, recorded, request):
    """A service granted but never called fails always. After the whole functional suite, so does
    any granted action no call used (an unused grant there is dead, or an untested path)."""
    whole = whole_functional_suite_ran(request.session)
    unused = []
    for function, calls in recorded.items():
        runtime = {a for actions in policies.RUNTIME_GRANTS.get(function, {}).values() for a in actions}
        called = {call.action.split(":")[0] for call in calls}
        for statement in load_policy(stage, function)["Statement"]:
            for action in as_list(statement["Action"]):
                if action in runtime:
                    continue
                if action.split(":")[0] not in called:
                    unused.append(f"{function}: {action} ({statement['Sid']}): the function never calls {action.split(':')[0]}")
                elif whole and not any(_statement_applies(statement, req_action, resource, context)
                                       for call in calls if call.action == action
                                       for req_action, resource, context in requests_in(stage, call)):
                    unused.append(f"{function}: {action} ({statement['Sid']}): never used in the functional suite")
    assert not unused, "grants nothing used:\n" + "\n".join(unused)


def test_the_proof_fails_for_a_call_the_policy_does_not_grant():
    """The evaluation itself: what it allows and what it refuses."""
    policy = policies.render("dev", CONFIG)["handle_job"]
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/closeloop-dev"
    assert allowed(policy, "dynamodb:PutItem", table, {})
    assert not allowed(policy, "dynamodb:Scan", table, {})
    assert not allowed(policy, "dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/closeloop-prod", {})
    assert allowed(policy, "sns:Publish", "+14155550123", {})
    assert not allowed(policy, "sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:closeloop-dev-escalations", {})
    identity = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.com"
    assert allowed(policy, "ses:SendEmail", identity, {"ses:FromAddress": "surveys@example.com"})
    assert not allowed(policy, "ses:SendEmail", identity, {"ses:FromAddress": "ceo@example.com"})
    assert API_HANDLER in policies.GRANTS
