"""closeloop: every entry point of the app. Each is a few lines that call chalicelib."""
import os
import re
from urllib.parse import unquote

from chalice import AuthResponse, Chalice, Rate, Response
from chalice.app import SNSEvent, SQSEvent

from chalicelib import (
    auth, clock, dashboard, delivery, detractors, edge, erasure, escalation, followups, health, helpdesks, jobs,
    pages, recovery, reminders, reports, responses, ses_notices, signin, sms_replies, suppressions, surveys,
    telemetry, tokens, unsubscribe,
)
from chalicelib.models import (
    ClaimIn, CustomerKey, FollowUpPatch, FollowUpQuery, HandleResponse, InteractionIn, ReportQuery, ResponseExportQuery,
    ResponseQuery, SendReminder, SendResurvey, SendSurvey, SuppressionIn, SuppressionKey, SuppressionQuery,
)
from chalicelib.storage import get_store

app = Chalice(app_name="closeloop")

# The queue is named when app.py is imported (Chalice needs it to wire the event source at
# deploy time); the stage's bootstrap sets this variable per stage.
JOBS_QUEUE = os.environ.get("CLOSELOOP_JOBS_QUEUE_NAME", "closeloop-jobs")
# The topic AWS End User Messaging publishes inbound SMS (replies to our texts) to.
SMS_REPLIES_TOPIC = os.environ.get("CLOSELOOP_SMS_REPLIES_TOPIC_NAME", "closeloop-sms-replies")
# The topic SES publishes bounce and complaint notifications to (named at import, as the queue).
SES_NOTICES_TOPIC = os.environ.get("CLOSELOOP_SES_NOTICES_TOPIC_NAME", "closeloop-ses-notices")

INTERACTION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
PAGE_FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "application/json"]


@app.authorizer()
def api_key(auth_request):
    principal = auth.principal_for(auth_request.token)
    if principal is None:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal)


# --- operations: logs, metrics, health (chalicelib/telemetry.py, chalicelib/health.py) --------

@app.middleware("all")
def telemetry_context(event, get_response):
    """Every invocation: JSON log lines (set up on the first) and a fresh correlation id."""
    return telemetry.around(event, get_response)


