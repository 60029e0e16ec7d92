"""Lifecycle events for anyone to route: the versioned event models (model), what the rooms call
when a change is written (emit), and the queued job that publishes each once to the stage's
EventBridge bus (publish).

Other rooms use the names below, nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "model": ("DETAIL_TYPES", "PublishEvent", "detail_schemas"),
    "emit": ("customer_erased", "followup_changed", "followup_escalated", "followup_opened", "response_changed",
             "response_withdrawn", "survey_sent", "unsubscribed"),
    "publish": ("handle_publish",),
})
