"""Praise reaches the agent: a promoter's comment is shared once on the kudos webhook when the
stage opts in, escaped for Slack and without the customer's name, and shows on the agent view."""
from __future__ import annotations

import json

import pytest

from chalicelib.followups.jobs import ShareKudos
from tests.conftest import reset_caches, webhook_at
from tests.functional.followups.test_detractor_alerts import respond
from tests.functional.helpers import deliver, send_email_survey, take_jobs
from tests.functional.insight.test_dashboard import cookie, get, html, lead  # noqa: F401

PRAISE = "Sam fixed it in minutes <!channel> & thanks!"


@pytest.fixture
def kudos(stack, monkeypatch):
    yield from webhook_at(monkeypatch, "CLOSELOOP_KUDOS_WEBHOOK_URL")


def test_a_promoters_comment_is_shared_once_naming_the_agent_not_the_customer(api, stack, kudos, clock):
    survey_id, links = send_email_survey(api, stack, survey="nps")
    respond(api, clock, links[10], comment=PRAISE)
    jobs = [job for job in take_jobs(stack) if isinstance(job, ShareKudos)]
    assert len(jobs) == 1

    deliver(jobs[0])
    deliver(jobs[0])  # redelivered: shared once

    (body,) = kudos.bodies
    everything = json.dumps(body)
    assert "Kudos for Sam" in body["text"] and "NPS 10" in body["text"]
    assert "&lt;!channel&gt;" in body["text"] and "<!channel>" not in everything
    assert "Ada" not in everything and "ada@example.com" not in everything


@pytest.mark.parametrize("score,comment", [(10, None), (6, "Meh"), (8, "Fine")])
def test_no_praise_without_a_comment_or_from_a_passive_or_detractor(api, stack, kudos, clock, score, comment):
    _survey_id, links = send_email_survey(api, stack, survey="nps")
    respond(api, clock, links[score], comment=comment)
    stack.run_jobs()

    assert kudos.bodies == []


def test_without_the_kudos_webhook_nothing_is_queued_or_shared(api, stack, clock):
    _survey_id, links = send_email_survey(api, stack, survey="nps")
    respond(api, clock, links[9], comment=PRAISE)

    assert not [job for job, _ in stack.delays if isinstance(job, ShareKudos)]


def test_praise_withdrawn_before_it_was_shared_is_not_shared(api, stack, kudos, clock):
    from chalicelib.surveys import SurveyRepository, withdraw_response

    survey_id, links = send_email_survey(api, stack, survey="csat")
    respond(api, clock, links[5], comment=PRAISE)
    (job,) = [job for job in take_jobs(stack) if isinstance(job, ShareKudos)]
    survey, views = SurveyRepository().get_with_opens(survey_id)
    withdraw_response(survey, views[0], clock.now)  # a sweep found meanwhile

    deliver(job)
    assert kudos.bodies == []


def test_the_agent_view_shows_praise_only_when_the_stage_opts_in(api, stack, clock, cookie, monkeypatch):  # noqa: F811
    _survey_id, links = send_email_survey(api, stack, survey="nps")
    respond(api, clock, links[9], comment="<b>Brilliant</b> help")

    assert "Praise" not in html(get(api, "/dashboard/people", cookie, survey="nps"))
    monkeypatch.setenv("CLOSELOOP_KUDOS_ON_DASHBOARD", "true")
    reset_caches()
    page = html(get(api, "/dashboard/people", cookie, survey="nps"))
    assert "Praise" in page and "&lt;b&gt;Brilliant&lt;/b&gt; help" in page and "<b>Brilliant" not in page
