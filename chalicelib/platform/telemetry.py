"""What a deployed stage tells its operators: JSON log lines that follow one survey from the
interaction to the alert, and CloudWatch metrics in embedded metric format (EMF).

Logs. Once a Lambda handles its first event, every log record is one JSON line: time, level,
message, logger, function (the Lambda function), request_id, correlation_id, the record's
`extra` fields and, for an error, the exception. The correlation id is the survey id: it is set
where a survey becomes known (accepting an interaction, a page or SMS reply of the survey, a job
about it, an escalation of its follow-up) and every line after that in the invocation carries it,
so `{ $.correlation_id = "3f9c..." }` in CloudWatch Logs Insights shows the whole story of one
customer's survey. Personal data never belongs in a log; as a safety net the formatter replaces
email addresses, phone numbers and survey or sign-in link tokens in any text, and any extra field
named like personal data, before the line is written.

Metrics. `count("SurveysSent")` prints one EMF document to stdout, which Lambda sends to CloudWatch
Logs and CloudWatch turns into a metric (namespace "closeloop", dimension Stage): no API call, no
cost on the request path. Each metric is counted at the one place its event is decided.
Outside Lambda (tests, `make run`) nothing is installed or printed unless asked: CLOSELOOP_LOG_FORMAT=json
and CLOSELOOP_METRICS=emf turn them on.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Optional

from chalicelib.platform.settings import get_settings

log = logging.getLogger(__name__)

NAMESPACE = "closeloop"  # ops/alarms.py watches the same namespace and dimension
# Every metric the app counts, and where (docs/operations.md, "Observability", lists them for operators).
METRICS = (
    "SurveysAccepted",     # surveys.accept_interaction: a new survey, queued for its send
    "SurveysSuppressed",   # suppressions.count: not surveyed (ledger, open follow-up, throttle)
    "SurveysSent",         # delivery.handle_send: the provider took the survey message
    "SurveysFailed",       # delivery: the survey ended failed (refused, retries spent, expired)
    "Responses",           # surveys: a survey's first counted response
    "AutomatedOpens",      # surveys: a page view or confirmation judged a machine's (scanners)
    "Detractors",          # detractors.handle_response: a detractor's follow-up opened
    "Alerts",              # alerts: an alert delivered on one channel (topic, webhook)
    "AlertsRetracted",     # alerts: an alert taken back on one channel (its response was a sweep)
    "Kudos",               # kudos: a promoter's comment shared on the kudos webhook
    "Escalations",         # escalation: an overdue follow-up escalated
    "OverdueFollowUps",    # escalation run, every minute: overdue and not yet escalated
)

_correlation: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("correlation_id", default=None)
_function: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("function", default=None)
_request: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("request_id", default=None)
_installed = False


# --- correlation ---------------------------------------------------------------------------

def correlate(survey_id: Optional[str]) -> None:
    """From here on, this invocation's log lines and metrics belong to this survey."""
    if survey_id:
        _correlation.set(survey_id)


def correlation_id() -> Optional[str]:
    return _correlation.get()


@contextlib.contextmanager
def correlated(survey_id: Optional[str]) -> Iterator[None]:
    """Within the block, lines belong to this survey; after it, to whatever they belonged to before
    (a run over many follow-ups must not lend the last one's id to its summary)."""
    token = _correlation.set(survey_id)
    try:
        yield
    finally:
        _correlation.reset(token)


def correlation_of(job: Any) -> Optional[str]:
    """The survey a queued job is about: its survey_id, or the survey of its follow-up."""
    survey_id = getattr(job, "survey_id", None)
    if survey_id:
        return survey_id
    followup_id = getattr(job, "followup_id", None)
    return correlation_of_followup(followup_id) if followup_id else None


def correlation_of_followup(followup_id: str) -> str:
    """A follow-up belongs to the survey whose detractor response opened it (fu_<survey id>)."""
    return followup_id.removeprefix("fu_")


