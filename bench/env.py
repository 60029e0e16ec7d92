"""The environment of every measured process: fake credentials, local endpoints, no AWS config.

Nothing here can reach a real AWS account: DynamoDB goes to DynamoDB Local, and every other
service to a closed loopback port (a stray call fails at once instead of leaving the machine).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
TABLE = "closeloop-bench"
# Port 9 (discard) on loopback: nothing listens, so any non-DynamoDB call fails fast.
DEAD_ENDPOINT = "http://127.0.0.1:9"

_DROP = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
         "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


def aws_env(dynamodb_endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "AWS_ENDPOINT_URL": DEAD_ENDPOINT, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "CLOSELOOP_TABLE_NAME": TABLE,
        # Unused by the measured paths (CSAT 4/5 are not detractors, so no job is queued).
        "CLOSELOOP_JOBS_QUEUE_URL": f"{DEAD_ENDPOINT}/000000000000/closeloop-bench-jobs",
        "CLOSELOOP_STAGE": "bench",
    }


def child_env(dynamodb_endpoint: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a cold-start subprocess: ours minus anything that changes imports."""
    env = {k: v for k, v in os.environ.items()
           if k not in _DROP and not k.startswith(("PYTHON", "CLOSELOOP_", "AWS_"))}
    env.update(aws_env(dynamodb_endpoint))
    env.update(extra or {})
    return env


def apply_in_process(dynamodb_endpoint: str) -> None:
    """Point this process's clients at DynamoDB Local and reset closeloop's cached settings/clients."""
    for name in _DROP:
        os.environ.pop(name, None)
    for name in [k for k in os.environ if k.startswith("CLOSELOOP_")]:
        del os.environ[name]
    os.environ.update(aws_env(dynamodb_endpoint))

    from chalicelib.platform import aws, settings

    settings.reset_settings()
    aws.reset_clients()


def stage_settings(stage: str = "prod") -> dict[str, str]:
    """The stage's behaviour settings from .chalice/config.json (delays, waits, reminders), without
    the names of its AWS resources or secrets, which a bench run replaces with its own."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    merged = {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}
    skip = ("_ARN", "_URL", "_NAME", "_PREFIX", "_STAGE")
    return {k: v for k, v in merged.items() if not k.endswith(skip) and "SECRET" not in k}
