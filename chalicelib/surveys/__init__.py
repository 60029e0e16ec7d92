"""Surveys: an interaction to survey (intake), the survey and its tokens and links, the pages a
customer sees, scanner judgement, and the one response counted (responses); who is a detractor
(scoring); the survey aggregate's storage (repository).

Other rooms use the names below (and the modules scoring, tokens, links), nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "model": ("Agent", "Channel", "Contact", "ContactKind", "Customer", "Helpdesk", "InteractionIn", "OpenVerdict",
              "ResponseForm", "Survey", "SurveyOpen", "SurveyStatus", "Ticket"),
    "scoring": ("SurveyKind", "is_detractor", "is_promoter"),
    "intake": ("Accepted", "CannotCancel", "accept_interaction", "cancel_interaction"),
    "responses": ("InvalidScore", "ResponseOutcome", "SurveyExpired", "SurveyNotFound", "count_response", "keep_view",
                  "respond", "respond_by_sms", "survey_for_token", "view_page", "withdraw_response"),
    "repository": ("DuplicateInteraction", "RETENTION_CLOCKS", "SurveyRepository", "customer_pk", "survey_key",
                   "throttle_expiry"),
    "response_index": ("ResponseIndex",),
    "views": ("open_view", "survey_view"),
}, modules=("links", "pages", "scanners", "scoring", "tokens", "backfills"))
