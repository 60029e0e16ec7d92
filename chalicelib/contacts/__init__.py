"""Contacts and privacy: who must not be surveyed and why (ledger: suppressions and their counts),
one-click unsubscribe (unsubscribe), SES bounces and complaints (bounces), texted replies (sms_replies),
erasure of a customer's personal data (erasure) and retention of older items (retention).

Other rooms use the names below, nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "model": ("CustomerKey", "ErasureReceipt", "Suppression", "SuppressionIn", "SuppressionKey", "SuppressionQuery",
              "SuppressionReason"),
    "ledger": ("COUNTED_REASONS", "OPEN_FOLLOWUP", "THROTTLED", "add_manual", "count_suppressed",
               "describe_suppression", "get_suppression", "lift_suppression", "suppress", "suppression_for_survey",
               "suppression_stats", "suppression_view", "suppressions_view"),
    "repository": ("SmsRecords",),
    "erasure": ("erase_customer", "find_receipt", "receipt_view"),
}, modules=("bounces", "sms_replies", "unsubscribe", "retention"))
