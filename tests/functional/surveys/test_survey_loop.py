"""The survey loop through chalice's test client: interaction in, email out, response, alert."""
from __future__ import annotations

import json
import re

from tests.functional.helpers import BROWSER, confirm, interaction, opens, path_of, post, score_links, survey


def test_email_survey_is_sent_once_with_a_link_per_score(api, stack):
    response = post(api, interaction())
    assert response.status_code == 202
    body = json.loads(response.body)
    assert body["status"] == "scheduled" and re.fullmatch(r"[0-9a-f]{16}", body["survey_id"])

    again = post(api, interaction())
    assert again.status_code == 200 and json.loads(again.body)["survey_id"] == body["survey_id"]

    stack.run_jobs()
    emails = stack.emails()
    assert len(emails) == 1
    sent = emails[0]
    assert "ada@example.com" in sent.to and sent.message["To"] == "Ada Lovelace <ada@example.com>"
    assert "Ada" in sent.subject and "closeloop" in sent.subject
    text, html = sent.part("plain"), sent.part("html")
    links = score_links(text)
    assert sorted(links) == [1, 2, 3, 4, 5]
    assert len({path_of(u).rsplit("/", 1)[0] for u in links.values()}) == 1  # one token for all links
    for score, url in links.items():
        assert f'href="{url}"' in html
    assert "Sam" in text and "Sam" in html
    assert survey(api, body["survey_id"])["status"] == "sent"


def test_a_person_who_stays_on_the_page_is_counted_and_a_detractor_alerted_once(api, stack):
    survey_id = json.loads(post(api, interaction()).body)["survey_id"]
    stack.run_jobs()
    link = path_of(score_links(stack.emails()[0].part("plain"))[2])

    page = api.http.get(link, headers={"User-Agent": BROWSER})
    assert page.status_code == 200
    assert survey(api, survey_id)["score"] is None  # a GET alone never counts

    confirmed = confirm(api, link, page)
    assert json.loads(confirmed.body) == {"recorded": True, "score": 2}
    state = survey(api, survey_id)
    assert state["score"] == 2 and state["status"] == "responded"

    stack.run_jobs()
    stack.run_jobs()
    alerts = stack.alerts()
    assert len(alerts) == 1
    assert "zd-48213" in alerts[0]["message"] and "Sam" in alerts[0]["message"] and "billing" in alerts[0]["message"]


def test_a_page_that_confirms_itself_at_once_is_a_script_not_a_person(api, stack):
    survey_id = json.loads(post(api, interaction()).body)["survey_id"]
    stack.run_jobs()
    link = path_of(score_links(stack.emails()[0].part("plain"))[4])
    page = api.http.get(link, headers={"User-Agent": BROWSER})

    too_soon = confirm(api, link, page, after_seconds=0.5)
    assert json.loads(too_soon.body) == {"recorded": False, "score": None}
    assert survey(api, survey_id)["score"] is None
    (evidence,) = opens(api, survey_id)
    assert evidence["verdict"] == "automated" and "sooner" in evidence["reason"]


def test_a_malformed_job_message_is_dropped_instead_of_failing_forever(stack, caplog):
    import boto3

    boto3.client("sqs", region_name="us-east-1").send_message(QueueUrl=stack.queue_url,
                                                              MessageBody='{"job": {"kind": "reticulate"}}')
    assert stack.run_jobs() == 1  # ran once, acknowledged, not redelivered
    assert "dropped a malformed job message" in caplog.text
