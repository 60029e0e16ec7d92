"""Settings of a stage, read from CLOSELOOP_* environment variables.

Chalice sets a stage's environment variables only while it handles a request or an event, so
settings are read lazily on first use and cached; tests call `reset_settings()` after changing
the environment.
"""
from __future__ import annotations

import functools
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, model_validator

from chalicelib.platform import clock, i18n

# A helpdesk API's base URL: https, or http on loopback (the local fakes), so a token never travels in clear.
_API_URL = r"^(https://[^\s?#]+|http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/[^\s?#]*)?)?$"


class Settings(BaseModel):
    stage: str = "local"
    table_name: str = "closeloop-local"
    jobs_queue_url: str = ""
    alert_topic_arn: str = ""
    alert_webhook_url: str = ""
    sender_email: str = "surveys@example.com"
    # The SES configuration set survey emails are sent with: it publishes their bounces and
    # complaints to the SES notices topic (the bootstrap makes it); empty: none.
    ses_configuration_set: str = ""
    company_name: str = "closeloop"
    # The sender's postal address, shown in every survey email's footer (CAN-SPAM and kin).
    postal_address: str = ""
    # Who a customer can reach, named in the answer to an SMS "HELP" (an address, phone or URL).
    help_contact: str = ""
    # Base URL of the survey pages; empty means "the URL the interaction was posted to".
    public_url: str = ""
    response_window_days: int = Field(28, ge=1, le=365)
    send_delay_seconds: int = Field(0, ge=0)
    comment_wait_seconds: int = Field(120, ge=0, le=900)
    # How long a survey page must be visible before it confirms the score by itself.
    confirm_dwell_ms: int = Field(3000, ge=500, le=8000)
    max_send_attempts: int = Field(5, ge=1, le=20)
    max_alert_attempts: int = Field(12, ge=1, le=50)
    api_key_cache_seconds: int = Field(30, ge=0, le=3600)
    # How long a lead stays signed in to the dashboard (chalicelib/leads/sessions.py); no sliding renewal.
    session_hours: int = Field(12, ge=1, le=24 * 30)
    # Follow-ups: who owns them and by when (JSON, see chalicelib/followups/routing.py), escalation, re-survey.
    routing: str = ""
    escalation_topic_arn: str = ""
    escalation_webhook_url: str = ""
    # Praise (followups/kudos.py): a promoter's comment is shared once to this webhook (a Slack
    # incoming webhook, or any URL taking JSON); empty: never shared. The dashboard's agent view
    # shows promoters' comments only with kudos_on_dashboard.
    kudos_webhook_url: str = ""
    kudos_on_dashboard: bool = False
    # Owners (chalicelib/followups/owners.py): false, an owner must be a lead (by email, or their short
    # name); true, any email address or name is taken as given. The owner's reminder goes this long
    # before the deadline; 0: at three quarters of the time from opening to the deadline.
    owners_any_address: bool = False
    owner_reminder_before_seconds: int = Field(0, ge=0, le=90 * 86400)
    # Secrets are read through chalicelib/platform/secrets.py, never from here directly: with a parameter
    # prefix (deployed stages, e.g. "/closeloop/dev/") they are SSM SecureStrings `<prefix><name>`,
    # cached per warm Lambda this long; without one, these CLOSELOOP_* variables (local, tests).
    # They are left out of repr, so a logged Settings shows no secret.
    secrets_parameter_prefix: str = Field("", pattern=r"^(/[A-Za-z0-9_.-]+)*/$|^$")
    secrets_cache_seconds: int = Field(300, ge=0, le=3600)
    # Signs webhook posts (X-Closeloop-Signature) when set.
    webhook_signing_secret: str = Field("", repr=False)
    # Helpdesk webhooks (chalicelib/integrations/); empty: that /v1/webhooks/ route answers 404.
    zendesk_webhook_secret: str = Field("", repr=False)
    intercom_client_secret: str = Field("", repr=False)
    freshdesk_webhook_secret: str = Field("", repr=False)
    # Write-back of survey results to the ticket (chalicelib/integrations/writeback.py, docs/helpdesks.md):
    # each helpdesk's API base URL (https, or http on loopback for the local fakes: a token never
    # travels in clear) and account; its token is a secret. A helpdesk left empty gets no
    # write-back, and a survey naming its ticket shows the failure (writeback_error).
    zendesk_api_url: str = Field("", pattern=_API_URL)                      # https://acme.zendesk.com
    zendesk_email: str = ""                                                 # the agent the API token belongs to
    zendesk_api_token: str = Field("", repr=False)
    freshdesk_api_url: str = Field("", pattern=_API_URL)                    # https://acme.freshdesk.com
    freshdesk_api_key: str = Field("", repr=False)
    intercom_api_url: str = Field("https://api.intercom.io", pattern=_API_URL)
    intercom_admin_id: str = ""                                             # the admin the notes are written as
    intercom_access_token: str = Field("", repr=False)
    intercom_api_version: str = "2.11"
    writeback_max_attempts: int = Field(8, ge=1, le=20)
    # Verifies Slack's interactivity requests (POST /v1/slack/actions); empty: that route answers 404.
    slack_signing_secret: str = Field("", repr=False)
    # Keys the stored hashes of admin API keys (HMAC-SHA256); empty: plain SHA-256 (chalicelib/apikeys/keys.py).
    api_key_pepper: str = Field("", repr=False)
    resurvey_enabled: bool = True
    resurvey_delay_seconds: int = Field(3 * 86400, ge=0)
    # One survey per customer (by id, email and phone, across channels) per this many days; 0: off.
    throttle_days: int = Field(30, ge=0, le=3650)
    # How long personal data is kept (surveys, page views, follow-ups, contact stamps): items carry
    # `expires_ttl` and reads skip them once past it; report counters are kept for good. At least
    # 30 days, and it must exceed the response window (a live survey must not vanish) and the
    # throttle window (a stamp must outlive the window it enforces): see `_retention`.
    retention_days: int = Field(365, ge=30, le=3650)
    # Keys the hashed suppression entries an erasure leaves (HMAC-SHA256); empty: plain SHA-256,
    # which a dictionary of addresses can reverse. Set it once, before the first erasure.
    suppression_hash_key: str = Field("", repr=False)
    # One reminder this long after a survey was sent, if it has no response yet; 0: no reminders.
    reminder_after_seconds: int = Field(3 * 86400, ge=0)
    # SMS quiet hours: texts go out only from start to end (HH:MM, end exclusive) in the
    # customer's time zone, else `default_timezone`; a send outside is deferred, never dropped.
    sms_quiet_hours_enabled: bool = True
    sms_quiet_start: str = "09:00"
    sms_quiet_end: str = "20:00"
    default_timezone: str = "UTC"
    # Reports count by day: the survey's send date on this clock (an IANA name).
    reporting_timezone: str = "UTC"
    # Days still written to counter shards (today, and answers to yesterday's surveys keep coming);
    # older ones are compacted, so that reports read one item per day and group (insight/compaction.py).
    report_open_days: int = Field(2, ge=1, le=30)
    report_compaction_seconds: int = Field(3600, ge=60)  # how often the schedule compacts
    # Customer-facing text: the customer's locale if a catalog has it, else this language.
    default_language: str = "en"
    # Most messages sent per second, across every concurrent handler (SES's account maximum
    # send rate; SNS's SMS throughput); see chalicelib/delivery/send_rate.py.
    email_max_per_second: float = Field(14, gt=0, le=10000)
    sms_max_per_second: float = Field(20, gt=0, le=10000)
    # Why (chalicelib/why/): the reasons a detractor or passive may tick on the survey page, a comma
    # list of at most 6 keys of why/reasons.py (checked by `make deploy` and at first use), and
    # whether every survey asks "Was your issue resolved?" (an interaction's `ask_resolved` decides
    # for its own survey).
    reasons: str = "waited,not_solved,repeated,attitude,product,other"
    ask_resolved: bool = False
    # Comment themes (why/themes.py, docs/themes.md): the stage's taxonomy file, a path under chalicelib/
    # (empty: why/taxonomy.json; checked by `make deploy`); an opt-in model that re-tags each new comment
    # on a job, after the keyword tagger (why/models.py): "" (off), "comprehend" or "bedrock", and the
    # Bedrock model it asks (a foundation model id; the IAM policy grants that model only).
    themes_taxonomy: str = Field("", pattern=r"^([A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.json$|^$")
    themes_model: str = Field("", pattern=r"^(comprehend|bedrock)?$")
    themes_bedrock_model: str = Field("amazon.nova-micro-v1:0", pattern=r"^[a-z0-9-]+\.[A-Za-z0-9.:_-]+$")
    # Lifecycle events (chalicelib/events/, docs/events.md): the EventBridge bus they go to; empty: none.
    event_bus_name: str = Field("", pattern=r"^[A-Za-z0-9._/-]{0,256}$")
    # Whether response events carry the customer's comment (a data lake wants it; off by default).
    event_comments: bool = False

    @model_validator(mode="after")
    def _quiet_hours(self) -> "Settings":
        try:
            start, end = clock.parse_hhmm(self.sms_quiet_start), clock.parse_hhmm(self.sms_quiet_end)
        except ValueError as error:
            raise ValueError(f"sms_quiet_start/sms_quiet_end {error}") from error
        if not start < end:
            raise ValueError("sms_quiet_start must be before sms_quiet_end")
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("default_timezone must be an IANA time zone such as America/New_York") from error
        try:
            ZoneInfo(self.reporting_timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("reporting_timezone must be an IANA time zone such as America/New_York") from error
        return self

    @model_validator(mode="after")
    def _retention(self) -> "Settings":
        if self.retention_days <= max(self.response_window_days, self.throttle_days):
            raise ValueError(f"retention_days ({self.retention_days}) must exceed response_window_days "
                             f"({self.response_window_days}) and throttle_days ({self.throttle_days}): "
                             "a survey must outlive its response window, a contact stamp its throttle window")
        return self

    @model_validator(mode="after")
    def _language(self) -> "Settings":
        if not i18n.has_language(self.default_language):
            raise ValueError(f"default_language must be one of {', '.join(sorted(i18n.languages()))} "
                             "(chalicelib/platform/catalogs/ holds one file per language)")
        return self


ENV_PREFIX = "CLOSELOOP_"


@functools.cache
def get_settings() -> Settings:
    values = {
        name: os.environ[ENV_PREFIX + name.upper()]
        for name in Settings.model_fields
        if ENV_PREFIX + name.upper() in os.environ
    }
    try:
        return Settings(**values)
    except ValidationError as error:
        # A misconfigured stage should fail loudly with the variable's name, not deep in a handler.
        raise RuntimeError(f"invalid closeloop configuration: {error}") from error


def reset_settings() -> None:
    get_settings.cache_clear()
