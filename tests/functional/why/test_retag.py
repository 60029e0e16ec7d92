"""A stage with a themes model: a new comment queues the re-tagging job after the response; the
job writes the model's themes and moves the theme counters in one transaction, once, and only
while the response is still the one it read. Without a model nothing is queued."""
from __future__ import annotations

import pytest
from botocore.stub import Stubber

from chalicelib.api import events
from chalicelib.insight import Why
from chalicelib.platform import aws, settings
from chalicelib.surveys import SurveyRepository
from chalicelib.why import RetagComment, handle_retag
from tests.functional.helpers import choose_path, open_id_in, open_page, send_email_survey, submit_form, survey
from tests.unit.why.test_models import converse_answer

COMMENT = "I asked for my money back three times and the agent was dismissive"


@pytest.fixture
def bedrock(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_THEMES_MODEL", "bedrock")
    settings.reset_settings()
    stubber = Stubber(aws.quick_client("bedrock-runtime"))
    stubber.activate()
    return stubber


def theme_counts(survey_id: str) -> dict:
    """{theme: {attribute: n}} of the survey's day, zeros dropped."""
    from datetime import timedelta

    from chalicelib.insight.counters import ReportCounters

    day = SurveyRepository().get(survey_id).sent_at.date()
    found: dict = {}
    for _day, group, counts in ReportCounters().read("csat", "theme", day - timedelta(days=1), day + timedelta(days=1)):
        for name, value in counts.items():
            found.setdefault(group, {}).setdefault(name, 0)
            found[group][name] += int(value)
    return {group: {n: v for n, v in counts.items() if v} for group, counts in found.items() if any(counts.values())}


def answer_with_comment(api, stack, clock, comment=COMMENT):
    survey_id, links = send_email_survey(api, stack)
    page = open_page(api, links[2])
    clock.advance(20)
    submitted = submit_form(api, choose_path(links[2]),
                            {"open_id": open_id_in(page.body.decode()), "score": "2", "comment": comment})
    assert submitted.status_code == 200
    return survey_id


def test_the_model_retags_a_new_comment_after_the_response(api, stack, clock, bedrock):
    bedrock.add_response("converse", converse_answer('{"themes": ["attitude", "billing", "repeated_contact"]}'))
    survey_id = answer_with_comment(api, stack, clock)
    # The keyword tagger answered at once; the job is on the queue.
    assert survey(api, survey_id)["themes"] == ["attitude", "billing"]
    (job,) = [job for job, _ in stack.delays if job.kind == "retag_comment"]
    assert job == RetagComment(survey_id=survey_id, expected_version=1)
    assert events.job_handlers()[RetagComment] is handle_retag
    # Run here, not through handle_job: the least-privilege proof records the functions' calls, and
    # no committed stage grants a model (tests/unit/ops/test_checks.py checks the grant's rendering).
    handle_retag(job)
    bedrock.assert_no_pending_responses()
    assert survey(api, survey_id)["themes"] == ["attitude", "billing", "repeated_contact"]
    counts = theme_counts(survey_id)
    assert counts == {key: {"responses": 1, "s2": 1} for key in ("attitude", "billing", "repeated_contact")}


def test_a_second_run_or_a_newer_answer_changes_nothing(api, stack, clock, bedrock):
    survey_id = answer_with_comment(api, stack, clock)
    stored = SurveyRepository().get(survey_id)
    job = RetagComment(survey_id=survey_id, expected_version=stored.response_version)
    for _ in range(2):  # the second run finds the themes as the model gives them: no call changes them
        bedrock.add_response("converse", converse_answer('{"themes": ["attitude"]}'))
        handle_retag(job)
    assert SurveyRepository().get(survey_id).themes == ["attitude"]
    assert theme_counts(survey_id) == {"attitude": {"responses": 1, "s2": 1}}
    # A job for another response version does nothing (each answer with a comment queues its own).
    handle_retag(RetagComment(survey_id=survey_id, expected_version=stored.response_version + 1))
    bedrock.assert_no_pending_responses()


def test_the_write_is_refused_when_the_response_changed_after_the_read(api, stack, clock, bedrock):
    """The model's answer arrives after the customer changed their comment: its themes are not written."""
    from chalicelib.insight import response_changes
    from chalicelib.storage.table import ConditionFailed

    survey_id = answer_with_comment(api, stack, clock)
    read = SurveyRepository().get(survey_id)
    SurveyRepository().record_response(read, None, 1, "all good now", read.responded_at, themes=[])
    changes = response_changes(read, read.score, read.score, old_why=Why.of(read),
                               new_why=Why(read.reasons, ("praise",), read.resolved))
    with pytest.raises(ConditionFailed):
        SurveyRepository().retag_response(read, ["praise"], changes)
    assert SurveyRepository().get(survey_id).themes == []


def test_without_a_model_no_job_is_queued(api, stack, clock):
    survey_id = answer_with_comment(api, stack, clock)
    assert "retag_comment" not in [job.kind for job, _ in stack.delays]
    assert survey(api, survey_id)["themes"] == ["attitude", "billing"]
