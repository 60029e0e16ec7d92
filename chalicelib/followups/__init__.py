"""Follow-ups: what happens after a detractor responds. The follow-up decision and its alert
(detractors), the lifecycle a lead moves it through (lifecycle), who owns it and by when (routing),
the alerts to the topic and webhook (alerts), the escalation of overdue ones (escalation), the
re-survey after resolution and the recovery stats (recovery), a promoter's praise shared with the team
(kudos), answers in Slack through a press's response_url (slack_replies), and the aggregate's storage
(repository).
Owners are leads, by email (owners); their assignment and reminder emails (assignments).

Other rooms use the names below, nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "jobs": ("HandleResponse", "NotifyOwner", "RemindOwner", "RespondInSlack", "SendResurvey", "ShareKudos"),
    "model": ("CLOSED_STATUSES", "ClaimIn", "FollowUp", "FollowUpDetail", "FollowUpEvent", "FollowUpPatch",
              "FollowUpQuery", "FollowUpStatus", "FollowUpView", "Owner", "StatsQuery"),
    "lifecycle": ("Change", "FollowUpNotFound", "InvalidChange", "change", "claim", "followup_id_for", "get",
                  "has_open_followup", "is_followup_id"),
    "repository": ("FollowUpRepository", "RETENTION_CLOCKS", "followup_key"),
    "views": ("detail_view", "list_view"),
    "detractors": ("handle_response",),
    "kudos": ("is_praise_to_share", "share_kudos"),
    "recovery": ("followup_stats", "handle_resurvey", "stats_window"),
    "escalation": ("escalate_overdue",),
    "alerts": ("SLACK_ACTIONS", "SLACK_OPEN_ACTION", "followup_link"),
    "slack_replies": ("remember_response_url", "respond_in_slack"),
    "owners": ("lead_named", "names_of", "resolve_owner"),
    "assignments": ("handle_notify_owner", "handle_remind_owner"),
})
