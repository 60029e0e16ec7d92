"""The integrations' jobs on the queue (chalicelib/platform/jobs.py): write a change back to its ticket."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, StringConstraints

from chalicelib.platform import jobs


class WriteBack(BaseModel):
    """A survey's response, or its follow-up's status, changed: note it on the survey's ticket.

    `change` names the change and its once-only step: "r<response version>" or "f<follow-up version>".
    """
    kind: Literal["write_back"] = "write_back"
    survey_id: str
    change: Annotated[str, StringConstraints(pattern=r"^[rf][0-9]{1,9}$")]
    status: Optional[str] = None   # a follow-up change: the status it moved to
    attempt: int = 0


def queue_writeback(survey_id: str, change: str, status: Optional[str] = None) -> None:
    """Queue the note of one change; the caller knows the survey names a ticket."""
    jobs.enqueue(WriteBack(survey_id=survey_id, change=change, status=status), 0)
