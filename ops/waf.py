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

import json
import re
from pathlib import Path
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


# --- by API (the bootstrap, after_deploy, teardown) ------------------------------------------

def _find(wafv2, name: str) -> Optional[dict]:
    """The web ACL's summary (Name, Id, ARN, LockToken) by name, or None."""
    request: dict = {"Scope": SCOPE}
    while True:
        answer = wafv2.list_web_acls(**request)
        for summary in answer.get("WebACLs", []):
            if summary["Name"] == name:
                return summary
        if not answer.get("NextMarker"):
            return None
        request["NextMarker"] = answer["NextMarker"]


def _holds(current, wanted) -> bool:
    """`current` (as WAF answers it, with defaults of its own) says everything `wanted` says."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(_holds(current.get(key), value) for key, value in wanted.items())
    if isinstance(wanted, list):
        return (isinstance(current, list) and len(current) == len(wanted)
                and all(_holds(c, w) for c, w in zip(current, wanted)))
    return current == wanted


def ensure_web_acl(aws, names: StackNames, requests_per_window: int):
    """The stage's web ACL (created, or updated where it differs); returns what was done and its ARN."""
    from ops.bootstrap import Done

    wafv2 = aws("wafv2")
    wanted = web_acl(names, requests_per_window)
    summary = _find(wafv2, wanted["Name"])
    if summary is None:
        created = wafv2.create_web_acl(**wanted)["Summary"]
        return Done("web acl", wanted["Name"], "created"), created["ARN"]
    found = wafv2.get_web_acl(Name=summary["Name"], Scope=SCOPE, Id=summary["Id"])
    current = found["WebACL"]
    differing = tuple(key for key in ("Description", "DefaultAction", "Rules", "VisibilityConfig")
                      if not _holds(current.get(key), wanted[key]))
    if differing:
        wafv2.update_web_acl(Id=summary["Id"], LockToken=found["LockToken"], **wanted)
    return Done("web acl", wanted["Name"], "updated" if differing else "unchanged", differing), current["ARN"]


def deployed_rest_api(config_path: Path, stage: str) -> str:
    """The id of the REST API `chalice deploy` made for the stage (it records it beside config.json)."""
    deployed = json.loads((Path(config_path).parent / "deployed" / f"{stage}.json").read_text())
    (api,) = [r for r in deployed["resources"] if r.get("resource_type") == "rest_api"]
    return api["rest_api_id"]


def ensure_association(aws, names: StackNames, resource_arn: str):
    """The stage's web ACL on the API stage `resource_arn` (after `chalice deploy`, which makes it).
    Needs apigateway:SetWebACL on the stage besides wafv2:AssociateWebACL."""
    from ops.bootstrap import Done

    wafv2 = aws("wafv2")
    name = web_acl_name(names)
    summary = _find(wafv2, name)
    if summary is None:
        raise RuntimeError(f"no web ACL {name}: run the bootstrap first")
    current = wafv2.get_web_acl_for_resource(ResourceArn=resource_arn).get("WebACL")
    if current and current["ARN"] == summary["ARN"]:
        return Done("web acl association", f"{name} -> {resource_arn}", "unchanged")
    wafv2.associate_web_acl(WebACLArn=summary["ARN"], ResourceArn=resource_arn)
    return Done("web acl association", f"{name} -> {resource_arn}", "created" if current is None else "updated")


def remove_web_acl(aws, names: StackNames):
    """Delete the stage's web ACL; kept while it is still associated (the app was left in place)."""
    from ops.bootstrap import Done

    wafv2 = aws("wafv2")
    name = web_acl_name(names)
    summary = _find(wafv2, name)
    if summary is None:
        return Done("web acl", name, "absent")
    try:
        wafv2.delete_web_acl(Name=name, Scope=SCOPE, Id=summary["Id"], LockToken=summary["LockToken"])
    except wafv2.exceptions.WAFAssociatedItemException:
        return Done("web acl", name, "kept")
    return Done("web acl", name, "deleted")
