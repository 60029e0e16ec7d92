"""Answers in Slack through a `response_url`: the detractor message replaced with the follow-up's
new state after a button press, an ephemeral word to the presser when their change was refused,
and the message replaced again when the alert is retracted.

Slack's incoming webhooks return no message id, so the original alert can only be changed through
the `response_url` of an interaction with it: each press's is kept on the follow-up (repository:
`remember_slack_response`). Slack honours one for 30 minutes and 5 uses; a retraction later than
that, or of a message nobody pressed, leaves the original as it is, and the retraction's own post
(alerts.py) stands.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

from chalicelib.followups import alerts
from chalicelib.followups.jobs import RespondInSlack
from chalicelib.followups.lifecycle import FollowUpNotFound, get
from chalicelib.followups.model import FollowUp
from chalicelib.followups.repository import FollowUpRepository
from chalicelib.platform import clock
from chalicelib.platform.settings import Settings, get_settings

log = logging.getLogger(__name__)

RESPONSE_URL_LIFETIME = timedelta(minutes=30)
RESPONSE_URL_USES = 5
_TIMEOUT_SECONDS = 5


class SlackReplyError(Exception):
    """Slack refused or did not answer a response_url post (the message never holds the URL)."""


def remember_response_url(followup_id: str, url: str) -> None:
    """Keep a press's response_url for a later retraction; the press's own reply is its first use."""
    FollowUpRepository().remember_slack_response(followup_id, url, clock.now(), uses=1)


def respond_in_slack(job: RespondInSlack) -> str:
    """The queued answer to a press: the refusal as an ephemeral message, else the message replaced
    with the follow-up's state as it is now (a later press's answer shows the later state)."""
    if job.refusal:
        post(job.response_url, {"response_type": "ephemeral", "replace_original": False,
                                 "text": f"Not changed: {job.refusal}"})
        return "refusal shown"
    try:
        followup = get(job.followup_id)
    except FollowUpNotFound:
        post(job.response_url, {"response_type": "ephemeral", "replace_original": False,
                                 "text": "Not changed: this follow-up no longer exists"})
        return "follow-up gone"
    post(job.response_url, alerts.slack_state_message(followup, get_settings()))
    return "message updated"


def replace_retracted(followup: FollowUp, settings: Settings) -> str:
    """Replace the detractor message with the retraction, if a press left a response_url still usable."""
    url = FollowUpRepository().take_slack_response(followup.followup_id, clock.now() - RESPONSE_URL_LIFETIME,
                                                   RESPONSE_URL_USES)
    if url is None:
        return "no usable response_url"
    post(url, {"replace_original": True, **alerts.retraction_message(followup, settings)})
    return "message replaced"


def post(url: str, payload: dict) -> None:
    """POST JSON to a response_url; SlackReplyError (without the URL) when Slack refuses it."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "closeloop"})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS):
            return
    except urllib.error.HTTPError as error:
        raise SlackReplyError(f"Slack's response_url answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise SlackReplyError(f"Slack's response_url unreachable: {type(error).__name__}") from None
