"""Leads: the support leads who use the dashboard. Who may sign in (allowed_list), the one-time
sign-in links sent by email (signin; the queued job that sends one, jobs), their sessions
(sessions), their weekly digest's schedule and preferences (digests), and their items (repository).

Other rooms use the names below, nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "model": ("WEEKDAYS", "Lead", "SignInForm"),
    "repository": ("lead_key",),
    "digests": ("change_digest_from_form", "digest_week_due", "digest_zone", "iso_week", "set_digest"),
    "jobs": ("SendSignInLink",),
    "allowed_list": ("add_lead", "get_lead", "list_leads", "remove_lead"),
    "slack_users": ("SLACK_USER_ID", "lead_for_slack_user", "link_slack_user"),
    "sessions": ("LeadSession", "SESSION_VALUE", "current_session", "end_session", "start_session"),
    "signin": ("DASHBOARD", "LINK_MINUTES", "SPENT", "Refused", "handle_signin_link", "link_lead",
               "request_link", "spend_link"),
})
