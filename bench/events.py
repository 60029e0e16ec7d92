"""API Gateway REST proxy events and a Lambda context, as Lambda hands them to app.app()."""
from __future__ import annotations

import json
import uuid
from typing import Optional

BROWSER_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.5 Safari/605.1.15")
HOST = "abc123.execute-api.us-east-1.amazonaws.com"
STAGE = "api"


def rest_event(method: str, resource: str, path_params: dict[str, str], body: Optional[dict] = None,
               headers: Optional[dict[str, str]] = None) -> dict:
    path = resource
    for name, value in path_params.items():
        path = path.replace("{" + name + "}", value)
    all_headers = {"Host": HOST, "User-Agent": BROWSER_UA, "X-Forwarded-Proto": "https",
                   "X-Forwarded-For": "203.0.113.7", "Accept-Language": "en-US,en;q=0.9",
                   "Accept": "application/json" if body is not None else "text/html,application/xhtml+xml"}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    request_id = str(uuid.uuid4())
    return {
        "resource": resource, "path": path, "httpMethod": method,
        "headers": all_headers, "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": dict(path_params), "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": method, "path": f"/{STAGE}{path}", "stage": STAGE,
            "requestId": request_id, "accountId": "123456789012", "apiId": "abc123",
            "protocol": "HTTP/1.1", "identity": {"sourceIp": "203.0.113.7", "userAgent": all_headers["User-Agent"]},
        },
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }


def one_click_get(token: str, score: int) -> dict:
    return rest_event("GET", "/s/{token}/{score}", {"token": token, "score": str(score)})


def confirm_post(token: str, score: int, open_id: str) -> dict:
    return rest_event("POST", "/s/{token}/{score}", {"token": token, "score": str(score)}, body={"open_id": open_id})


class LambdaContext:
    """The parts of Lambda's context object a handler may read."""
    function_name = "closeloop-bench-APIHandler"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:closeloop-bench-APIHandler"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
