"""Insight for support leads: report counters written with every send, open and response
(counters) and compacted once their days close (compaction), NPS and CSAT with their intervals
(reports), the responses listing and CSV export (responses), the dashboard's figures and cards
(dashboard) and charts (charts), each lead's weekly digest email (digest; its job, jobs).

Other rooms use the names below, nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "compaction": ("compact_if_due",),
    "digest": ("handle_send_digest", "queue_due_digests", "send_digest"),
    "jobs": ("SendDigest",),
    "counters": ("Why", "opened_changes", "opens_now", "response_changes", "sent_changes"),
    "queries": ("BoardQuery", "CommentQuery", "DashboardRange", "FollowUpAction", "ReportGrouping", "ReportQuery",
                "ResponseExportQuery", "ResponseQuery"),
    "reports": ("LOW_SAMPLE", "summary"),
    "responses": ("export_page", "list_view", "next_link"),
}, modules=("charts", "dashboard"))
