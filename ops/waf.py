"""The per-client limit on the public pages: an AWS WAF web ACL on the stage's API.

API Gateway's throttle (ops/cfn_template.py: method settings) is shared by every caller, so one
client sending junk at its rate would get every customer a 429 on `/s`, `/u`, `/h` and `/signin`.
The web ACL's rate-based rule counts requests per client IP over five minutes and answers 429 to
that client alone once it passes `CLOSELOOP_CLIENT_RATE_LIMIT`; the stage throttle stays as the
ceiling over all clients. Only the public paths count: the admin API and the helpdesk webhooks
authenticate their callers, and a helpdesk sends its bursts from a few addresses.

One definition for both paths to a stage: the bootstrap creates the web ACL by API and associates
it with the stage after `chalice deploy` (ops/after_deploy.py); the merge template declares the
same properties (ops/cfn_template.py).
"""
from __future__ import annotations

import re
from typing import Optional

from ops.stack import APP, StackNames

# Routes anyone on the internet can reach without a key (survey pages, unsubscribe, the honeypot
# link, sign-in): a path is public when it is one of these or lies under one.
PUBLIC_PATHS = ("/s", "/u", "/h", "/signin")
SCOPE = "REGIONAL"  # an API Gateway stage's web ACL is regional
RULE = "public-pages-per-client"
WINDOW_SECONDS = 300  # WAF counts a client's requests over this window
# The limit when the stage sets none: a person clicks a handful of pages; an office behind one
# address (a NAT) may hold many customers, so far more than one person's share.
DEFAULT_LIMIT = 1000
MIN_LIMIT, MAX_LIMIT = 10, 2_000_000_000  # what WAF accepts
LIMIT_VARIABLE = "CLOSELOOP_CLIENT_RATE_LIMIT"


def web_acl_name(names: StackNames) -> str:
    return f"{APP}-{names.stage}-public"


def public_path_pattern() -> str:
    """The URI paths the rule counts: a public path or one under it, after an optional first
    segment (the execute-api URL carries the stage's name: /api/s/<token>)."""
    alternatives = "|".join(re.escape(path.lstrip("/")) for path in PUBLIC_PATHS)
    return rf"^(/[^/]+)?/({alternatives})(/|$)"


def limit(environment: dict[str, str]) -> int:
    """The stage's limit per client and window, from its environment variables (config.json)."""
    raw: Optional[str] = environment.get(LIMIT_VARIABLE)
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.strip().isdigit() or not MIN_LIMIT <= int(raw) <= MAX_LIMIT:
        raise ValueError(f"{LIMIT_VARIABLE} must be a whole number from {MIN_LIMIT} to {MAX_LIMIT}, not {raw!r}")
    return int(raw)


def _visibility(metric: str) -> dict:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


def web_acl(names: StackNames, requests_per_window: int) -> dict:
    """The web ACL's properties, in the shape both CreateWebACL and AWS::WAFv2::WebACL take."""
    name = web_acl_name(names)
    return {
        "Name": name,
        "Scope": SCOPE,
        "Description": f"closeloop {names.stage}: at most {requests_per_window} public-page requests "
                       f"per client IP in {WINDOW_SECONDS} s",
        "DefaultAction": {"Allow": {}},
        "Rules": [{
            "Name": RULE,
            "Priority": 0,
            "Action": {"Block": {"CustomResponse": {"ResponseCode": 429}}},
            "Statement": {"RateBasedStatement": {
                "Limit": requests_per_window,
                "EvaluationWindowSec": WINDOW_SECONDS,
                "AggregateKeyType": "IP",
                "ScopeDownStatement": {"RegexMatchStatement": {
                    "RegexString": public_path_pattern(),
                    "FieldToMatch": {"UriPath": {}},
                    # As API Gateway routes it: "/%73/x" and "//s/x" are /s/x too.
                    "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"},
                                            {"Priority": 1, "Type": "NORMALIZE_PATH"}],
                }},
            }},
            "VisibilityConfig": _visibility(f"{name}-{RULE}"),
        }],
        "VisibilityConfig": _visibility(name),
    }


def stage_arn(region: str, rest_api_id: str, api_stage: str) -> str:
    """What a web ACL is associated with: the API Gateway stage."""
    return f"arn:aws:apigateway:{region}::/restapis/{rest_api_id}/stages/{api_stage}"
