"""Delivery: sending a survey by email (SES) or SMS, at most once, at the right time: the send job
and its retries (sending), the one reminder (reminders), the sending rate shared by every handler
(send_rate), SMS quiet hours (quiet_hours), and what each message says (content, email, sms).

Other rooms use the names below, nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "jobs": ("SendReminder", "SendSlot", "SendSurvey", "reminder_timer"),
    "sending": ("ProviderError", "handle_send", "mark_sent", "sms_window_delay"),
    "reminders": ("handle_reminder",),
    "content": ("first_name", "translator_for"),
    "sms": ("SEGMENT_SEPTETS", "septets", "to_gsm", "without_accents"),
})
