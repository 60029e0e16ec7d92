"""closeloop: the table of contents. The app, its authorizer, one blueprint per area, the event handlers.

Every route and handler lives in chalicelib/api/ and hands its work to a room of chalicelib/
(docs/architecture.md is the map).
"""
from chalice import Chalice

from chalicelib.api import admin, auth, dashboard, events, health, openapi, pages, signin, slack, webhooks
from chalicelib.platform import telemetry

app = Chalice(app_name="closeloop")

# Every invocation: JSON log lines (set up on the first) and a fresh correlation id.
app.register_middleware(telemetry.around, "all")

# The admin API's authorizer; `bearer_key` is its Lambda handler (app.bearer_key). Not `api_key`:
# chalice would write API Gateway's usage-plan key in its place (chalicelib/api/auth.py).
app.register_blueprint(auth.blueprint)
bearer_key = auth.bearer_key

app.register_blueprint(admin.admin)             # /v1/: interactions, surveys, reports, responses, follow-ups, ...
app.register_blueprint(webhooks.webhooks)       # /v1/webhooks/: Zendesk, Intercom, Freshdesk (signed)
app.register_blueprint(slack.slack)             # /v1/slack/actions: Slack's button presses (signed)
app.register_blueprint(openapi.contract)        # /v1/openapi.json: the API's OpenAPI document (public)
app.register_blueprint(pages.survey_pages)      # /s/, /h/, /u/: the customer's pages
app.register_blueprint(signin.signin)           # /signin, /signout: the leads' sign-in
app.register_blueprint(dashboard.dashboard)     # /dashboard: the leads' dashboard
app.register_blueprint(health.health)           # /health: the uptime check

# The event handlers (chalicelib/api/events.py), by the names Lambda calls them: app.<name>.
app.register_blueprint(events.events)
handle_job = events.handle_job                  # the jobs queue (SQS)
handle_ses_notice = events.handle_ses_notice    # SES bounces and complaints (SNS)
handle_sms_reply = events.handle_sms_reply      # customers' texted replies (SNS)
escalate_overdue = events.escalate_overdue      # every minute: overdue follow-ups
