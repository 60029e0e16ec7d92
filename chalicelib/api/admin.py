"""The admin API under /v1/ (a bearer API key, api/auth.py): each route reads its input at the edge
and hands it to its room; a Problem raised below answers as JSON (platform/edge.py)."""
from __future__ import annotations

from urllib.parse import unquote

from chalice import Response

import chalicelib.contacts as contacts
import chalicelib.followups as followups
import chalicelib.insight as insight
import chalicelib.surveys as surveys
from chalicelib.api.auth import bearer_key
from chalicelib.platform import clock, edge
from chalicelib.platform.errors import NotFound
from chalicelib.platform.validation import validate

admin = edge.Routes(__name__)


# --- interactions and surveys ------------------------------------------------------------------

@admin.route("/v1/interactions", methods=["POST"], authorizer=bearer_key)
def post_interaction():
    request = admin.current_request
    accepted = surveys.accept_interaction(edge.json_body(request, surveys.InteractionIn), edge.base_url(request))
    return Response(status_code=202 if accepted.created else 200, body=accepted.view())


@admin.route("/v1/interactions/{interaction_id}", methods=["DELETE"], authorizer=bearer_key)
def cancel_survey(interaction_id):
    """Cancel the interaction's survey before it goes: 200 with the survey (status "suppressed",
    suppressed_reason "cancelled"), again 200 on a repeat; 409 once sent; 404 when unknown."""
    survey = surveys.cancel_interaction(unquote(interaction_id), edge.principal(admin.current_request))
    if survey is None:
        raise NotFound("no interaction with this id")
    return surveys.survey_view(survey)


@admin.route("/v1/surveys/{survey_id}", methods=["GET"], authorizer=bearer_key)
def get_survey(survey_id):
    return surveys.survey_view(_survey(survey_id))


@admin.route("/v1/surveys/{survey_id}/opens", methods=["GET"], authorizer=bearer_key)
def get_survey_opens(survey_id):
    """The audit trail of every fetch of the survey's links and how it was judged."""
    _survey(survey_id)
    opens = surveys.SurveyRepository().opens(survey_id)
    return {"survey_id": survey_id, "opens": [surveys.open_view(o) for o in opens]}


def _survey(survey_id: str):
    survey = surveys.SurveyRepository().get(survey_id) if surveys.tokens.is_survey_id(survey_id) else None
    if survey is None:
        raise NotFound("no survey with this id")
    return survey


# --- reports and responses ---------------------------------------------------------------------

@admin.route("/v1/reports/summary", methods=["GET"], authorizer=bearer_key)
def get_report_summary():
    """NPS or CSAT and FCR per day, agent, team, channel, reason or theme, from the counters kept at write time
    (insight/reports.py)."""
    return insight.summary(edge.query(admin.current_request, insight.ReportQuery))


@admin.route("/v1/responses", methods=["GET"], authorizer=bearer_key)
def get_responses():
    """Responses newest first, filtered, paged by an opaque cursor (insight/responses.py)."""
    return insight.list_view(edge.query(admin.current_request, insight.ResponseQuery), clock.now())


@admin.route("/v1/responses.csv", methods=["GET"], authorizer=bearer_key)
def export_responses():
    """One CSV page of the export; the next page's URL is in `Link` (and its cursor in `X-Next-Cursor`)."""
    request = admin.current_request
    page = insight.export_page(edge.query(request, insight.ResponseExportQuery), clock.now())
    headers = {"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
               "Content-Disposition": f'attachment; filename="{page.file_name}"'}
    if page.next_cursor:
        link = insight.next_link(edge.base_url(request), request.query_params, page.next_cursor)
        headers.update({"X-Next-Cursor": page.next_cursor, "Link": f'<{link}>; rel="next"'})
    return Response(status_code=200, body=page.text, headers=headers)


# --- follow-ups --------------------------------------------------------------------------------

@admin.route("/v1/followups", methods=["GET"], authorizer=bearer_key)
def list_followups():
    return followups.list_view(edge.query(admin.current_request, followups.FollowUpQuery), clock.now())


@admin.route("/v1/followups/stats", methods=["GET"], authorizer=bearer_key)
def get_followup_stats():
    """Counts, medians, overdue and recovery rate of the follow-ups opened in [from, to)."""
    window = edge.query(admin.current_request, followups.StatsQuery)
    return followups.followup_stats(*followups.stats_window(window.model_dump(by_alias=True, exclude_none=True)))


@admin.route("/v1/followups/{followup_id}", methods=["GET"], authorizer=bearer_key)
def get_followup_detail(followup_id):
    return followups.detail_view(followups.get(followup_id), clock.now())


