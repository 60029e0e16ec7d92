"""Customer text made inert by the rules of each place it goes: the one place for those rules.

Customers and helpdesks write comments, names and teams; none of it may act where it lands:
- every template (platform/rendering.py): control and bidirectional-override characters are
  dropped from every value (`without_controls`), so no text can hide or reorder what is around
  it; HTML templates are also autoescaped by Jinja2, and plain-text alerts indent a comment's
  further lines, so it cannot forge a line of the alert;
- Slack mrkdwn, blocks and the fallback `text` alike: `&`, `<`, `>` escaped (`slack`), so
  `<!channel>` or `<https://evil.example|click here>` arrive as the characters typed;
- emails and SMS greet by a first name only when it cannot read as a link (delivery/content.py
  `first_name`): an SMS holds one link, ours;
- CSV: a cell a spreadsheet would run as a formula is defused (insight/responses.py `cell`).
"""
from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

# C0 and C1 controls but tab and line feed; the bidirectional embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def without_controls(value: Any) -> Any:
    """Jinja2's finalize for every template: text loses its control characters (ours, Markup, stays)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value


def slack(text: str) -> str:
    """Text for Slack (mrkdwn fields and the notification `text`): its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

