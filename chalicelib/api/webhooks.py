"""Helpdesk webhooks (signed by the helpdesk, no API key): integrations/webhooks.py verifies each,
refuses replays, and surveys or cancels; a refusal answers 401, a missing secret 404, JSON."""
from __future__ import annotations

from chalice import Response

import chalicelib.integrations as integrations
from chalicelib.platform import edge

webhooks = edge.Routes(__name__)


@webhooks.route("/v1/webhooks/zendesk", methods=["POST"])
def zendesk_webhook():
    """A Zendesk trigger's webhook: ticket solved or reopened."""
    return _receive("zendesk")


@webhooks.route("/v1/webhooks/intercom", methods=["POST"])
def intercom_webhook():
    """Intercom's conversation.admin.closed / conversation.admin.opened notifications."""
    return _receive("intercom")


@webhooks.route("/v1/webhooks/freshdesk", methods=["POST"])
def freshdesk_webhook():
    """A Freshdesk automation's webhook: ticket resolved or reopened."""
    return _receive("freshdesk")


def _receive(product: str) -> Response:
    request = webhooks.current_request
    status, body = integrations.receive(product, request.headers, request.raw_body or b"", edge.base_url(request))
    return Response(status_code=status, body=body, headers={"Content-Type": "application/json"})
