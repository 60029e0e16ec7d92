"""The IAM policy of each Lambda function of a deployed stage: exactly what that function calls.

`chalice deploy` gives every function its own role (`autogen_policy: false`) with the policy file
that `.chalice/config.json` names under `stages.<stage>.lambda_functions.<function>`. Those files
are rendered from the one table below (GRANTS: function -> the stage's resource -> actions) and
the stage's resource names (ops/stack.py), so dev and prod cannot drift apart:

    python -m ops.policies          # writes .chalice/policies/<stage>/<function>.json

Chalice reads files, so the rendering is committed; tests/packaging/test_least_privilege.py checks
that the files equal the rendering and proves the table against every AWS call each function made
during the functional tests: a call missing from its policy fails, and so does a service granted
to a function that never calls it.

Region and account are `*` in every ARN (the files are written before any account is known); the
resource itself is always named. The one statement without a named resource is SMS to phone
numbers (see PHONE_NUMBERS).
"""
from __future__ import annotations

import json
from email.utils import parseaddr
from pathlib import Path

from ops.stack import APP, SECRET_NAMES, names

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".chalice" / "config.json"
POLICIES = ROOT / ".chalice" / "policies"  # chalice reads iam_policy_file relative to .chalice/

# What each function calls, by the stage's resource (kinds rendered by `_resources`). DynamoDB's
# transactions are listed as the item actions IAM checks them as (there is no
# dynamodb:TransactWriteItems permission).
GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    # The built-in authorizer: looks the API key up, and moves a key hashed under an older pepper
    # to the current one (a transaction: put the new item, delete the old).
    "bearer_key": {
        "table": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"),
        "secrets": ("ssm:GetParameters",),
    },
    # Every HTTP route: the admin API, survey pages, sign-in (queues the link's email), webhooks, erasure.
    "api_handler": {
        "table": ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                  "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:Query"),
        "indexes": ("dynamodb:Query",),
        "jobs_queue": ("sqs:SendMessage",),
        "secrets": ("ssm:GetParameters",),
    },
    # The jobs queue's consumer: sends surveys (email with the configuration set, SMS), reminders,
    # re-surveys and sign-in links, decides detractor alerts (alert topic, signed webhook), queues what follows.
    "handle_job": {
        # Query: the detractor decision reads the survey with its latest page views (is it quiet?).
        "table": ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                  "dynamodb:DeleteItem", "dynamodb:Query"),
        # The weekly digest: follow-ups opened in the week and its comments (followups, responses indexes).
        "indexes": ("dynamodb:Query",),
        "jobs_queue": ("sqs:SendMessage",),
        "sender_identity": ("ses:SendEmail",),
        "configuration_set": ("ses:SendEmail",),
        "phone_numbers": ("sns:Publish",),
        "alert_topic": ("sns:Publish",),
        "secrets": ("ssm:GetParameters",),
        "event_bus": ("events:PutEvents",),  # the lifecycle events' publish jobs (chalicelib/events/)
    },
    # SES bounces and complaints: entries in the suppression ledger.
    "handle_ses_notice": {
        "table": ("dynamodb:PutItem",),
    },
    # Texted replies: STOP/HELP/START answered by SMS, scores recorded and their detractor jobs queued.
    "handle_sms_reply": {
        "table": ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                  "dynamodb:DeleteItem", "dynamodb:Query"),
        "jobs_queue": ("sqs:SendMessage",),
        "phone_numbers": ("sns:Publish",),
        "secrets": ("ssm:GetParameters",),
    },
    # Every minute: overdue follow-ups (the due index) to the escalation topic and signed webhook;
    # to the alert topic when a stage has no escalation channel (alerts.escalation_channels).
    "escalate_overdue": {
        # DeleteItem: compaction folds closed days' counter shards (insight/compaction.py).
        "table": ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"),
        "indexes": ("dynamodb:Query",),
        "alert_topic": ("sns:Publish",),
        "escalation_topic": ("sns:Publish",),
        "jobs_queue": ("sqs:SendMessage",),  # the jobs of due timers (storage/timers.py)
        "secrets": ("ssm:GetParameters",),
    },
}

# Granted for AWS's use of a function's role, never called by our code (the proof knows them):
# Lambda writes every function's logs with its role, and the jobs queue's event source mapping
# receives, deletes and inspects messages with its consumer's role.
RUNTIME_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    **{function: {"log_group": ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")}
       for function in GRANTS},
}
QUEUE_CONSUMER = "handle_job"
RUNTIME_GRANTS[QUEUE_CONSUMER] = {
    **RUNTIME_GRANTS[QUEUE_CONSUMER],
    "jobs_queue": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
}

# Statement ids, in the order statements appear in a policy.
SIDS = {
    "log_group": "Logs", "table": "Table", "indexes": "TableIndexes", "jobs_queue": "JobsQueue",
    "sender_identity": "SenderIdentity", "configuration_set": "ConfigurationSet",
    "phone_numbers": "SmsToPhoneNumbers", "alert_topic": "AlertTopic", "escalation_topic": "EscalationTopic",
    "secrets": "Secrets", "event_bus": "EventBus", "themes_model": "ThemesModel",
}
# The opt-in model of comment themes (CLOSELOOP_THEMES_MODEL, chalicelib/why/models.py): only the
# stage that chose one, only its queue consumer (the re-tagging job), only what it calls.
THEMES_MODEL_ACTIONS = {
    "comprehend": ("comprehend:DetectSentiment",),
    "bedrock": ("bedrock:InvokeModel",),  # what IAM checks a Converse call as
}
# SMS goes to a phone number, which has no ARN: sns:Publish is allowed on everything that is not
# an SNS ARN (a topic or an endpoint), AWS's documented way to allow SMS but no topic.
PHONE_NUMBERS = "arn:aws:sns:*:*:*"


