"""closeloop: every entry point of the app. Each is a few lines that call chalicelib."""
import os

from chalice import AuthResponse, Chalice, Rate, Response
from chalice.app import SQSEvent

from chalicelib import (
    auth, clock, delivery, detractors, edge, escalation, followups, jobs, pages, recovery, surveys, tokens,
)
from chalicelib.models import (
    ClaimIn, FollowUpPatch, FollowUpQuery, HandleResponse, InteractionIn, SendResurvey, SendSurvey,
)
from chalicelib.storage import get_store

app = Chalice(app_name="closeloop")

# The queue is named when app.py is imported (Chalice needs it to wire the event source at
# deploy time); the stage's bootstrap sets this variable per stage.
JOBS_QUEUE = os.environ.get("CLOSELOOP_JOBS_QUEUE_NAME", "closeloop-jobs")

PAGE_FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "application/json"]


@app.authorizer()
def api_key(auth_request):
    principal = auth.principal_for(auth_request.token)
    if principal is None:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal)


# --- admin API (bearer API key) ------------------------------------------------------------

@app.route("/v1/interactions", methods=["POST"], authorizer=api_key)
def post_interaction():
    try:
        request = edge.json_body(app.current_request, InteractionIn)
    except edge.InputError as error:
        return error.response()
    accepted = surveys.accept_interaction(request, edge.base_url(app.current_request))
    return Response(status_code=202 if accepted.created else 200, body=accepted.view())


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


# --- event handlers ------------------------------------------------------------------------

@app.on_sqs_message(queue=JOBS_QUEUE, batch_size=1)
def handle_job(event: SQSEvent):
    for record in event:
        job = jobs.parse(record.body)
        if isinstance(job, SendSurvey):
            delivery.handle_send(job)
        elif isinstance(job, HandleResponse):
            detractors.handle_response(job)
        elif isinstance(job, SendResurvey):
            recovery.handle_resurvey(job)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def escalate_overdue(event):
    """Every minute: escalate each follow-up past its deadline, once (chalicelib/escalation.py)."""
    return escalation.escalate_overdue(time_left_ms=event.context.get_remaining_time_in_millis()).as_dict()
