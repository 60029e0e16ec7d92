"""Observability through a run of the survey loop: JSON log lines that share one correlation id
from the interaction to the escalation and hold no personal data, and the EMF metrics it emits,
each event counted once however often a job is delivered."""
from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from chalicelib.platform import aws, telemetry
from tests.functional.helpers import (
    BROWSER, PHONE, choose_path, confirm, deliver, interaction, open_id_in, open_page, path_of, post, score_links,
    submit_form, token_of,
)

COMMENT = "Nobody read my ticket"
SLA = timedelta(hours=24)  # the default follow-up deadline (no CLOSELOOP_ROUTING in the stack fixture)


@pytest.fixture
def json_logs():
    """JSON log lines on stdout, as on the first Lambda invocation (tests ask for them)."""
    root = logging.getLogger()
    level = root.level
    handler = telemetry.install_logging("INFO")
    yield
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def emf(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_METRICS", "emf")


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def invoke_schedule(api) -> dict:
    event = api.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                         resources=["arn:aws:events:us-east-1:123456789012:rule/escalate"])
    return api.lambda_.invoke("escalate_overdue", event).payload


def detractor_with_comment(api, stack, clock) -> tuple[str, str]:
    """Interaction in, email out, CSAT 1 confirmed and a comment added, the detractor job run
    (follow-up and alert). Returns (survey_id, the link's token)."""
    response = post(api, interaction())
    assert response.status_code == 202
    survey_id = json.loads(response.body)["survey_id"]
    stack.run_jobs()
    link = path_of(score_links(stack.emails()[0].part("plain"))[1])
    page = open_page(api, link)
    assert json.loads(confirm(api, link, page).body)["recorded"] is True
    clock.advance(5)
    thanks = submit_form(api, choose_path(link), {"open_id": open_id_in(page.body.decode()), "score": "1",
                                                  "comment": f"{COMMENT}, call me on {PHONE}"})
    assert thanks.status_code == 200
    stack.run_jobs()
    assert len(stack.alerts()) == 1
    return survey_id, token_of(link)


# --- logs ----------------------------------------------------------------------------------

def test_one_correlation_id_follows_a_survey_from_interaction_to_escalation(api, stack, clock, json_logs, capsys):
    survey_id, token = detractor_with_comment(api, stack, clock)
    clock.advance(SLA.total_seconds() + 60)
    assert invoke_schedule(api)["escalated"] == [f"fu_{survey_id}"]

    output = capsys.readouterr()
    lines = json_lines(output.out)
    chain = [line for line in lines if line["correlation_id"]]
    assert {line["correlation_id"] for line in chain} == {survey_id}
    messages = {line["message"]: line for line in chain}
    steps = [(f"survey {survey_id} accepted for interaction zd-48213", None),
             (f"survey {survey_id} sent", "handle_job"),
             (f"survey {survey_id}: response recorded", None),
             (f"detractor: follow-up fu_{survey_id} opened", "handle_job"),
             (f"detractor: follow-up fu_{survey_id} alerted", "handle_job"),
             (f"follow-up fu_{survey_id} escalated", "escalate_overdue")]
    for message, function in steps:
        assert message in messages, f"no line {message!r} with the survey's correlation id"
        if function:
            assert messages[message]["function"] == function and messages[message]["request_id"]
    line = messages[f"survey {survey_id} sent"]
    assert line["level"] == "INFO" and line["logger"] == "chalicelib.delivery.sending" and line["channel"] == "email"
    assert messages[f"survey {survey_id}: response recorded"]["score"] == 1
    # The run's summary is about every follow-up, so it belongs to none.
    (summary,) = [line for line in lines if line["message"].startswith("escalation run:")]
    assert summary["correlation_id"] is None

    everything = output.out + output.err
    for personal in ("ada@example.com", "Lovelace", COMMENT, PHONE, token):
        assert personal not in everything


