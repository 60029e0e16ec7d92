"""Integrations: the helpdesks that tell closeloop an interaction ended. Signed Zendesk, Intercom
and Freshdesk webhooks (webhooks: verify, refuse replays, survey or cancel), one adapter module per
product on a shared base (base); the result written back to the ticket (writeback, through
each helpdesk's API: ticket_apis; its job: jobs); Slack's signed button presses on detractor messages (slack).

Other rooms use the names below, nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "webhooks": ("ADAPTERS", "receive"),
    "slack": ("BlockActions", "SlackActionsForm", "receive_slack", "slack_signed_headers"),
    # The bodies each helpdesk sends, for the API document (api/openapi.py).
    "zendesk": ("ZendeskBody",),
    "intercom": ("IntercomNotification",),
    "freshdesk": ("FreshdeskBody",),
    "jobs": ("WriteBack", "queue_writeback"),
    "writeback": ("handle_writeback",),
})