@admin.route("/v1/followups/{followup_id}/claim", methods=["POST"], authorizer=bearer_key)
def claim_followup(followup_id):
    request = admin.current_request
    _followup_id(followup_id)
    by, data = edge.principal(request), edge.json_object(request)
    claimed = validate(followups.ClaimIn, {"owner": by, **{k: v for k, v in data.items() if v is not None}})
    # The caller's key name owns it only when it names a lead (or the stage takes any owner).
    owner = _owner(followup_id, claimed.owner)
    return followups.detail_view(followups.claim(followup_id, owner, by, claimed.note), clock.now())


@admin.route("/v1/followups/{followup_id}", methods=["PATCH"], authorizer=bearer_key)
def patch_followup(followup_id):
    request = admin.current_request
    _followup_id(followup_id)
    patch = edge.json_body(request, followups.FollowUpPatch)
    owner = _owner(followup_id, patch.owner) if patch.owner is not None else None
    changed = followups.change(followup_id, followups.Change(**{**patch.model_dump(), "owner": owner}),
                               edge.principal(request))
    return followups.detail_view(changed, clock.now())


def _owner(followup_id: str, name: str) -> str:
    """The owner to store for `name`, a lead's address (followups/owners.py); an unknown follow-up is
    a 404 first, whoever the owner."""
    followups.get(followup_id)
    return followups.resolve_owner(name)


def _followup_id(followup_id: str) -> str:
    """The id, when it has a follow-up id's shape: a malformed one is a 404 before the body is read."""
    if not followups.is_followup_id(followup_id):
        raise followups.FollowUpNotFound(followup_id)
    return followup_id


# --- the suppression ledger --------------------------------------------------------------------

@admin.route("/v1/suppressions", methods=["GET"], authorizer=bearer_key)
def list_suppressions():
    return contacts.suppressions_view(edge.query(admin.current_request, contacts.SuppressionQuery).kind)


@admin.route("/v1/suppressions", methods=["POST"], authorizer=bearer_key)
def add_suppression():
    """An admin suppresses a contact (reason "manual"): 201, or 200 with the earlier entry."""
    request = admin.current_request
    wanted = edge.json_body(request, contacts.SuppressionIn)
    entry, created = contacts.add_manual(wanted.kind, wanted.value, edge.principal(request))
    return Response(status_code=201 if created else 200, body=contacts.suppression_view(entry))


@admin.route("/v1/suppressions/stats", methods=["GET"], authorizer=bearer_key)
def get_suppression_stats():
    """How many surveys were suppressed, by reason (ledger reasons, open_followup, throttled)."""
    return contacts.suppression_stats()


@admin.route("/v1/suppressions/{kind}/{value}", methods=["GET"], authorizer=bearer_key)
def get_suppression_entry(kind, value):
    return _suppression(kind, value, contacts.get_suppression)


@admin.route("/v1/suppressions/{kind}/{value}", methods=["DELETE"], authorizer=bearer_key)
def lift_suppression_entry(kind, value):
    """Lift a suppression: the contact may be surveyed again. Answers the lifted entry."""
    return _suppression(kind, value, contacts.lift_suppression)


def _suppression(kind: str, value: str, action) -> dict:
    """`action`'s ledger entry for the contact; 400 naming `kind` or `value`, or 404 when none."""
    # chalice local and its test client pass path parameters still percent-encoded (%2B, %40).
    key = validate(contacts.SuppressionKey, {"kind": unquote(kind), "value": unquote(value)})
    entry = action(key.kind, key.value)
    if entry is None:
        raise NotFound(f"{key.kind.value} {key.value} is not suppressed")
    return contacts.suppression_view(entry)


# --- personal data -----------------------------------------------------------------------------

@admin.route("/v1/customers/{customer_id}", methods=["DELETE"], authorizer=bearer_key)
def erase_customer_data(customer_id):
    """Erase one customer's personal data; 200 with a receipt of what went (zeros on a repeat)."""
    key = validate(contacts.CustomerKey, {"customer_id": unquote(customer_id)})
    return contacts.receipt_view(contacts.erase_customer(key.customer_id), customer_id=key.customer_id)


@admin.route("/v1/erasures/{receipt_id}", methods=["GET"], authorizer=bearer_key)
def get_erasure(receipt_id):
    """An erasure's receipt, later: its counts and the hash of the customer id (never the id)."""
    found = contacts.find_receipt(receipt_id)
    if found is None:
        raise NotFound("no erasure with this receipt id")
    return contacts.receipt_view(found[0], customer_hash=found[1])
