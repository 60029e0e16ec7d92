"""Detractors: exactly one alert (topic and webhook) and one follow-up per survey, with the comment,
whatever the retries, redeliveries and changes of mind."""
from __future__ import annotations

import json

import pytest

from chalicelib.followups.jobs import HandleResponse
from chalicelib.followups.lifecycle import followup_id_for
from chalicelib.storage import steps
from chalicelib.storage.steps import StepBusy
from tests.functional.helpers import (
    choose_path, confirm, deliver, open_id_in, open_page, requested_delays, send_email_survey, submit_form, survey,
    take_jobs,
)
from tests.repos import Repositories

COMMENT_WAIT_SECONDS = 10  # CLOSELOOP_COMMENT_WAIT_SECONDS in the stack fixture


def respond(api, clock, link, *, comment=None):
    """A person opens a score link and stays; optionally adds a comment on the page."""
    page = open_page(api, link)
    clock.advance(3)
    assert json.loads(confirm(api, link, page).body)["recorded"] is True
    if comment is not None:
        clock.advance(5)
        score = link.rsplit("/", 1)[1]
        thanks = submit_form(api, choose_path(link),
                             {"open_id": open_id_in(page.body.decode()), "score": score, "comment": comment})
        assert thanks.status_code == 200


def followup(survey_id):
    return Repositories().followups.get(followup_id_for(survey_id))


def test_a_csat_1_with_a_comment_gives_one_alert_and_one_slack_post_naming_everything(api, stack, webhook, clock):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[1], comment="Nobody read my ticket")

    assert requested_delays(stack, "handle_response") == [(0, COMMENT_WAIT_SECONDS)]
    stack.run_jobs()

    alerts = stack.alerts()
    assert len(alerts) == 1 and len(webhook.bodies) == 1
    for text in (alerts[0]["message"], webhook.bodies[0]["text"]):
        for needle in ("CSAT 1", "Nobody read my ticket", "Sam", "billing", "zd-48213"):
            assert needle in text, (needle, text)
    assert "zd-48213" in alerts[0]["subject"]

    slack = webhook.bodies[0]
    assert set(slack) == {"text", "blocks", "reasons", "themes", "resolved"}
    assert isinstance(slack["blocks"], list) and slack["blocks"]
    assert all("type" in block for block in slack["blocks"])
    blocks = json.dumps(slack["blocks"])
    for needle in ("1 (CSAT)", "Nobody read my ticket", "Sam", "billing", "zd-48213"):
        assert needle in blocks, needle

    opened = followup(survey_id)
    assert opened is not None and opened.score == 1 and opened.comment == "Nobody read my ticket"
    assert opened.agent.name == "Sam" and opened.team == "billing" and opened.alert_error is None


def test_a_nps_detractor_is_alerted_with_its_scale(api, stack, webhook, clock):
    survey_id, links = send_email_survey(api, stack, survey="nps")
    respond(api, clock, links[6])
    stack.run_jobs()
    assert len(stack.alerts()) == 1 and len(webhook.bodies) == 1
    assert "NPS 6" in stack.alerts()[0]["message"] and "(no comment)" in stack.alerts()[0]["message"]
    assert followup(survey_id).score == 6


def test_the_same_handle_response_job_delivered_twice_alerts_once(api, stack, webhook, clock):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[1])
    (job,) = take_jobs(stack)
    assert isinstance(job, HandleResponse)

    deliver(job)
    deliver(job)
    deliver(job.model_copy(update={"attempt": 1}))  # a retry of it arriving late changes nothing
    stack.run_jobs()

    assert len(stack.alerts()) == 1 and len(webhook.bodies) == 1
    assert followup(survey_id) is not None
    assert Repositories().followups.get(followup_id_for(survey_id)).followup_id == followup_id_for(survey_id)


def test_a_webhook_failure_after_the_topic_alert_is_retried_and_each_channel_alerts_once(api, stack, webhook,
                                                                                       clock):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[2])
    webhook.fail_next = 1
    (job,) = take_jobs(stack)

    deliver(job)  # the topic step succeeds, then the webhook answers 503

    assert len(stack.alerts()) == 1 and webhook.bodies == []
    error = followup(survey_id).alert_error
    assert error and "503" in error and "/hooks/slack" not in error  # the URL is the webhook's secret
    retries = [(attempt, delay) for attempt, delay in requested_delays(stack, "handle_response") if attempt > 0]
    assert len(retries) == 1 and retries[0][1] > 0

    stack.run_jobs()  # the retry
    deliver(job)  # and the original message again, for good measure

    assert len(stack.alerts()) == 1 and len(webhook.bodies) == 1
    assert followup(survey_id).alert_error is None


