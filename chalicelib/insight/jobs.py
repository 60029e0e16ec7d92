"""Insight's job on the queue (chalicelib/platform/jobs.py): a lead's weekly digest."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from chalicelib.platform.fields import Email


class SendDigest(BaseModel):
    """Email `email` the digest of ISO week `week` (e.g. 2026-W49), once (insight/digest.py)."""
    kind: Literal["send_digest"] = "send_digest"
    email: Email
    week: Annotated[str, StringConstraints(pattern=r"^\d{4}-W\d{2}$")]