def test_the_next_survey_gets_its_own_correlation_id(api, stack, json_logs, capsys):
    first = json.loads(post(api, interaction()).body)["survey_id"]
    second = json.loads(post(api, interaction(interaction_id="zd-2", customer={"id": "cus_2", "email": "b@example.com"})).body)["survey_id"]
    stack.run_jobs()

    lines = json_lines(capsys.readouterr().out)
    sent = {line["correlation_id"] for line in lines if line["message"].endswith(" sent")}
    assert sent == {first, second} and first != second
    for line in lines:
        if line["correlation_id"] in (first, second) and line["message"].startswith("survey "):
            assert line["message"].split()[1].rstrip(":") == line["correlation_id"]


def test_each_invocation_starts_with_no_correlation_id():
    class Event:
        context = None

    seen = []

    def handler(event):
        seen.append(telemetry.correlation_id())
        telemetry.correlate("3f9c2a1b7d4e6f80")
        return "done"

    assert telemetry.around(Event(), handler) == "done"
    assert telemetry.around(Event(), handler) == "done"
    assert seen == [None, None] and telemetry.correlation_id() is None


def test_personal_data_that_reaches_a_log_call_is_scrubbed(json_logs, capsys):
    log = logging.getLogger("chalicelib.test")
    log.warning("MessageRejected: Email address is not verified: ada@example.com; sms to +14155550123; "
                "link http://x/s/AbCdEfGh12345678_-xyz/2",
                extra={"email": "ada@example.com", "customer_name": "Ada", "comment": COMMENT, "survey_id": "abc"})
    try:
        raise ValueError("input_value='bob@example.org'")
    except ValueError:
        log.exception("failed")

    out = capsys.readouterr().out
    first, second = json_lines(out)
    assert first["message"] == "MessageRejected: Email address is not verified: <email>; sms to <phone>; " \
                               "link http://x/s/<token>/2"
    assert (first["email"], first["customer_name"], first["comment"]) == ("<redacted>",) * 3
    assert first["survey_id"] == "abc" and first["level"] == "WARNING" and first["logger"] == "chalicelib.test"
    assert "ValueError" in second["exception"] and "<email>" in second["exception"]
    for personal in ("ada@example.com", "bob@example.org", "14155550123", "AbCdEfGh12345678", COMMENT):
        assert personal not in out


def test_json_logs_are_installed_on_the_first_invocation_only_when_asked(api, stack, monkeypatch):
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    monkeypatch.setattr(telemetry, "_installed", False)
    api.http.get("/health")
    assert root.handlers == before  # not in Lambda, not asked: nothing installed

    monkeypatch.setattr(telemetry, "_installed", False)
    monkeypatch.setenv("CLOSELOOP_LOG_FORMAT", "json")
    try:
        api.http.get("/health")
        api.http.get("/health")
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and isinstance(added[0].formatter, telemetry.JsonFormatter)
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


# --- metrics -------------------------------------------------------------------------------

def emitted(text: str) -> list[tuple[str, float, dict]]:
    """(metric, value, document) of every EMF document, its structure checked."""
    found = []
    for document in json_lines(text):
        if "_aws" not in document:
            continue
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "closeloop" and directive["Dimensions"] == [["Stage"]]
        (metric,) = directive["Metrics"]
        assert metric["Unit"] == "Count" and metric["Name"] in telemetry.METRICS
        assert isinstance(document["_aws"]["Timestamp"], int) and document["Stage"]
        found.append((metric["Name"], document[metric["Name"]], document))
    return found


def totals(found) -> Counter:
    counts = Counter()
    for name, value, _ in found:
        counts[name] += value
    return counts


