"""The re-tagging job: the stage's model reads a survey's new comment (why/models.py) and, if it
finds other themes than the keyword tagger did, writes them and moves the theme counters in one
transaction, on condition that the response is still the one it read."""
from __future__ import annotations

import dataclasses
import logging

from chalicelib.insight import Why, response_changes
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import SurveyRepository
from chalicelib.why.jobs import RetagComment
from chalicelib.why.models import model_tag

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
    old = Why.of(survey)
    changes = response_changes(survey, survey.score, survey.score, old_why=old,
                               new_why=dataclasses.replace(old, themes=tuple(themes)))
    try:
        repository.retag_response(survey, themes, changes)
    except ConditionFailed:
        log.info("survey %s: the response changed while the model read it; its own job re-tags it", survey.survey_id)
        return
    log.info("survey %s: themes re-tagged by the model", survey.survey_id, extra={"themes": themes})
