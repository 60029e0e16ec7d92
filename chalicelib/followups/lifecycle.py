"""Recovery follow-ups: their lifecycle, the one place that says which change is allowed.

    open ──claim/assign──▶ claimed ──▶ contacted ──▶ resolved
                             │  ▲          └───────▶ unreachable
                             │  └─ reassign (owner changes, status stays)
                             └──────────────────────▶ resolved / unreachable
    resolved / unreachable ──reopen──▶ open (or claimed, with an owner)
    any open state ──closeloop finds a sweep──▶ automated ──reopen──▶ open / claimed

Every change appends an event (who, when, what, note) to the follow-up's history and is written
with a condition on the version it read, so two leads acting at once get one winner.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from chalicelib.events import followup_changed
from chalicelib.followups.assignments import notify_if_assigned
from chalicelib.followups.model import CLOSED_STATUSES, FollowUp, FollowUpEvent, FollowUpStatus
from chalicelib.followups.owners import names_of, routed
from chalicelib.followups.recovery import resurvey_due
from chalicelib.followups.repository import FollowUpRepository
from chalicelib.followups.routing import get_routing, routing_team
from chalicelib.integrations import queue_writeback
from chalicelib.platform import clock
from chalicelib.platform.errors import Conflict, NotFound
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import Survey, tokens

S = FollowUpStatus
ALLOWED = {
    S.OPEN: {S.CLAIMED},
    S.CLAIMED: {S.CONTACTED, S.RESOLVED, S.UNREACHABLE, S.OPEN},
    S.CONTACTED: {S.RESOLVED, S.UNREACHABLE},
    S.RESOLVED: {S.OPEN, S.CLAIMED},
    S.UNREACHABLE: {S.OPEN, S.CLAIMED},
    S.AUTOMATED: {S.OPEN, S.CLAIMED},   # only closeloop closes as automated (close_as_automated)
}


class FollowUpNotFound(NotFound):
    def __init__(self, followup_id: str):
        super().__init__("no follow-up with this id")
        self.followup_id = followup_id


class InvalidChange(Conflict):
    """A change the lifecycle does not allow from the follow-up's current state."""


@dataclass(frozen=True)
class Change:
    status: Optional[FollowUpStatus] = None
    owner: Optional[str] = None
    note: Optional[str] = None
    due_at: Optional[datetime] = None


def followup_id_for(survey_id: str) -> str:
    """One follow-up per survey: the id is derived, so a conditional put keeps it unique."""
    return f"fu_{survey_id}"


def is_followup_id(text: str) -> bool:
    """fu_ and a survey id: anything else names no follow-up (and is never looked up)."""
    return text.startswith("fu_") and tokens.is_survey_id(text[3:])


def has_open_followup(customer_id: str) -> bool:
    """Whether a follow-up of this customer is not closed (no new survey for them meanwhile)."""
    return FollowUpRepository().has_open(customer_id)


