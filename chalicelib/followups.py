"""Recovery follow-ups: their lifecycle, the one place that says which change is allowed.

    open ──claim/assign──▶ claimed ──▶ contacted ──▶ resolved
                             │  ▲          └───────▶ unreachable
                             │  └─ reassign (owner changes, status stays)
                             └──────────────────────▶ resolved / unreachable
    resolved / unreachable ──reopen──▶ open (or claimed, with an owner)

Every change appends an event (who, when, what, note) to the follow-up's history and is written
with a condition on the version it read, so two leads acting at once get one winner.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from chalicelib import clock, edge, recovery, tokens
from chalicelib.models import (
    CLOSED_STATUSES, FollowUp, FollowUpDetail, FollowUpEvent, FollowUpQuery, FollowUpStatus, FollowUpView, Survey,
    SurveyResponseView,
)
from chalicelib.routing import get_routing
from chalicelib.storage import ConditionFailed, Store, get_store

S = FollowUpStatus
ALLOWED = {
    S.OPEN: {S.CLAIMED},
    S.CLAIMED: {S.CONTACTED, S.RESOLVED, S.UNREACHABLE, S.OPEN},
    S.CONTACTED: {S.RESOLVED, S.UNREACHABLE},
    S.RESOLVED: {S.OPEN, S.CLAIMED},
    S.UNREACHABLE: {S.OPEN, S.CLAIMED},
}


class FollowUpNotFound(Exception):
    pass


class InvalidChange(Exception):
    """A change the lifecycle does not allow from the follow-up's current state (HTTP 409)."""


@dataclass(frozen=True)
class Change:
    status: Optional[FollowUpStatus] = None
    owner: Optional[str] = None
    note: Optional[str] = None
    due_at: Optional[datetime] = None


def followup_id_for(survey_id: str) -> str:
    """One follow-up per survey: the id is derived, so a conditional put keeps it unique."""
    return f"fu_{survey_id}"


def new_followup(survey: Survey, store: Store, at: datetime) -> FollowUp:
    """A follow-up for a detractor response, assigned when the team's routing names owners."""
    routing = get_routing()
    owner = routing.assign(survey.team, store)
    history = [FollowUpEvent(at=at, by="closeloop", action="opened", status=S.OPEN)]
    if owner:
        history.append(FollowUpEvent(at=at, by="routing", action="assigned", status=S.CLAIMED, owner=owner))
    return FollowUp(
        followup_id=followup_id_for(survey.survey_id), survey_id=survey.survey_id,
        interaction_id=survey.interaction_id, kind=survey.kind, score=survey.score, comment=survey.comment,
        customer_id=survey.customer.id, customer_name=survey.customer.name, agent=survey.agent, team=survey.team,
        status=S.CLAIMED if owner else S.OPEN, owner=owner, opened_at=at, due_at=at + routing.sla(survey.team),
        history=history, base_url=survey.base_url,
    )


def apply(followup: FollowUp, change: Change, by: str, at: datetime) -> FollowUp:
    """The follow-up after `change`, or InvalidChange. Pure: no I/O."""
    status = change.status or followup.status
    owner = followup.owner if change.owner is None else change.owner
    if followup.status is S.OPEN and change.status is None and change.owner:
        status = S.CLAIMED  # assigning an open follow-up claims it for that owner
    moving = status is not followup.status
    if moving and status not in ALLOWED[followup.status]:
        raise InvalidChange(f"a follow-up cannot go from {followup.status.value} to {status.value}")
    if not moving and owner != followup.owner and status in CLOSED_STATUSES:
        raise InvalidChange(f"a {status.value} follow-up cannot change owner; reopen it first")
    if status is S.OPEN:
        if change.owner:
            raise InvalidChange("an open follow-up has no owner; use status claimed to give it one")
        owner = None
    if status is not S.OPEN and not owner:
        raise InvalidChange(f"a {status.value} follow-up needs an owner")

    events, updates = [], {}
    if moving:
        action = "reopened" if followup.status in CLOSED_STATUSES else status.value
        events.append(FollowUpEvent(at=at, by=by, action=action, status=status, owner=owner))
        updates.update(_timestamps(followup, status, at))
    elif owner != followup.owner:
        events.append(FollowUpEvent(at=at, by=by, action="reassigned", owner=owner))
    if change.due_at is not None and change.due_at != followup.due_at:
        updates.update(due_at=change.due_at, escalated_at=None)
        events.append(FollowUpEvent(at=at, by=by, action="due", note=f"due {clock.iso(change.due_at)}"))
    if change.note:
        if events:
            events[-1] = events[-1].model_copy(update={"note": change.note})
        else:
            events.append(FollowUpEvent(at=at, by=by, action="note", note=change.note))
    if not events:
        return followup
    return followup.model_copy(update={**updates, "status": status, "owner": owner,
                                       "version": followup.version + 1,
                                       "history": [*followup.history, *events]})


