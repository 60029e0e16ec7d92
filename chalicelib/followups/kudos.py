"""Praise reaches the agent: a promoter's comment (NPS 9-10, CSAT 5), shared once, if the stage opts in.

With `CLOSELOOP_KUDOS_WEBHOOK_URL` set (a Slack incoming webhook, or any URL taking JSON), a
promoter's comment is posted there once the survey has been quiet for the comment wait, as a
detractor's alert is (followups/detractors.py): a scanner's sweep never gets shared, and a person
who edits their comment meanwhile is shared with their last words. One post per survey, whatever
the redelivery (a once-only step on the survey item). The post names the agent, team and score,
never the customer: a praise channel is read by many. Customer text is escaped for Slack
(platform/inert.py). The dashboard's agent view shows the same comments when
`CLOSELOOP_KUDOS_ON_DASHBOARD` is on (insight/dashboard.py).
"""
from __future__ import annotations

import logging

from chalicelib.followups import alerts, detractors
from chalicelib.followups.jobs import ShareKudos
from chalicelib.platform import clock, inert, jobs, telemetry
from chalicelib.platform.settings import Settings, get_settings
from chalicelib.storage.steps import run_once
from chalicelib.surveys import Survey, is_promoter, survey_key

log = logging.getLogger(__name__)


def is_praise_to_share(survey: Survey, score: int, comment: str | None) -> bool:
    """Whether a response leaving `survey` at `score` with `comment` is praise to share."""
    return bool(get_settings().kudos_webhook_url) and survey.followup_id is None \
        and is_promoter(survey.kind, score) and bool(comment)


def share_kudos(job: ShareKudos) -> str:
    """Post the survey's praise once, from the survey as it is now (still a promoter, with a comment)."""
    settings = get_settings()
    survey, views, outcome = detractors.survey_as_written(job)
    if outcome:
        return outcome
    if not is_praise_to_share(survey, survey.score, survey.comment):
        return "not praise to share"
    wait = detractors.busy_for(survey, views, settings.comment_wait_seconds, clock.now())
    if wait:
        jobs.enqueue(job, wait)
        return "survey still busy"
    try:
        run_once(survey_key(survey.survey_id), "kudos", lambda: _post(survey, settings))
    except alerts.WebhookError as error:
        if job.attempt + 1 >= settings.max_alert_attempts:
            log.error("kudos for survey %s failed %d times: %s", survey.survey_id, job.attempt + 1, error)
            raise
        jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1}), jobs.backoff_seconds(job.attempt))
        return "kudos retrying"
    return "shared"


def message(survey: Survey) -> dict:
    """The webhook body: Slack's `text` and blocks, every customer word escaped."""
    agent = (survey.agent.name or survey.agent.id) if survey.agent else "the team"
    kind = survey.kind.value.upper()
    text = inert.slack(f"Kudos for {agent}: {kind} {survey.score} from a customer: \"{survey.comment}\"")
    quote = "> " + inert.slack(survey.comment or "").replace("\n", "\n> ")
    return {"text": text, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Kudos for {inert.slack(agent)}*"
                                                               f" ({kind} {survey.score})"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": quote}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": inert.slack(
            f"Team: {survey.team or 'none'} · interaction {survey.interaction_id}")}]},
    ]}


def _post(survey: Survey, settings: Settings) -> str:
    status = alerts._post_json(settings.kudos_webhook_url, message(survey), settings, "kudos webhook")
    telemetry.count("Kudos")
    log.info("survey %s: kudos shared", survey.survey_id)
    return status
