"""Which lead a Slack user is: a lead links their Slack user id once (`python -m ops leads
link-slack EMAIL SLACK_USER_ID`), and a button they press in a Slack alert then acts as them.

The id is stored on the lead's item. Looking one up reads the allowed list (one Query on a small
partition), so a link needs no second item that could disagree with the lead it names.
"""
from __future__ import annotations

import re
from typing import Optional

from chalicelib.leads.model import Lead
from chalicelib.leads.repository import LeadRepository

# Slack's user ids: U or W and upper-case letters and digits (e.g. U024BE7LH).
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")


def link_slack_user(email: str, slack_user_id: Optional[str]) -> Optional[Lead]:
    """Link a lead to a Slack user id (None unlinks); None when the address is not a lead.
    A malformed id is a ValueError naming `slack_user_id`."""
    if slack_user_id is not None and not SLACK_USER_ID.match(slack_user_id):
        raise ValueError("slack_user_id: must be a Slack user id such as U024BE7LH")
    return LeadRepository().set_slack_user(email.strip(), slack_user_id)


def lead_for_slack_user(slack_user_id: str) -> Optional[Lead]:
    """The lead linked to this Slack user id, or None."""
    if not SLACK_USER_ID.match(slack_user_id or ""):
        return None
    return next((lead for lead in LeadRepository().list_leads() if lead.slack_user_id == slack_user_id), None)
