"""Slack's interactivity request URL (signed by Slack, no API key): integrations/slack.py verifies
each press of a detractor message's buttons, refuses replays and changes the follow-up; a refusal
answers 401, a missing signing secret 404, JSON. An accepted press gets an empty 200 at once."""
from __future__ import annotations

from chalice import Response

import chalicelib.integrations as integrations
from chalicelib.platform import edge

slack = edge.Routes(__name__)


@slack.route("/v1/slack/actions", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def slack_actions():
    """A block_actions payload: Claim, Contacted or Resolved pressed on a detractor message."""
    request = slack.current_request
    integrations.receive_slack(request.headers, request.raw_body or b"")
    return Response(status_code=200, body="", headers={"Content-Type": "text/plain"})