def around(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware for every handler: JSON logs from the first invocation on, and a fresh
    context per invocation (a warm Lambda reuses the process, so nothing may leak between events)."""
    _install_once()
    # A route gets a Request (its Lambda context in .lambda_context); an event handler an event (.context).
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    tokens = (_function.set(getattr(context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")),
              _request.set(getattr(context, "aws_request_id", None)),
              _correlation.set(None))
    try:
        return get_response(event)
    except Exception:
        # The runtime reports it too, but not as a JSON line with the correlation id to follow.
        log.exception("unhandled error")
        raise
    finally:
        for var, token in zip((_function, _request, _correlation), tokens):
            var.reset(token)


# --- JSON log lines ------------------------------------------------------------------------

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+[1-9]\d{7,14}\b")
# Survey page, honeypot, unsubscribe and sign-in links carry a secret token in their path.
_LINK_TOKEN = re.compile(r"(/(?:s|h|u|signin)/)[A-Za-z0-9_-]{8,}")
_PERSONAL_FIELDS = re.compile(r"email|phone|name|comment|token|secret|password|authorization|cookie", re.I)
_SAFE_FIELDS = {"logger", "function"}  # named like personal data, but are not


def scrub(text: str) -> str:
    """`text` without email addresses, phone numbers or link tokens."""
    text = _EMAIL.sub("<email>", text)
    text = _PHONE.sub("<phone>", text)
    return _LINK_TOKEN.sub(r"\1<token>", text)


class JsonFormatter(logging.Formatter):
    """One log record, one line of JSON (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "message": scrub(record.getMessage()),
            "logger": record.name,
            "function": _function.get(),
            "request_id": _request.get(),
            "correlation_id": _correlation.get(),
        }
        for name, value in vars(record).items():
            if name in _RECORD_FIELDS or name.startswith("_") or name in entry:
                continue
            if _PERSONAL_FIELDS.search(name) and name not in _SAFE_FIELDS:
                entry[name] = "<redacted>"
            else:
                entry[name] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (a test's capture, or Lambda's)."""

    def __init__(self):
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


def install_logging(level: Optional[str] = None) -> logging.Handler:
    """Make every record a JSON line on stdout; returns the handler (a test removes it again).

    In Lambda the runtime has already put its own handler on the root logger (it writes each record
    as one log event); that handler gets the JSON formatter, so nothing is written twice.
    """
    root = logging.getLogger()
    level_name = (level or os.environ.get("CLOSELOOP_LOG_LEVEL") or os.environ.get("AWS_LAMBDA_LOG_LEVEL")
                  or "INFO").upper()
    root.setLevel(getattr(logging, level_name, logging.INFO))
    formatter = JsonFormatter()
    in_lambda = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
    if in_lambda and root.handlers:
        for handler in root.handlers:
            handler.setFormatter(formatter)
        # Chalice's own logger ("closeloop") does not propagate: its handler gets the same format.
        for handler in logging.getLogger("closeloop").handlers:
            handler.setFormatter(formatter)
        return root.handlers[0]
    handler = _StdoutHandler()
    handler.setFormatter(formatter)
    root.addHandler(handler)
    return handler


def _install_once() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    if "AWS_LAMBDA_FUNCTION_NAME" in os.environ or os.environ.get("CLOSELOOP_LOG_FORMAT") == "json":
        install_logging()


# --- metrics (embedded metric format) ------------------------------------------------------

def count(metric: str, value: int = 1, **properties: Any) -> None:
    """Count `value` events of `metric` (one of METRICS). `properties` are searchable fields of the
    log event (never personal data), not dimensions: one dimension keeps CloudWatch's bill small."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; add it to telemetry.METRICS")
    if not _metrics_enabled():
        return
    document = {
        "_aws": {
            # Wall-clock time, not chalicelib.platform.clock: CloudWatch refuses timestamps far from now.
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Stage"]],
                                   "Metrics": [{"Name": metric, "Unit": "Count"}]}],
        },
        "Stage": get_settings().stage,
        metric: value,
        "correlation_id": _correlation.get(),
        "function": _function.get(),
        **properties,
    }
    sys.stdout.write(json.dumps(document, default=str) + "\n")
    sys.stdout.flush()


def _metrics_enabled() -> bool:
    if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
        return os.environ.get("CLOSELOOP_METRICS", "emf") != "off"
    return os.environ.get("CLOSELOOP_METRICS") == "emf"