def _timestamps(followup: FollowUp, status: FollowUpStatus, at: datetime) -> dict:
    if status is S.CONTACTED:
        return {"first_contact_at": followup.first_contact_at or at}
    if status is S.RESOLVED:
        # Resolving implies the customer was reached, even without a "contacted" step.
        return {"first_contact_at": followup.first_contact_at or at, "closed_at": at}
    if status is S.UNREACHABLE:
        return {"closed_at": at}
    if followup.status in CLOSED_STATUSES:
        # Reopened: a fresh deadline, and it may be escalated again.
        routing = get_routing()
        return {"closed_at": None, "escalated_at": None, "due_at": at + routing.sla(followup.team)}
    return {}


def change(followup_id: str, requested: Change, by: str, store: Optional[Store] = None) -> FollowUp:
    """Apply a change with optimistic concurrency; a lost race is re-judged on fresh data."""
    store = store or get_store()
    for attempt in range(3):
        current = store.get_followup(followup_id)
        if current is None:
            raise FollowUpNotFound(followup_id)
        updated = apply(current, requested, by, clock.now())
        if updated is current:
            return current
        try:
            store.save_followup(updated, current.version)
        except ConditionFailed:
            if attempt == 2:
                raise InvalidChange("the follow-up kept changing meanwhile; try again") from None
            continue
        if updated.status is S.RESOLVED and current.status is not S.RESOLVED:
            recovery.schedule_resurvey(updated)
        return updated
    raise AssertionError("unreachable")


def claim(followup_id: str, owner: str, by: str, note: Optional[str] = None,
          store: Optional[Store] = None) -> FollowUp:
    """Take an open follow-up. Of two leads claiming at once, one wins and the other gets 409.

    Its owner claiming a follow-up that routing assigned to them (or claiming twice) is an
    acknowledgement, not a conflict: it answers the follow-up unchanged.
    """
    store = store or get_store()
    current = store.get_followup(followup_id)
    if current is None:
        raise FollowUpNotFound(followup_id)
    if current.status is S.CLAIMED and current.owner == owner:
        return current
    if current.status is not S.OPEN:
        raise InvalidChange(f"already {current.status.value}" + (f" by {current.owner}" if current.owner else ""))
    updated = apply(current, Change(status=S.CLAIMED, owner=owner, note=note), by, clock.now())
    try:
        store.save_followup(updated, current.version)
    except ConditionFailed:
        fresh = store.get_followup(followup_id)
        raise InvalidChange(f"claimed meanwhile by {fresh.owner}" if fresh and fresh.owner
                            else "changed meanwhile; try again") from None
    return updated


# --- views (the follow-ups API) ------------------------------------------------------------

def is_followup_id(text: str) -> bool:
    """fu_ and a survey id: anything else names no follow-up (and is never looked up)."""
    return text.startswith("fu_") and tokens.is_survey_id(text[3:])


def get(followup_id: str, store: Optional[Store] = None) -> FollowUp:
    found = (store or get_store()).get_followup(followup_id) if is_followup_id(followup_id) else None
    if found is None:
        raise FollowUpNotFound(followup_id)
    return found


def view(followup: FollowUp, at: datetime) -> dict:
    """A follow-up as the API lists it; `overdue` as of `at`."""
    fields = followup.model_dump(include=set(FollowUpView.model_fields) - {"overdue"})
    return FollowUpView(**fields, overdue=followup.is_overdue(at)).model_dump(mode="json")


def detail_view(followup: FollowUp, at: datetime, store: Optional[Store] = None) -> dict:
    """One follow-up with its history, oldest first, and its survey's response as it is now."""
    survey = (store or get_store()).get_survey(followup.survey_id)
    response = SurveyResponseView(survey_id=survey.survey_id, status=survey.public_status(at), score=survey.score,
                                  comment=survey.comment, responded_at=survey.responded_at) if survey else None
    fields = followup.model_dump(include=set(FollowUpView.model_fields) - {"overdue"})
    return FollowUpDetail(**fields, overdue=followup.is_overdue(at), history=followup.history,
                          survey=response).model_dump(mode="json")


def list_view(query: FollowUpQuery, at: datetime, store: Optional[Store] = None) -> dict:
    """One page of GET /v1/followups, newest first; `next_cursor` is null on the last page."""
    store = store or get_store()
    start = edge.decode_cursor(query.cursor, Store.is_listing_key) if query.cursor else None
    items, next_key = store.list_followups(
        status=query.status, owner=query.owner, team=query.team,
        overdue_at=at if query.overdue is not None else None, overdue=bool(query.overdue),
        limit=query.limit, start_key=start)
    return {"followups": [view(f, at) for f in items],
            "next_cursor": edge.encode_cursor(next_key) if next_key else None}
