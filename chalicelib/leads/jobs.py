"""The leads' job on the queue (chalicelib/platform/jobs.py): email the sign-in link a page asked for."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel

from chalicelib.platform.fields import UtcTime


class SendSignInLink(BaseModel):
    """Someone asked /signin for a link to `email` (a lead's or not: the job decides, not the page).

    `request_id` names the request, so a job delivered twice emails one link; `base_url` is where
    the link points (the stage's public URL, decided when it was asked for)."""
    kind: Literal["send_signin_link"] = "send_signin_link"
    request_id: str
    email: str
    base_url: str
    requested_at: UtcTime
    next: Optional[str] = None  # a dashboard path, checked by the page (api/sessions.py: safe_next)
