"""Deadlines: a scheduled run escalates every follow-up past its due_at, once per deadline.

Each run reads the sparse due index (follow-ups neither closed nor escalated, earliest deadline
first) up to now, and for each follow-up that is still overdue on a fresh read:

1. sends the escalation on every escalation channel (topic, webhook), each a once-only step named
   after the channel and the deadline, so a rerun, a concurrent run or a run after a crash between
   sending and saving finds the step done and sends nothing again;
2. marks the follow-up escalated (escalated_at plus an "escalated" history event) with a write
   conditioned on the version it read; a lead's change in between wins and is re-read, never lost.

A channel that fails is recorded in alert_error and the follow-up stays due, so the next run (a
minute later) retries only what did not go out. A reopened follow-up, or one given a new due_at,
has a new deadline and therefore new steps: it can be escalated again when that one passes.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Optional

from chalicelib.events import followup_escalated
from chalicelib.followups import alerts
from chalicelib.followups.model import FollowUp, FollowUpEvent
from chalicelib.followups.repository import FollowUpRepository, followup_key
from chalicelib.platform import clock, telemetry
from chalicelib.platform.settings import Settings, get_settings
from chalicelib.storage.steps import StepBusy, run_once
from chalicelib.storage.table import ConditionFailed

log = logging.getLogger(__name__)

BY = "closeloop"
ERROR_PREFIX = "escalation: "
# Time a run keeps for itself after its last follow-up (a webhook may take its full timeout).
_RESERVE_SECONDS = alerts.WEBHOOK_TIMEOUT_SECONDS * 2 + 2
_SAVE_ATTEMPTS = 5


@dataclass
class RunSummary:
    escalated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)       # another run is sending it right now
    skipped: int = 0                                    # not overdue (any more) on a fresh read
    unfinished: int = 0                                 # left for the next run: out of time

    def as_dict(self) -> dict:
        return asdict(self)

    def overdue(self) -> int:
        """Follow-ups still overdue and not escalated after this run (the next run retries them)."""
        return len(self.failed) + len(self.busy) + self.unfinished


def escalate_overdue(now: Optional[datetime] = None, time_left_ms: Optional[int] = None) -> RunSummary:
    """Escalate every follow-up overdue at `now`; safe to run any number of times, even at once."""
    followups = FollowUpRepository()
    now = now or clock.now()
    settings = get_settings()
    stop_at = None
    if time_left_ms is not None:
        # Never start a follow-up the Lambda might be killed in the middle of (that could repeat it).
        seconds = time_left_ms / 1000
        stop_at = time.monotonic() + max(seconds - _RESERVE_SECONDS, seconds / 2)
    summary = RunSummary()
    for followup_id in followups.due_ids(now):
        started = summary.escalated or summary.failed or summary.busy or summary.skipped
        if stop_at is not None and started and time.monotonic() > stop_at:
            summary.unfinished += 1
            continue
        with telemetry.correlated(telemetry.correlation_of_followup(followup_id)):
            try:
                outcome = escalate(followups, followup_id, now, settings)
            except Exception:  # noqa: BLE001 - one follow-up's trouble must not stop the others
                log.exception("escalating follow-up %s failed; the next run retries it", followup_id)
                outcome = "failed"
            if outcome == "escalated":
                log.info("follow-up %s escalated", followup_id)
                telemetry.count("Escalations")
        if outcome == "escalated":
            summary.escalated.append(followup_id)
        elif outcome == "failed":
            summary.failed.append(followup_id)
        elif outcome == "busy":
            summary.busy.append(followup_id)
        else:
            summary.skipped += 1
    if summary.escalated or summary.failed or summary.unfinished:
        log.info("escalation run: %s", summary.as_dict())
    # Every run, zeros too: the alarm on it treats a missing minute as a run that did not happen.
    telemetry.count("OverdueFollowUps", summary.overdue())
    return summary


def is_due(followup: FollowUp, now: datetime) -> bool:
    return followup.escalated_at is None and followup.is_overdue(now)


def escalate(followups: FollowUpRepository, followup_id: str, now: datetime, settings: Settings) -> str:
    """One follow-up: "escalated", "failed" (retried next run), "busy", or "skipped"."""
    followup = followups.get(followup_id)
    if followup is None or not is_due(followup, now):
        return "skipped"
    channels = alerts.escalation_channels(settings, now)
    if not channels:
        log.warning("follow-up %s is overdue but no escalation or alert channel is configured", followup_id)
    errors, busy = [], False
    for channel in channels:
        try:
            run_once(followup_key(followup_id), step_name(channel.name, followup),
                     lambda: channel.send(followup, settings))
        except StepBusy:
            # Another run is sending this one: it goes on to the other channels and marks it.
            busy = True
            break
        except Exception as error:  # noqa: BLE001 - recorded, and the next run retries this channel
            errors.append(f"{channel.name}: {type(error).__name__}: {error}")
    if errors:
        # Error texts never hold a webhook URL (alerts.WebhookError leaves it out) nor the secret.
        followups.set_alert_error(followup_id, ERROR_PREFIX + "; ".join(errors))
        log.warning("escalation of follow-up %s failed: %s", followup_id, "; ".join(errors))
        return "failed"
    if busy:
        return "busy"
    return "escalated" if _mark_escalated(followups, followup, now) else "skipped"


def step_name(channel: str, followup: FollowUp) -> str:
    """One once-only step per channel and deadline: a new deadline may be escalated again."""
    return f"escalation_{channel}_{int(followup.due_at.timestamp() * 1000)}"


def _mark_escalated(followups: FollowUpRepository, followup: FollowUp, now: datetime) -> bool:
    """Record the escalation; on a concurrent change, re-read and re-judge (the change stays)."""
    sent_for, followup_id = followup.due_at, followup.followup_id
    for _ in range(_SAVE_ATTEMPTS):
        if followup is None or not is_due(followup, now) or followup.due_at != sent_for:
            # Resolved, escalated by another run, or given a new deadline meanwhile.
            return False
        try:
            marked = escalated(followup, now)
            followups.save(marked, followup.version)
            followup_escalated(marked)
            return True
        except ConditionFailed:
            followup = followups.get(followup_id)
    raise ConditionFailed(f"follow-up {followup_id} kept changing; the next run marks it")


def escalated(followup: FollowUp, now: datetime) -> FollowUp:
    """The follow-up marked escalated at `now` (pure): `escalated_at` and an "escalated" event."""
    late = alerts.overdue_for(now - followup.due_at)
    event = FollowUpEvent(at=now, by=BY, action="escalated", note=f"due {clock.iso(followup.due_at)}, {late} overdue")
    update = {"escalated_at": now, "version": followup.version + 1, "history": [*followup.history, event]}
    if followup.alert_error and followup.alert_error.startswith(ERROR_PREFIX):
        update["alert_error"] = None
    return followup.model_copy(update=update)
