"""Themes written after the response: the re-tagging job, where the stage's model reads a survey's
new comment (why/models.py) and, if it finds other themes than the keyword tagger did, writes them
and moves the theme counters in one transaction, on condition that the response is still the one it
read; and the operator's backfill (`python -m ops themes backfill`), which tags the comments of
responses recorded before themes existed, the same way."""
from __future__ import annotations

import dataclasses
import logging

from chalicelib.insight import Why, response_changes
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import Survey, SurveyRepository
from chalicelib.why.jobs import RetagComment
from chalicelib.why.models import model_tag
from chalicelib.why.themes import tag_comment

log = logging.getLogger(__name__)


def handle_retag(job: RetagComment, repository: SurveyRepository | None = None) -> None:
    repository = repository or SurveyRepository()
    survey = repository.get(job.survey_id)
    if survey is None or survey.response_version != job.expected_version or survey.score is None \
            or not survey.comment:
        return  # gone, erased, or answered again since: that answer queued its own job
    themes = model_tag(survey.comment, survey.customer.locale, survey.customer.name)
    if themes == sorted(survey.themes):
        return
    try:
        retag(survey, themes, repository)
    except ConditionFailed:
        log.info("survey %s: the response changed while the model read it; its own job re-tags it", survey.survey_id)
        return
    log.info("survey %s: themes re-tagged by the model", survey.survey_id, extra={"themes": themes})


def retag(survey: Survey, themes: list[str], repository: SurveyRepository) -> None:
    """Write `themes` as the comment's themes, moving the theme counters with them, in one
    transaction; ConditionFailed when the response, its comment or its themes changed since read."""
    old = Why.of(survey)
    changes = response_changes(survey, survey.score, survey.score, old_why=old,
                               new_why=dataclasses.replace(old, themes=tuple(themes)))
    repository.retag_response(survey, themes, changes)


def backfill_themes(repository: SurveyRepository | None = None) -> int:
    """Tag, with the keyword tagger, every comment of a response stored before themes existed (no
    `themes` attribute), counting them in the reports; one Scan, one transaction per comment, each
    only if the response is still the one read. Safe to run again; returns how many were tagged."""
    repository = repository or SurveyRepository()
    done = 0
    for item in repository.table.scan(
            ProjectionExpression="pk", ExpressionAttributeNames={"#comment": "comment"},
            FilterExpression="sk = :survey AND attribute_exists(score) AND attribute_exists(#comment) "
                             "AND attribute_not_exists(themes) AND attribute_not_exists(erased_at)",
            ExpressionAttributeValues={":survey": "SURVEY"}):
        survey = repository.get(item["pk"].removeprefix("SURVEY#"))
        if survey is None or survey.score is None or not survey.comment:
            continue  # past its retention, or changed since the scan
        try:
            retag(survey, tag_comment(survey.comment, survey.customer.locale), repository)
            done += 1
        except ConditionFailed:
            pass  # answered again meanwhile: that answer tagged its comment
    return done
