"""GET /health: is this stage able to work? One cheap read of the table, and the version deployed.

Public (a load balancer or an uptime check has no API key), so the answer says nothing beyond
"ok" or the error code of the table read: no table name, account, region or message.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

from botocore.exceptions import ClientError
from chalice import Response

from chalicelib.platform.edge import Routes
from chalicelib.storage.table import Table

log = logging.getLogger(__name__)

# chalice zips everything in chalicelib/, so the file travels with the code (a file at the repo
# root would not be in the Lambda zip).
VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"

health = Routes(__name__)


@health.route("/health", methods=["GET"])
def get_health():
    """Public, for uptime checks: 200 with the version when the table answers a read, else 503."""
    status, body = check()
    return Response(status_code=status, body=body,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store"})


@functools.cache
def version() -> str:
    try:
        return VERSION_FILE.read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


def check() -> tuple[int, dict]:
    """(200, {"status": "ok", ...}) when the table answers a read, else (503, {"status": "unavailable",
    "table": <error code>, ...})."""
    try:
        Table().ping()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code") or "ClientError"
        return _unavailable(code)
    except Exception as error:  # noqa: BLE001 - unreachable endpoint, timeout, bad settings: all "not ok"
        return _unavailable(type(error).__name__)
    return 200, {"status": "ok", "version": version(), "table": "ok"}


def _unavailable(code: str) -> tuple[int, dict]:
    # The code alone: the message can name the table, the account or the role.
    log.warning("health check: the table read failed: %s", code)
    return 503, {"status": "unavailable", "version": version(), "table": code}
