"""The local stack behind `make run`: AWS emulation, the app, its event pump and the outbox.

Dev tooling only; nothing here is deployed.
"""
from pathlib import Path

# Written by a running stack, removed when it stops: its emulated AWS endpoints and every
# CLOSELOOP_* setting, including the random secrets of this start (ops and devstack.sign read it).
STATE_FILE = Path(__file__).resolve().parent.parent / ".cache" / "devstack.json"
# The helpdesk webhooks (chalicelib/integrations/) and the settings holding their secrets.
HELPDESK_SECRETS = {"zendesk": "CLOSELOOP_ZENDESK_WEBHOOK_SECRET", "intercom": "CLOSELOOP_INTERCOM_CLIENT_SECRET",
                    "freshdesk": "CLOSELOOP_FRESHDESK_WEBHOOK_SECRET"}
# Slack's signing secret (POST /v1/slack/actions): fixed locally, so a hand-made curl can sign with it.
SLACK_SECRET = "CLOSELOOP_SLACK_SIGNING_SECRET"
LOCAL_SLACK_SECRET = "local-slack-signing-secret"
