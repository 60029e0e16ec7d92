"""Write a survey's result back to the ticket it was about: one private note and tags per change.

A change is a response recorded, changed or withdrawn (surveys/responses.py), or its follow-up
moving to another status (followups/lifecycle.py); each queues a WriteBack job once it is
decided, and the response is recorded whatever the helpdesk does. The job sends through the
helpdesk's API (ticket_apis.py) as a once-only step on the survey item, `writeback_<change>`
(storage/steps.py), so a redelivered job writes no second note. A helpdesk that is down (5xx, 429,
no answer) is tried again with backoff; one that refuses (4xx: unknown ticket, bad credentials),
is not configured, or is still down after the last attempt leaves `writeback_error` on the survey,
which the survey and its follow-up show, until a later write-back succeeds.

A response change superseded before its note went is told by the newer change's note: the note
says how the response is now, not how it was.
"""
from __future__ import annotations

import logging
from typing import Optional

from chalicelib.followups import FollowUp, FollowUpNotFound, followup_id_for, followup_link
from chalicelib.followups import get as get_followup
from chalicelib.integrations.jobs import WriteBack
from chalicelib.integrations.ticket_apis import (
    APIS, HelpdeskRefused, HelpdeskUnavailable, WritebackNotConfigured, connect,
)
from chalicelib.platform import jobs
from chalicelib.platform.settings import get_settings
from chalicelib.storage.repository import Repository
from chalicelib.storage.steps import StepBusy, run_once
from chalicelib.surveys import Survey, SurveyRepository, is_detractor, survey_key
from chalicelib.why import reason_label, theme_label

log = logging.getLogger(__name__)

# A job that arrives before the response it announces was written waits this long at most (x 5 s).
_UNWRITTEN_RESPONSE_ATTEMPTS = 6


class WritebackMarks(Repository):
    """The survey's `writeback_error`: the last write-back that failed, until one succeeds."""

    def set_error(self, survey_id: str, error: Optional[str]) -> None:
        if error is None:
            self.table.update(survey_key(survey_id), "REMOVE writeback_error")
        else:
            self.table.update(survey_key(survey_id), "SET writeback_error = :e", values={":e": error[:500]})


def handle_writeback(job: WriteBack) -> str:
    outcome = _write(job)
    log.info("survey %s: write-back %s: %s", job.survey_id, job.change, outcome)
    return outcome


def _write(job: WriteBack) -> str:
    survey = SurveyRepository().get(job.survey_id)
    if survey is None or survey.ticket is None:
        return "no ticket"
    if job.change.startswith("r"):
        version = int(job.change[1:])
        if survey.response_version < version:
            if job.attempt + 1 < _UNWRITTEN_RESPONSE_ATTEMPTS:
                jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1}), 5)
                return "response not written yet"
            return "response never written"
        if survey.response_version > version:
            return "superseded by a newer response"
    followup = _followup_of(survey)
    note, tags = compose(survey, followup, job)
    api, settings = APIS[survey.ticket.helpdesk.value], get_settings()
    try:
        run_once(survey_key(survey.survey_id), f"writeback_{job.change}",
                 lambda: api.write(connect(api, settings), survey.ticket.id, note, tags, settings))
    except StepBusy:
        raise  # another worker is writing it right now; the message comes back later
    except (HelpdeskRefused, WritebackNotConfigured) as error:
        return _failed(survey, str(error), "refused")
    except HelpdeskUnavailable as error:
        if job.attempt + 1 >= settings.writeback_max_attempts:
            return _failed(survey, f"{error} (gave up after {job.attempt + 1} attempts)", "gave up")
        WritebackMarks().set_error(survey.survey_id, f"{error} (trying again)")
        jobs.enqueue(job.model_copy(update={"attempt": job.attempt + 1}), jobs.backoff_seconds(job.attempt))
        return "retrying"
    if survey.writeback_error:
        WritebackMarks().set_error(survey.survey_id, None)
    return "written"


def _failed(survey: Survey, error: str, outcome: str) -> str:
    WritebackMarks().set_error(survey.survey_id, error)
    log.error("survey %s: write-back to %s ticket %s failed: %s", survey.survey_id,
              survey.ticket.helpdesk.value, survey.ticket.id, error)
    return outcome


def _followup_of(survey: Survey) -> Optional[FollowUp]:
    try:
        return get_followup(followup_id_for(survey.survey_id))
    except FollowUpNotFound:
        return None


# --- what the ticket receives --------------------------------------------------------------

def why_lines(survey: Survey) -> list[str]:
    """The reasons ticked, the "resolved?" answer and the comment's themes, as labels (ours, never
    the customer's words); nothing for what the response does not say."""
    lines = []
    if survey.reasons:
        lines.append("Reasons: " + ", ".join(reason_label(key) for key in survey.reasons))
    if survey.resolved is not None:
        lines.append("Resolved: " + ("yes" if survey.resolved else "no"))
    if survey.themes:
        lines.append("Themes: " + ", ".join(theme_label(key) for key in survey.themes))
    return lines


def compose(survey: Survey, followup: Optional[FollowUp], job: WriteBack) -> tuple[str, list[str]]:
    """The note (plain text; each adapter escapes it for its helpdesk) and the tags of one change."""
    kind = survey.kind.value
    lines, tags = [], []
    if job.change.startswith("f"):
        status = job.status or (followup.status.value if followup else "changed")
        lines.append(f"closeloop: the follow-up is now {status}" + (f" ({followup.owner})" if followup
                                                                     and followup.owner else ""))
    elif survey.score is None:
        lines.append(f"closeloop: the {kind.upper()} response was withdrawn (a mail scanner's click, not the customer)")
        tags.append("closeloop_withdrawn")
    else:
        changed = "changed" if survey.response_updated_at != survey.responded_at else "recorded"
        lines.append(f"closeloop: {kind.upper()} response {changed}")
    if survey.score is not None:
        lines.append(f"Score: {survey.score} ({kind.upper()})")
        tags.append(f"closeloop_{kind}_{survey.score}")
        if is_detractor(survey.kind, survey.score):
            tags.append("closeloop_detractor")
    if survey.score is not None:
        lines += why_lines(survey)
    if survey.comment and survey.erased_at is None:
        lines.append("Comment: " + survey.comment)
    if followup is not None:
        lines.append(f"Follow-up: {followup.status.value}" + (f", owner {followup.owner}" if followup.owner else ""))
        link = followup_link(followup, get_settings())
        if link:
            lines.append(f"Follow-up link: {link}")
        tags.append(f"closeloop_followup_{followup.status.value}")
    return "\n".join(lines), tags