def test_a_run_of_the_survey_loop_emits_each_event_once(api, stack, clock, emf, capsys):
    from chalicelib.delivery.jobs import SendSurvey
    from chalicelib.followups.jobs import HandleResponse

    response = post(api, interaction())
    survey_id = json.loads(response.body)["survey_id"]
    assert post(api, interaction()).status_code == 200  # a repeated interaction: nothing new
    stack.run_jobs()
    deliver(SendSurvey(survey_id=survey_id))  # SQS delivers the send job again: not sent twice
    link = path_of(score_links(stack.emails()[0].part("plain"))[1])
    assert len(stack.emails()) == 1

    assert api.http.request("HEAD", link, headers={"User-Agent": BROWSER}).status_code == 200  # a link checker
    page = open_page(api, link)
    assert json.loads(confirm(api, link, page).body)["recorded"] is True
    clock.advance(5)
    submit_form(api, choose_path(link), {"open_id": open_id_in(page.body.decode()), "score": "1", "comment": COMMENT})
    stack.run_jobs()
    deliver(HandleResponse(survey_id=survey_id, expected_version=1))  # again: no second follow-up or alert
    assert len(stack.alerts()) == 1
    after_loop = emitted(capsys.readouterr().out)

    # The same customer now has an open follow-up: not surveyed.
    suppressed = post(api, interaction(interaction_id="zd-again"))
    assert json.loads(suppressed.body)["status"] == "suppressed"
    # Another customer's survey the provider refuses for good.
    refuse = ClientError({"Error": {"Code": "MessageRejected", "Message": "Address blacklisted."}}, "SendEmail")
    client = aws.client("sesv2")
    original = client.send_email
    client.send_email = lambda **kwargs: (_ for _ in ()).throw(refuse)
    try:
        failed = json.loads(post(api, interaction(interaction_id="zd-bob", customer={
            "id": "cus_bob", "email": "bob@example.com"})).body)["survey_id"]
        stack.run_jobs()
    finally:
        client.send_email = original
    clock.advance(SLA.total_seconds() + 60)
    invoke_schedule(api)
    invoke_schedule(api)  # the next minute: nothing left to escalate
    after_all = emitted(capsys.readouterr().out)

    assert totals(after_loop) == {"SurveysAccepted": 1, "SurveysSent": 1, "AutomatedOpens": 1, "Responses": 1,
                                  "Detractors": 1, "Alerts": 1}
    assert totals(after_all) == {"SurveysSuppressed": 1, "SurveysAccepted": 1, "SurveysFailed": 1,
                                 "Escalations": 1, "OverdueFollowUps": 0}
    assert [value for name, value, _ in after_all if name == "OverdueFollowUps"] == [0, 0]  # one a run
    loop = {name: document for name, _, document in after_loop}
    later = {name: document for name, _, document in after_all}
    for name in ("SurveysAccepted", "SurveysSent", "AutomatedOpens", "Responses", "Detractors", "Alerts"):
        assert loop[name]["correlation_id"] == survey_id, name
    assert later["Escalations"]["correlation_id"] == survey_id
    assert later["SurveysAccepted"]["correlation_id"] == later["SurveysFailed"]["correlation_id"] == failed
    assert loop["SurveysSent"]["function"] == "handle_job" and loop["SurveysSent"]["channel"] == "email"
    assert later["SurveysSuppressed"]["reason"] == "open_followup"
    assert loop["Alerts"]["channel"] == "topic"


def test_an_escalation_that_cannot_go_out_is_counted_overdue_each_minute(api, stack, clock, emf, capsys):
    survey_id, _ = detractor_with_comment(api, stack, clock)
    capsys.readouterr()
    down = ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, "Publish")
    client = aws.client("sns")
    original = client.publish
    client.publish = lambda **kwargs: (_ for _ in ()).throw(down)
    try:
        clock.advance(SLA.total_seconds() + 60)
        assert invoke_schedule(api)["failed"] == [f"fu_{survey_id}"]
        assert invoke_schedule(api)["failed"] == [f"fu_{survey_id}"]
    finally:
        client.publish = original
    assert invoke_schedule(api)["escalated"] == [f"fu_{survey_id}"]  # the channel is back

    found = emitted(capsys.readouterr().out)
    assert [value for name, value, _ in found if name == "OverdueFollowUps"] == [1, 1, 0]
    assert totals(found)["Escalations"] == 1


def test_no_metric_is_printed_outside_lambda_unless_asked(api, stack, capsys):
    post(api, interaction())
    stack.run_jobs()
    assert emitted(capsys.readouterr().out) == []


def test_an_unknown_metric_name_is_refused():
    with pytest.raises(ValueError, match="unknown metric"):
        telemetry.count("SurveysSnet")
