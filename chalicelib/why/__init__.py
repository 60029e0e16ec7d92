"""Why customers are unhappy: the reasons a customer ticks after a low score (reasons) and the
themes found in a comment (themes). Both are stored with the response and counted by the report
counters (insight/counters.py), so that reports group by them at a flat read cost.

Other rooms use the names below, nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "keys": ("ReasonKey", "ThemeKey"),
    "reasons": ("MAX_REASONS", "REASON_LABELS", "ReasonProblem", "check_reasons", "reason_label", "stage_reasons"),
    "themes": ("tag_comment", "theme_keys", "theme_label"),
    "taxonomy": ("TaxonomyError", "load_taxonomy"),
    "jobs": ("RetagComment", "queue_retag"),
    "retag": ("backfill_themes", "handle_retag"),
})
