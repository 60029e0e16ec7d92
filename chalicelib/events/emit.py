"""What the rooms call right after they wrote a change: the change's event, queued for publishing.

Each function builds the event's detail (events/model.py) from what the caller just wrote and
queues a PublishEvent job; events/publish.py publishes it once. The event's `id` is derived from
the change (the survey, the follow-up and their versions), so writing the same change again, or
redelivering its job, yields the same id, which the publish step and consumers dedupe on.
Nothing here can fail the caller: with no bus configured nothing is queued, and a queue that
refuses the job is logged (the change itself is already written and stays).
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Optional

from chalicelib.platform import jobs
from chalicelib.platform.settings import get_settings

log = logging.getLogger(__name__)

# uuid5 namespace of closeloop's event ids (any fixed UUID; never change it: ids would change).
_ID_NAMESPACE = uuid.UUID("6f1c9a52-3d0e-4b8e-9a55-0c1c0a7e0e13")


def event_id(detail_type: str, change: str) -> str:
    """The stable id of the change `change` (e.g. "<survey id>:<response version>")."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{detail_type}|{change}"))


def _emit(detail_type: str, change: str, at: datetime, **fields: Any) -> None:
    settings = get_settings()
    if not settings.event_bus_name:
        return
    # Here, not at import: a survey page's cold start builds no event model on a stage without events.
    from chalicelib.events.model import DETAIL_TYPES, PublishEvent

    try:
        detail = DETAIL_TYPES[detail_type](version=1, id=event_id(detail_type, change), occurred_at=at,
                                           stage=settings.stage, **fields)
        jobs.enqueue(PublishEvent(detail_type=detail_type, detail=detail.model_dump(mode="json", exclude_none=True)))
    except Exception:  # noqa: BLE001 - the customer's change is written; an event must never undo its answer
        log.exception("event %s for %s was not queued", detail_type, change)


def _survey_fields(survey: Any) -> dict:
    return dict(survey_id=survey.survey_id, interaction_id=survey.interaction_id, survey_kind=survey.kind.value,
                channel=survey.channel.value, customer_id=None if survey.erased_at else survey.customer.id,
                agent_id=survey.agent.id if survey.agent else None, team=survey.team)


def survey_sent(survey: Any, at: datetime) -> None:
    _emit("closeloop.survey.sent", survey.survey_id, at, sent_at=at, **_survey_fields(survey))


def response_changed(survey: Any, version: int, score: int, comment: Optional[str], resolved: Optional[bool],
                     detractor: bool, at: datetime, why: Any = None) -> None:
    """`survey` as read before the write; `version` the response version the write made; `why` its reasons,
    themes and answer once written (insight/counters.py Why). A survey with no counted response before
    (never answered, or withdrawn) records one; otherwise the response changed."""
    first = survey.score is None
    comment = comment if comment is not None else survey.comment
    fields = dict(response_version=version, score=score, detractor=detractor, resolved=resolved,
                  comment=comment if get_settings().event_comments else None)
    if why is not None:  # keys, never the comment's words: sent whatever CLOSELOOP_EVENT_COMMENTS says
        fields.update(reasons=list(why.reasons), themes=list(why.themes), resolved=why.resolved)
    if first:
        _emit("closeloop.response.recorded", f"{survey.survey_id}:{version}", at, **fields, **_survey_fields(survey))
    else:
        _emit("closeloop.response.changed", f"{survey.survey_id}:{version}", at, previous_score=survey.score,
              **fields, **_survey_fields(survey))


def response_withdrawn(survey: Any, version: int, reason: Optional[str], at: datetime) -> None:
    _emit("closeloop.response.withdrawn", f"{survey.survey_id}:{version}", at, response_version=version,
          reason=reason, **_survey_fields(survey))


def _followup_fields(followup: Any) -> dict:
    last = followup.history[-1] if followup.history else None
    return dict(followup_id=followup.followup_id, survey_id=followup.survey_id,
                interaction_id=followup.interaction_id, followup_version=followup.version,
                status=followup.status.value, owner=followup.owner, by=last.by if last else "closeloop",
                survey_kind=followup.kind.value, score=followup.score, customer_id=followup.customer_id or None,
                agent_id=followup.agent.id if followup.agent else None, team=followup.team,
                opened_at=followup.opened_at, due_at=followup.due_at)


def followup_opened(followup: Any) -> None:
    fields = _followup_fields(followup)
    _emit("closeloop.followup.opened", followup.followup_id, followup.opened_at, **{**fields, "by": "closeloop"})


def followup_changed(before: Any, after: Any, at: datetime) -> None:
    """A lead's change was written (`after`, read as `before`): the events it makes, if any."""
    if after.status is before.status and after.owner == before.owner:
        return
    change = f"{after.followup_id}:{after.version}"
    if after.status.value == "claimed" and (before.status.value != "claimed" or before.owner != after.owner):
        _emit("closeloop.followup.claimed", change, at, **_followup_fields(after))
    elif after.status.value == "resolved" and before.status.value != "resolved":
        _emit("closeloop.followup.resolved", change, at, closed_at=after.closed_at or at, **_followup_fields(after))


def followup_escalated(followup: Any) -> None:
    _emit("closeloop.followup.escalated", f"{followup.followup_id}:{followup.version}", followup.escalated_at,
          escalated_at=followup.escalated_at, **_followup_fields(followup))


def unsubscribed(survey: Any, at: datetime) -> None:
    _emit("closeloop.contact.unsubscribed", survey.survey_id, at, survey_id=survey.survey_id,
          customer_id=None if survey.erased_at else survey.customer.id)


def customer_erased(customer_id: str, receipt_id: str, at: datetime) -> None:
    _emit("closeloop.customer.erased", receipt_id, at, customer_id=customer_id, receipt_id=receipt_id)