def new_followup(survey: Survey, at: datetime) -> FollowUp:
    """A follow-up for a detractor response, with why it is unhappy, assigned when the routing names
    owners for its team or a rule's (a routing short name stands for its lead's address)."""
    routing = get_routing()
    team = routing.team_for(survey.team, survey.reasons, survey.themes)
    owner = routing.assign(team)
    owner = routed(owner) if owner else None
    history = [FollowUpEvent(at=at, by="closeloop", action="opened", status=S.OPEN)]
    if owner:
        history.append(FollowUpEvent(at=at, by="routing", action="assigned", status=S.CLAIMED, owner=owner))
    return FollowUp(
        followup_id=followup_id_for(survey.survey_id), survey_id=survey.survey_id,
        interaction_id=survey.interaction_id, kind=survey.kind, score=survey.score, comment=survey.comment,
        customer_id=survey.customer.id, customer_name=survey.customer.name, agent=survey.agent, team=survey.team,
        reasons=survey.reasons, themes=survey.themes, resolved=survey.resolved,
        routed_team=team if team != survey.team else None,
        status=S.CLAIMED if owner else S.OPEN, owner=owner, opened_at=at, due_at=at + routing.sla(team),
        history=history, base_url=survey.base_url, ticket=survey.ticket,
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
    if status in (S.UNREACHABLE, S.AUTOMATED):
        return {"closed_at": at}
    if followup.status in CLOSED_STATUSES:
        # Reopened: a fresh deadline, and it may be escalated again.
        routing = get_routing()
        return {"closed_at": None, "escalated_at": None, "due_at": at + routing.sla(routing_team(followup))}
    return {}


def change(followup_id: str, requested: Change, by: str) -> FollowUp:
    """Apply a change with optimistic concurrency; a lost race is re-judged on fresh data."""
    repository = FollowUpRepository()
    for attempt in range(3):
        current = get(followup_id, repository)
        updated = apply(current, requested, by, clock.now())
        if updated is current:
            return current
        if updated.status is S.RESOLVED and current.status is not S.RESOLVED:
            # Its re-survey's timer rides on the follow-up from this write on (recovery.py).
            updated = updated.model_copy(update={"resurvey_due_at": resurvey_due(updated.closed_at)})
        try:
            repository.save(updated, current.version)
        except ConditionFailed:
            if attempt == 2:
                raise InvalidChange("the follow-up kept changing meanwhile; try again") from None
            continue
        followup_changed(current, updated, clock.now())
        _write_back(current, updated)
        notify_if_assigned(current, updated, by)
        return updated
    raise AssertionError("unreachable")


def close_as_automated(followup: FollowUp, reason: str) -> FollowUp:
    """The response behind `followup` proved to be a scanner's sweep: close it as automated (a
    follow-up already closed stays as it is). Not a lead's change, so not in ALLOWED."""
    repository = FollowUpRepository()
    for attempt in range(3):
        if followup.status in CLOSED_STATUSES:
            return followup
        at = clock.now()
        event = FollowUpEvent(at=at, by="closeloop", action=S.AUTOMATED.value, status=S.AUTOMATED, note=reason)
        closed = followup.model_copy(update={**_timestamps(followup, S.AUTOMATED, at), "status": S.AUTOMATED,
                                             "version": followup.version + 1, "history": [*followup.history, event]})
        try:
            repository.save(closed, followup.version)
            _write_back(followup, closed)
            return closed
        except ConditionFailed:
            if attempt == 2:
                raise
            followup = get(followup.followup_id, repository)
    raise AssertionError("unreachable")


def claim(followup_id: str, owner: str, by: str, note: Optional[str] = None) -> FollowUp:
    """Take an open follow-up. Of two leads claiming at once, one wins and the other gets 409.

    Its owner claiming a follow-up that routing assigned to them (or claiming twice) is an
    acknowledgement, not a conflict: it answers the follow-up unchanged.
    """
    repository = FollowUpRepository()
    current = get(followup_id, repository)
    if current.status is S.CLAIMED and current.owner and (current.owner == owner or owner in names_of(current.owner)):
        return current  # a short name stored before owners were addresses is the same lead
    if current.status is not S.OPEN:
        raise InvalidChange(f"already {current.status.value}" + (f" by {current.owner}" if current.owner else ""))
    updated = apply(current, Change(status=S.CLAIMED, owner=owner, note=note), by, clock.now())
    try:
        repository.save(updated, current.version)
    except ConditionFailed:
        fresh = repository.get(followup_id)
        raise InvalidChange(f"claimed meanwhile by {fresh.owner}" if fresh and fresh.owner
                            else "changed meanwhile; try again") from None
    followup_changed(current, updated, clock.now())
    _write_back(current, updated)
    notify_if_assigned(current, updated, by)
    return updated


def _write_back(before: FollowUp, after: FollowUp) -> None:
    """A status change of a follow-up whose survey names a ticket is noted on it (integrations/writeback.py)."""
    if after.ticket is not None and after.status is not before.status:
        queue_writeback(after.survey_id, f"f{after.version}", after.status.value)


def get(followup_id: str, repository: Optional[FollowUpRepository] = None) -> FollowUp:
    """The follow-up, or FollowUpNotFound (a malformed id is never looked up)."""
    found = (repository or FollowUpRepository()).get(followup_id) if is_followup_id(followup_id) else None
    if found is None:
        raise FollowUpNotFound(followup_id)
    return found