@app.route("/health", methods=["GET"])
def get_health():
    """Public, for uptime checks: 200 with the version when the table answers a read, else 503."""
    status, body = health.check()
    return Response(status_code=status, body=body,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store"})


# --- admin API (bearer API key) ------------------------------------------------------------

@app.route("/v1/interactions", methods=["POST"], authorizer=api_key)
def post_interaction():
    try:
        request = edge.json_body(app.current_request, InteractionIn)
    except edge.InputError as error:
        return error.response()
    accepted = surveys.accept_interaction(request, edge.base_url(app.current_request))
    return Response(status_code=202 if accepted.created else 200, body=accepted.view())


@app.route("/v1/interactions/{interaction_id}", methods=["DELETE"], authorizer=api_key)
def cancel_interaction(interaction_id):
    """Cancel the interaction's survey before it goes: 200 with the survey (status "suppressed",
    suppressed_reason "cancelled"), again 200 on a repeat; 409 once sent; 404 when unknown."""
    interaction_id = unquote(interaction_id)
    try:
        survey = (surveys.cancel_interaction(interaction_id, edge.principal(app.current_request))
                  if INTERACTION_ID.fullmatch(interaction_id) else None)
    except surveys.CannotCancel as refused:
        return Response(status_code=409, body={"error": "conflict", "message": str(refused),
                                               "survey": surveys.survey_view(refused.survey)},
                        headers={"Content-Type": "application/json"})
    if survey is None:
        return edge.InputError(404, "not_found", "no interaction with this id").response()
    return surveys.survey_view(survey)


@app.route("/v1/surveys/{survey_id}", methods=["GET"], authorizer=api_key)
def get_survey(survey_id):
    survey = get_store().get_survey(survey_id) if tokens.is_survey_id(survey_id) else None
    if survey is None:
        return edge.InputError(404, "not_found", "no survey with this id").response()
    return surveys.survey_view(survey)


@app.route("/v1/surveys/{survey_id}/opens", methods=["GET"], authorizer=api_key)
def get_survey_opens(survey_id):
    """The audit trail of every fetch of the survey's links and how it was judged."""
    if not tokens.is_survey_id(survey_id) or get_store().get_survey(survey_id) is None:
        return edge.InputError(404, "not_found", "no survey with this id").response()
    return {"survey_id": survey_id, "opens": [surveys.open_view(o) for o in get_store().list_opens(survey_id)]}


@app.route("/v1/followups/stats", methods=["GET"], authorizer=api_key)
def get_followup_stats():
    """Counts, medians, overdue and recovery rate of the follow-ups opened in [from, to)."""
    try:
        start, end = recovery.stats_window(app.current_request.query_params)
    except edge.InputError as error:
        return error.response()
    return recovery.followup_stats(start, end)


@app.route("/v1/reports/summary", methods=["GET"], authorizer=api_key)
def get_report_summary():
    """NPS or CSAT per day, agent, team or channel, from the counters kept at write time (chalicelib/reports.py)."""
    try:
        return reports.summary(edge.query(app.current_request, ReportQuery))
    except edge.InputError as error:
        return error.response()


# --- responses (bearer API key) -----------------------------------------------------------

@app.route("/v1/responses", methods=["GET"], authorizer=api_key)
def list_responses():
    """Responses newest first, filtered, paged by an opaque cursor (chalicelib/responses.py)."""
    try:
        return responses.list_view(edge.query(app.current_request, ResponseQuery), clock.now())
    except edge.InputError as error:
        return error.response()


@app.route("/v1/responses.csv", methods=["GET"], authorizer=api_key)
def export_responses():
    """One CSV page of the export; the next page's URL is in `Link` (and its cursor in `X-Next-Cursor`)."""
    request = app.current_request
    try:
        page = responses.export_page(edge.query(request, ResponseExportQuery), clock.now())
    except edge.InputError as error:
        return error.response()
    headers = {"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
               "Content-Disposition": f'attachment; filename="{page.file_name}"'}
    if page.next_cursor:
        link = responses.next_link(edge.base_url(request), request.query_params, page.next_cursor)
        headers.update({"X-Next-Cursor": page.next_cursor, "Link": f'<{link}>; rel="next"'})
    return Response(status_code=200, body=page.text, headers=headers)


# --- follow-ups (bearer API key) ----------------------------------------------------------

@app.route("/v1/followups", methods=["GET"], authorizer=api_key)
def list_followups():
    try:
        return followups.list_view(edge.query(app.current_request, FollowUpQuery), clock.now())
    except edge.InputError as error:
        return error.response()


@app.route("/v1/followups/{followup_id}", methods=["GET"], authorizer=api_key)
def get_followup(followup_id):
    return _followup_answer(followup_id, lambda: followups.get(followup_id))


@app.route("/v1/followups/{followup_id}/claim", methods=["POST"], authorizer=api_key)
def claim_followup(followup_id):
    def claim():
        by, data = edge.principal(app.current_request), edge.json_object(app.current_request)
        request = edge.validate(ClaimIn, {"owner": by, **{k: v for k, v in data.items() if v is not None}})
        return followups.claim(followup_id, request.owner, by, request.note)
    return _followup_answer(followup_id, claim)


@app.route("/v1/followups/{followup_id}", methods=["PATCH"], authorizer=api_key)
def patch_followup(followup_id):
    def patch():
        request = edge.json_body(app.current_request, FollowUpPatch)
        change = followups.Change(**request.model_dump())
        return followups.change(followup_id, change, edge.principal(app.current_request))
    return _followup_answer(followup_id, patch)


def _followup_answer(followup_id, action):
    """The follow-up `action` returns, in detail; or 400 naming the field, 404, 409 with the reason."""
    try:
        if not followups.is_followup_id(followup_id):
            raise followups.FollowUpNotFound(followup_id)  # never looked up
        return followups.detail_view(action(), clock.now())
    except edge.InputError as error:
        return error.response()
    except followups.FollowUpNotFound:
        return edge.InputError(404, "not_found", "no follow-up with this id").response()
    except followups.InvalidChange as error:
        return edge.InputError(409, "conflict", str(error)).response()


# --- dashboard for leads (session cookie; chalicelib/dashboard.py) ---------------------------

DASHBOARD_FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data"]


@app.route("/dashboard", methods=["GET"])
def dashboard_overview():
    """NPS or CSAT with its 95% interval, the trend, the distribution and the response funnel."""
    return dashboard.overview(app.current_request)


@app.route("/dashboard/people", methods=["GET"])
def dashboard_people():
    """Agents and teams, each score with its interval and a low-sample flag."""
    return dashboard.people(app.current_request)


@app.route("/dashboard/comments", methods=["GET"])
def dashboard_comments():
    return dashboard.comments(app.current_request)


@app.route("/dashboard/followups", methods=["GET"])
def dashboard_followups():
    """The follow-ups board: open, overdue, mine."""
    return dashboard.followups_board(app.current_request)


@app.route("/dashboard/followups/{followup_id}", methods=["GET"])
def dashboard_followup(followup_id):
    return dashboard.followup_page(app.current_request, followup_id)


@app.route("/dashboard/followups/{followup_id}", methods=["POST"], content_types=DASHBOARD_FORM_TYPES)
def dashboard_followup_action(followup_id):
    """A board button (claim, contact, resolve) as the signed-in lead; 303 back to the board."""
    return dashboard.followup_action(app.current_request, followup_id)


# --- suppression ledger (bearer API key) --------------------------------------------------

@app.route("/v1/suppressions", methods=["GET"], authorizer=api_key)
def list_suppressions():
    try:
        query = edge.query(app.current_request, SuppressionQuery)
    except edge.InputError as error:
        return error.response()
    return suppressions.list_view(query.kind)


@app.route("/v1/suppressions", methods=["POST"], authorizer=api_key)
def add_suppression():
    """An admin suppresses a contact (reason "manual"): 201, or 200 with the earlier entry."""
    try:
        request = edge.json_body(app.current_request, SuppressionIn)
    except edge.InputError as error:
        return error.response()
    entry, created = suppressions.add_manual(request.kind, request.value, edge.principal(app.current_request))
    return Response(status_code=201 if created else 200, body=suppressions.view(entry))


@app.route("/v1/suppressions/stats", methods=["GET"], authorizer=api_key)
def get_suppression_stats():
    """How many surveys were suppressed, by reason (ledger reasons, open_followup, throttled)."""
    return suppressions.stats()


@app.route("/v1/suppressions/{kind}/{value}", methods=["GET"], authorizer=api_key)
def get_suppression(kind, value):
    return _suppression_answer(kind, value, suppressions.get)


@app.route("/v1/suppressions/{kind}/{value}", methods=["DELETE"], authorizer=api_key)
def lift_suppression(kind, value):
    """Lift a suppression: the contact may be surveyed again. Answers the lifted entry."""
    return _suppression_answer(kind, value, suppressions.lift)


def _suppression_answer(kind, value, action):
    """`action`'s ledger entry for the contact; 400 naming `kind` or `value`, or 404 when none."""
    try:
        # chalice local and its test client pass path parameters still percent-encoded (%2B, %40).
        key = edge.validate(SuppressionKey, {"kind": unquote(kind), "value": unquote(value)})
    except edge.InputError as error:
        return error.response()
    entry = action(key.kind, key.value)
    if entry is None:
        return edge.InputError(404, "not_found", f"{key.kind.value} {key.value} is not suppressed").response()
    return suppressions.view(entry)


# --- personal data (bearer API key) ------------------------------------------------------

@app.route("/v1/customers/{customer_id}", methods=["DELETE"], authorizer=api_key)
def erase_customer(customer_id):
    """Erase one customer's personal data; 200 with a receipt of what went (zeros on a repeat)."""
    try:
        key = edge.validate(CustomerKey, {"customer_id": unquote(customer_id)})
    except edge.InputError as error:
        return error.response()
    return erasure.receipt_view(erasure.erase_customer(key.customer_id), customer_id=key.customer_id)


@app.route("/v1/erasures/{receipt_id}", methods=["GET"], authorizer=api_key)
def get_erasure(receipt_id):
    """An erasure's receipt, later: its counts and the hash of the customer id (never the id)."""
    found = get_store().get_erasure_receipt(receipt_id) if erasure.is_receipt_id(receipt_id) else None
    if found is None:
        return edge.InputError(404, "not_found", "no erasure with this receipt id").response()
    return erasure.receipt_view(found[0], customer_hash=found[1])


# --- sign-in for leads (public; the dashboard's session) ----------------------------------

@app.route("/signin", methods=["GET"])
def signin_form():
    return signin.show_form(app.current_request)


@app.route("/signin", methods=["POST"], content_types=PAGE_FORM_TYPES)
def signin_request_link():
    """Email a one-time link to a lead on the allowed list; everyone gets the same answer."""
    return signin.request_link(app.current_request)


@app.route("/signin/{token}", methods=["GET"])
def signin_link(token):
    """The link from the email: a button to sign in. A visit (or a mail scanner) spends nothing."""
    return signin.show_link(app.current_request, token)


@app.route("/signin/{token}", methods=["POST"], content_types=PAGE_FORM_TYPES)
def signin_use_link(token):
    """Spend the link (once), set the session cookie, go to the dashboard."""
    return signin.use_link(app.current_request, token)


@app.route("/signout", methods=["POST"], content_types=PAGE_FORM_TYPES)
def signout():
    return signin.sign_out(app.current_request)


# --- survey pages (public, protected by the token) -----------------------------------------

@app.route("/s/{token}", methods=["GET", "HEAD"])
def choose_score(token):
    return pages.show(app.current_request, token, None)


@app.route("/s/{token}/{score}", methods=["GET", "HEAD"])
def one_click(token, score):
    return pages.show(app.current_request, token, score)


@app.route("/s/{token}/{score}", methods=["POST"])
def confirm_score(token, score):
    """The landing page confirms its score by itself once it has been seen for a moment."""
    return pages.confirm(app.current_request, token, score)


@app.route("/s/{token}", methods=["POST"], content_types=PAGE_FORM_TYPES)
def submit_response(token):
    """The page's form: a score (possibly changed) and a comment, submitted by the person."""
    return pages.submit(app.current_request, token)


@app.route("/h/{token}", methods=["GET", "HEAD"])
def honeypot(token):
    return pages.show(app.current_request, token, None, honeypot=True)


# --- email opt-out (RFC 8058; public, protected by the survey's token) ---------------------

@app.route("/u/{token}", methods=["GET", "HEAD"])
def unsubscribe_page(token):
    """A confirmation page with a button: a visit (or a mail scanner's fetch) unsubscribes nobody."""
    return unsubscribe.show(app.current_request, token)


@app.route("/u/{token}", methods=["POST"], content_types=PAGE_FORM_TYPES)
def unsubscribe_now(token):
    """One-click unsubscribe (a mail client's POST of List-Unsubscribe=One-Click, or the page's button)."""
    return unsubscribe.confirm(app.current_request, token)


# --- helpdesk webhooks (signed by the helpdesk, no API key) ---------------------------------

@app.route("/v1/webhooks/zendesk", methods=["POST"])
def zendesk_webhook():
    """A Zendesk trigger's webhook: ticket solved or reopened (chalicelib/helpdesks.py)."""
    return helpdesks.receive("zendesk", app.current_request)


@app.route("/v1/webhooks/intercom", methods=["POST"])
def intercom_webhook():
    """Intercom's conversation.admin.closed / conversation.admin.opened notifications."""
    return helpdesks.receive("intercom", app.current_request)


@app.route("/v1/webhooks/freshdesk", methods=["POST"])
def freshdesk_webhook():
    """A Freshdesk automation's webhook: ticket resolved or reopened."""
    return helpdesks.receive("freshdesk", app.current_request)


# --- event handlers ------------------------------------------------------------------------

# One job a batch: each send may wait up to 2 s in the handler for its moment (send_rate.py), so
# ten would near the 30 s timeout, and a timeout leaves the send it cuts "outcome unknown".
# Failures are still reported per record (jobs.run_batch), so a larger batch stays correct.
@app.on_sqs_message(queue=JOBS_QUEUE, batch_size=1)
def handle_job(event: SQSEvent):
    return jobs.run_batch(event, run_job)


def run_job(job) -> None:
    telemetry.correlate(telemetry.correlation_of(job))
    if isinstance(job, SendSurvey):
        delivery.handle_send(job)
    elif isinstance(job, HandleResponse):
        detractors.handle_response(job)
    elif isinstance(job, SendResurvey):
        recovery.handle_resurvey(job)
    elif isinstance(job, SendReminder):
        reminders.handle_reminder(job)


@app.on_sns_message(topic=SES_NOTICES_TOPIC)
def handle_ses_notice(event: SNSEvent):
    """SES bounce and complaint notifications feed the suppression ledger (chalicelib/ses_notices.py)."""
    ses_notices.handle(event.message)


@app.on_sns_message(topic=SMS_REPLIES_TOPIC)
def handle_sms_reply(event: SNSEvent):
    """A customer texted us: STOP/HELP/START, a score, or anything else (chalicelib/sms_replies.py)."""
    sms_replies.handle(event.message)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def escalate_overdue(event):
    """Every minute: escalate each follow-up past its deadline, once (chalicelib/escalation.py)."""
    return escalation.escalate_overdue(time_left_ms=event.context.get_remaining_time_in_millis()).as_dict()
