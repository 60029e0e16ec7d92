"""Responses recorded per second through the Lambda handler, against a bare one-PutItem handler.

Single-threaded, one call after another, against DynamoDB Local on loopback with one shared
client. Each closeloop call confirms a prepared page view of its own survey, so every call is a
real Query + TransactWriteItems that counts a first response.
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass

from bench.env import TABLE
from bench.events import LambdaContext, confirm_post
from bench.fixtures import new_survey, open_page, wait_out_dwell


@dataclass
class Rate:
    calls: int
    seconds: float
    latencies_ms: list[float]
    requests_seconds: float = 0.0  # of `seconds`, inside DynamoDB requests (botocore + DynamoDB Local)

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def requests_ms(self) -> float:
        """Mean time per call spent in its DynamoDB requests."""
        return self.requests_seconds / self.calls * 1000

    @property
    def own_ms(self) -> float:
        """Mean time per call spent in the handler's own work: all but its requests."""
        return self.seconds / self.calls * 1000 - self.requests_ms


def prepare(store, count: int) -> tuple[list, float]:
    """`count` surveys with a page view of score 4 each; returns them and when the last was opened."""
    prepared = [open_page(store, new_survey(store, 200_000 + i), 4) for i in range(count)]
    return prepared, time.monotonic()


class RequestClock:
    """Time spent inside the client's API calls (serialising, the round trip, parsing)."""

    def __init__(self, client):
        self.client, self.seconds = client, 0.0

    def __enter__(self) -> "RequestClock":
        real = self.client._make_api_call

        def timed(operation, params):
            began = time.perf_counter()
            try:
                return real(operation, params)
            finally:
                self.seconds += time.perf_counter() - began

        self.client._make_api_call = timed
        return self

    def __exit__(self, *exc) -> None:
        del self.client._make_api_call  # the class's own method again


def _timed(calls, client=None) -> Rate:
    latencies = []
    with RequestClock(client) if client is not None else _no_clock() as requests:
        started = time.perf_counter()
        for call in calls:
            t0 = time.perf_counter()
            call()
            latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    return Rate(len(latencies), elapsed, latencies, requests.seconds)


class _no_clock:
    seconds = 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def measure(app, client, prepared: list, opened_at: float, warmup: int) -> tuple[Rate, Rate]:
    wait_out_dwell(opened_at)  # normally long past: the cold-start runs come in between
    context = LambdaContext()
    events = [confirm_post(p.token, 4, p.open_id) for p in prepared]
    responses = []

    def closeloop_call(event):
        return lambda: responses.append(app(event, context))

    def bare_handler(event, _context):
        """What a handler costs with no framework, validation, rendering or rules: one PutItem."""
        params = event["pathParameters"]
        client.put_item(TableName=TABLE, Item={"pk": {"S": "BARE#" + params["token"]}, "sk": {"S": "BARE"},
                                               "score": {"N": params["score"]}})
        return {"statusCode": 200, "body": '{"recorded": true}'}

    bare_calls = [lambda e=e: bare_handler(e, context) for e in events]
    _timed(closeloop_call(e) for e in events[:warmup])
    _timed(bare_calls[:warmup])
    closeloop = _timed((closeloop_call(e) for e in events[warmup:]), client)
    bare = _timed(bare_calls[warmup:], client)

    for response in responses:
        body = json.loads(response["body"])
        if response["statusCode"] != 200 or body.get("recorded") is not True:
            raise RuntimeError(f"a confirm was not recorded: {response['statusCode']} {response['body']}")
    return closeloop, bare