def deployed_stages(config: dict | None = None) -> list[str]:
    """The stages of .chalice/config.json that are deployed to AWS ("local" runs on this machine)."""
    config = config or json.loads(CONFIG.read_text())
    return [stage for stage in config["stages"] if stage != "local"]


def stage_variables(stage: str, config: dict | None = None) -> dict[str, str]:
    config = config or json.loads(CONFIG.read_text())
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def sender_email(stage: str, config: dict | None = None) -> str:
    return parseaddr(stage_variables(stage, config)["CLOSELOOP_SENDER_EMAIL"])[1]


def themes_model_resources(variables: dict[str, str]) -> list[str]:
    """Comprehend's DetectSentiment takes no resource-level permission ("*"); Bedrock the one model."""
    if variables.get("CLOSELOOP_THEMES_MODEL") == "comprehend":
        return ["*"]
    from chalicelib.platform.settings import Settings

    model = variables.get("CLOSELOOP_THEMES_BEDROCK_MODEL") or Settings.model_fields["themes_bedrock_model"].default
    return [f"arn:aws:bedrock:*::foundation-model/{model}"]


def lambda_name(stage: str, function: str) -> str:
    """The function's name as `chalice deploy` makes it (the API's handler is the app-stage)."""
    return f"{APP}-{stage}" if function == "api_handler" else f"{APP}-{stage}-{function}"


def _resources(kind: str, stage: str, function: str, sender: str) -> list[str]:
    n = names(stage)
    if kind == "log_group":
        group = f"arn:aws:logs:*:*:log-group:/aws/lambda/{lambda_name(stage, function)}"
        return [group, f"{group}:*"]
    if kind == "table":
        return [f"arn:aws:dynamodb:*:*:table/{n.table}"]
    if kind == "indexes":
        return [f"arn:aws:dynamodb:*:*:table/{n.table}/index/*"]
    if kind == "jobs_queue":
        return [f"arn:aws:sqs:*:*:{n.jobs_queue}"]
    if kind in ("alert_topic", "escalation_topic"):
        return [f"arn:aws:sns:*:*:{getattr(n, kind)}"]
    if kind == "event_bus":
        return [f"arn:aws:events:*:*:event-bus/{n.event_bus}"]
    if kind == "sender_identity":
        # SES checks the identity the sender was verified as: the address or its domain.
        return [f"arn:aws:ses:*:*:identity/{sender}", f"arn:aws:ses:*:*:identity/{sender.rpartition('@')[2]}"]
    if kind == "configuration_set":
        return [f"arn:aws:ses:*:*:configuration-set/{n.ses_configuration_set}"]
    if kind == "secrets":
        # One GetParameters call reads every secret, so a function that reads one needs all.
        # SecureStrings under the AWS managed key aws/ssm need no kms:Decrypt here: that key's
        # policy lets every principal of the account decrypt through SSM.
        return [f"arn:aws:ssm:*:*:parameter{n.parameter(name)}" for name in SECRET_NAMES]
    raise ValueError(f"unknown resource kind {kind!r}")


def _statement(kind: str, actions: tuple[str, ...], stage: str, function: str, sender: str,
               variables: dict[str, str]) -> dict:
    statement = {"Sid": SIDS[kind], "Effect": "Allow", "Action": sorted(set(actions))}
    if kind == "phone_numbers":
        statement["NotResource"] = PHONE_NUMBERS
        return statement
    resources = (themes_model_resources(variables) if kind == "themes_model"
                 else _resources(kind, stage, function, sender))
    statement["Resource"] = resources[0] if len(resources) == 1 else resources
    if kind == "sender_identity":
        # The domain identity would allow any address at the domain: only the stage's sender.
        statement["Condition"] = {"StringEquals": {"ses:FromAddress": sender}}
    return statement


def render(stage: str, config: dict | None = None) -> dict[str, dict]:
    """function -> its policy document for `stage`."""
    sender, variables = sender_email(stage, config), stage_variables(stage, config)
    model = variables.get("CLOSELOOP_THEMES_MODEL", "")
    policies = {}
    for function in GRANTS:
        needs: dict[str, tuple[str, ...]] = {}
        for grants in (RUNTIME_GRANTS.get(function, {}), GRANTS[function]):
            for kind, actions in grants.items():
                needs[kind] = needs.get(kind, ()) + actions
        if function == QUEUE_CONSUMER and model in THEMES_MODEL_ACTIONS:
            needs["themes_model"] = THEMES_MODEL_ACTIONS[model]
        statements = [_statement(kind, needs[kind], stage, function, sender, variables)
                      for kind in SIDS if kind in needs]
        policies[function] = {"Version": "2012-10-17", "Statement": statements}
    return policies


def policy_file(stage: str, function: str) -> str:
    """The file's path relative to .chalice/, as config.json's iam_policy_file names it."""
    return f"policies/{stage}/{function}.json"


def text(policy: dict) -> str:
    return json.dumps(policy, indent=2) + "\n"


def write(root: Path = ROOT) -> list[Path]:
    """Write every deployed stage's policy files; returns those that changed."""
    config = json.loads((root / ".chalice" / "config.json").read_text())
    changed = []
    for stage in deployed_stages(config):
        for function, policy in render(stage, config).items():
            path = root / ".chalice" / policy_file(stage, function)
            if not path.exists() or path.read_text() != text(policy):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text(policy))
                changed.append(path)
    return changed


if __name__ == "__main__":
    written = write()
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")
    if not written:
        print("the policy files are up to date")