def test_a_crash_right_after_the_topic_publish_repeats_only_that_step_once_its_lease_ran_out(
        api, stack, webhook, clock, monkeypatch):
    """The designed policy for alerts (chalicelib/storage/steps.py): a step whose worker died inside
    it is repeated, better twice than never; a step that never ran runs exactly once."""
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[1])
    real_complete = steps.complete
    crashed = []

    def complete_step_crashing_after_topic(item, step, at, table=None):
        if step == "alert_topic" and not crashed:
            crashed.append(step)
            raise RuntimeError("worker died after SNS published")
        return real_complete(item, step, at, table)

    monkeypatch.setattr(steps, "complete", complete_step_crashing_after_topic)
    (job,) = take_jobs(stack)
    deliver(job)

    assert len(stack.alerts()) == 1 and webhook.bodies == []
    assert "worker died" in followup(survey_id).alert_error
    (retry,) = take_jobs(stack)
    with pytest.raises(StepBusy):
        deliver(retry)  # while the dead worker's lease lasts, nobody alerts again
    assert len(stack.alerts()) == 1 and webhook.bodies == []

    clock.advance(121)  # the 120 s lease of an alert step ran out
    deliver(retry)
    stack.run_jobs()

    assert len(stack.alerts()) == 2 and len(webhook.bodies) == 1
    assert followup(survey_id).alert_error is None


@pytest.mark.parametrize("score", [3, 4, 5])
def test_a_neutral_or_promoter_csat_opens_nothing(api, stack, webhook, clock, score):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[score], comment="fine")
    assert requested_delays(stack, "handle_response") == []
    stack.run_jobs()
    assert stack.alerts() == [] and webhook.bodies == [] and followup(survey_id) is None


def test_a_detractor_who_changes_to_5_before_the_job_runs_is_not_alerted(api, stack, webhook, clock):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[1])
    clock.advance(5)  # within the comment wait, the person opens the 5 instead
    respond(api, clock, links[5])
    assert survey(api, survey_id)["score"] == 5

    stack.run_jobs()

    assert len(requested_delays(stack, "handle_response")) == 1  # the job ran, and found no detractor
    assert stack.alerts() == [] and webhook.bodies == [] and followup(survey_id) is None


def test_a_promoter_who_changes_to_a_detractor_is_alerted_once(api, stack, webhook, clock):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[5])
    stack.run_jobs()
    assert stack.alerts() == []

    clock.advance(600)
    respond(api, clock, links[1], comment="Actually, the fix broke again")
    stack.run_jobs()

    assert len(stack.alerts()) == 1 and len(webhook.bodies) == 1
    assert "Actually, the fix broke again" in stack.alerts()[0]["message"]
    assert followup(survey_id).score == 1


def test_a_detractor_changing_between_low_scores_is_alerted_once(api, stack, webhook, clock):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[1])
    stack.run_jobs()
    clock.advance(600)
    respond(api, clock, links[2], comment="A bit better now")
    clock.advance(600)
    respond(api, clock, links[5])
    clock.advance(600)
    respond(api, clock, links[1])
    stack.run_jobs()

    assert len(stack.alerts()) == 1 and len(webhook.bodies) == 1
    assert followup(survey_id).score == 1


def test_without_a_webhook_only_the_topic_is_alerted(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[2], comment="meh")
    stack.run_jobs()
    assert len(stack.alerts()) == 1 and "meh" in stack.alerts()[0]["message"]
    assert followup(survey_id).alert_error is None


def test_an_nps_0_counts_and_is_alerted(api, stack, webhook, clock):
    survey_id, links = send_email_survey(api, stack, survey="nps")
    assert sorted(links) == list(range(0, 11))
    respond(api, clock, links[0], comment="Never again")
    assert survey(api, survey_id)["score"] == 0
    stack.run_jobs()
    assert len(stack.alerts()) == 1 and "NPS 0" in stack.alerts()[0]["message"]
    assert len(webhook.bodies) == 1 and "Never again" in webhook.bodies[0]["text"]
    assert followup(survey_id).score == 0
