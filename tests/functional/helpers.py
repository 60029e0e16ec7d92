"""Helpers shared by the functional tests: requests through chalice's test client, the links a
customer received, and what the app stored, queued or sent."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Optional
from urllib.parse import urlencode

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
SCRIPT = "python-requests/2.32.3"
PHONE = "+14155550123"


# --- the admin API ---------------------------------------------------------------------------

def interaction(**overrides) -> dict:
    body = {
        "interaction_id": "zd-48213", "survey": "csat", "channel": "email",
        "customer": {"id": "cus_19", "email": "ada@example.com", "phone": PHONE, "name": "Ada Lovelace",
                     "locale": "en", "timezone": "America/New_York"},
        "agent": {"id": "agt_7", "name": "Sam"}, "team": "billing", "properties": {"plan": "pro"},
        "occurred_at": "2026-11-24T10:00:00Z",
    }
    body.update(overrides)
    return body


def post(api, body):
    return api.http.post("/v1/interactions", headers=api.headers, body=json.dumps(body))


def survey(api, survey_id):
    return json.loads(api.http.get(f"/v1/surveys/{survey_id}", headers=api.headers).body)


def opens(api, survey_id) -> list[dict]:
    response = api.http.get(f"/v1/surveys/{survey_id}/opens", headers=api.headers)
    assert response.status_code == 200
    return json.loads(response.body)["opens"]


def stored_survey(survey_id):
    """The survey item as stored (with fields the API does not show, e.g. response_version)."""
    from chalicelib.surveys import SurveyRepository

    return SurveyRepository().get(survey_id)


# --- what the customer received --------------------------------------------------------------

def score_links(text: str) -> dict[int, str]:
    """Score -> link, from the text part's 'N - label: URL' lines."""
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d+) - [^:]+: (\S+)$", text, re.M)}


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def token_of(path: str) -> str:
    return re.match(r"^/[sh]/([A-Za-z0-9_-]+)", path).group(1)


def open_id_in(html: str) -> str:
    return re.search(r'name="open_id" value="([^"]+)"', html).group(1)


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def send_email_survey(api, stack, **overrides) -> tuple[str, dict[int, str]]:
    """Post an interaction, deliver its email; returns (survey_id, score -> link path)."""
    response = post(api, interaction(**overrides))
    assert response.status_code == 202, response.body
    survey_id = json.loads(response.body)["survey_id"]
    stack.run_jobs()
    mails = [m for m in stack.emails() if m.message["X-Closeloop-Survey"] == survey_id]
    assert len(mails) == 1
    return survey_id, {score: path_of(url) for score, url in score_links(mails[0].part("plain")).items()}


def send_sms_survey(api, stack, **overrides) -> tuple[str, str]:
    """Post an SMS interaction, deliver it; returns (survey_id, path of the SMS's one link)."""
    response = post(api, interaction(**{"channel": "sms", **overrides}))
    assert response.status_code == 202, response.body
    survey_id = json.loads(response.body)["survey_id"]
    stack.run_jobs()
    texts = [text for _, text in stack.sms()]
    assert len(texts) == 1
    (link,) = links_in(texts[0])
    return survey_id, path_of(link)


# --- survey pages ----------------------------------------------------------------------------

def open_page(api, path, user_agent=BROWSER):
    return api.http.get(path, headers={"User-Agent": user_agent})


PAGE_DWELL_SECONDS = 3  # CLOSELOOP_CONFIRM_DWELL_MS's default: how long the page waits


def confirm(api, path, page=None, user_agent=BROWSER, open_id: Optional[str] = None,
            after_seconds: float = PAGE_DWELL_SECONDS):
    """What the landing page's script posts once it has been visible for a moment.

    The app's clock moves on by `after_seconds` first (and stays frozen there), as the page
    waits before it confirms; the `stack` fixture lets the clock run again afterwards.
    """
    from chalicelib.platform import clock

    clock.set_now(clock.now() + timedelta(seconds=after_seconds))
    body = {"open_id": open_id or open_id_in(page.body.decode())} if (page or open_id) else {}
    return api.http.post(path, headers={"User-Agent": user_agent, "Content-Type": "application/json"},
                         body=json.dumps(body))


def submit_form(api, path, fields: dict, user_agent=BROWSER, encoding="urlencoded"):
    """The person submits a page's form, encoded as a browser would."""
    if encoding == "urlencoded":
        body = urlencode(fields).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        boundary = "----closeloop" + uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                 for name, value in fields.items()]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        content_type = f"multipart/form-data; boundary={boundary}"
    return api.http.post(path, headers={"User-Agent": user_agent, "Content-Type": content_type}, body=body)


def choose_path(path: str) -> str:
    """The form target of every page: /s/{token}."""
    return f"/s/{token_of(path)}"


# --- what the app stored and queued ----------------------------------------------------------

def stored_items(stack) -> list[dict]:
    """Every item of the table except API keys (which the fixtures create)."""
    from chalicelib.platform import aws

    items, kwargs = [], {"TableName": stack.table, "ConsistentRead": True}
    while True:
        page = aws.client("dynamodb").scan(**kwargs)
        items += [item for item in page["Items"] if item["pk"]["S"] != "APIKEY"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def queued_messages(stack) -> int:
    import boto3

    attributes = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=stack.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return sum(int(value) for value in attributes.values())


def assert_nothing_stored_or_sent(stack) -> None:
    assert stored_items(stack) == []
    assert queued_messages(stack) == 0 and stack.delays == []
    assert stack.emails() == [] and stack.sms() == [] and stack.alerts() == []


def deliver(job) -> None:
    """Hand one job to the real SQS handler, as SQS would (again) deliver it."""
    from chalice.test import Client

    from app import app
    from chalicelib.platform import jobs
    from tests.conftest import ROOT

    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        event = client.events.generate_sqs_event(message_bodies=[jobs.body_of(job)],
                                                 queue_name="closeloop-jobs")
        client.lambda_.invoke("handle_job", event)


def take_jobs(stack) -> list:
    """Remove every queued job from the queue without running it (to deliver them by hand)."""
    import boto3

    from chalicelib.api.events import JOB_HANDLERS
    from chalicelib.platform import jobs

    sqs = boto3.client("sqs", region_name="us-east-1")
    taken = []
    while True:
        messages = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return taken
        for message in messages:
            taken.append(jobs.parse(message["Body"], JOB_HANDLERS))
            sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])


def requested_delays(stack, kind: str) -> list[tuple[int, float]]:
    """(attempt, delay) of every enqueued job of a kind ("send_survey", "handle_response")."""
    return [(job.attempt, delay) for job, delay in stack.delays if job.kind == kind]


# --- timers (storage/timers.py) ---------------------------------------------------------------

def fire_timers() -> dict:
    """The minute's schedule as EventBridge invokes it: queues the jobs whose timers are due (and
    escalates overdue follow-ups); its answer says how many timers fired."""
    from chalice.test import Client

    from app import app
    from tests.conftest import ROOT

    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=["arn:aws:events:us-east-1:123456789012:rule/minute"])
        return client.lambda_.invoke("escalate_overdue", event).payload


def timer_on(pk: str, sk: str):
    """(when, the job) of the timer an item carries, or None."""
    from chalicelib.api.events import JOB_HANDLERS
    from chalicelib.platform import clock, jobs
    from chalicelib.storage.table import ItemKey
    from tests.repos import Repositories

    item = Repositories().table.get(ItemKey(pk, sk), include_expired=True) or {}
    if not item.get("due_pk", "").startswith("TIMER#"):
        return None
    at, _, body = item["due_sk"].partition("#")
    return clock.parse_iso(at), jobs.parse(body, JOB_HANDLERS)


def survey_timer(survey_id: str):
    """(when, the job) of a survey's timer (its planned send, or its reminder), or None."""
    return timer_on(f"SURVEY#{survey_id}", "SURVEY")


def next_timer_at():
    """When the earliest timer of the table is due, or None."""
    from chalicelib.storage import timers
    from tests.repos import Repositories

    return timers.next_due(Repositories().table)
