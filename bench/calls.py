"""DynamoDB requests per recorded response, counted on the shared client's event hooks."""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.events import LambdaContext, confirm_post
from bench.fixtures import new_survey, open_page, wait_out_dwell


class CallCounter:
    """Counts every DynamoDB API call made through one botocore client, by operation."""

    def __init__(self, client):
        self.client = client
        self.calls: Counter = Counter()

    def _count(self, model, **_):
        self.calls[model.name] += 1

    def __enter__(self) -> "CallCounter":
        self.client.meta.events.register("before-call.dynamodb", self._count, unique_id="bench-call-counter")
        return self

    def __exit__(self, *exc) -> None:
        self.client.meta.events.unregister("before-call.dynamodb", self._count, unique_id="bench-call-counter")

    def take(self) -> Counter:
        taken, self.calls = self.calls, Counter()
        return taken


@dataclass
class Phase:
    count: int = 0
    calls: Counter = field(default_factory=Counter)

    @property
    def per_item(self) -> float:
        return sum(self.calls.values()) / self.count

    def breakdown(self) -> str:
        return " + ".join(f"{n / self.count:g} {op}" for op, n in sorted(self.calls.items()))


def _confirm(app, prepared, score: int) -> None:
    response = app(confirm_post(prepared.token, score, prepared.open_id), LambdaContext())
    body = json.loads(response["body"]) if response.get("body") else {}
    if response["statusCode"] != 200 or body.get("recorded") is not True or body.get("score") != score:
        raise RuntimeError(f"confirm of {score} not recorded: {response['statusCode']} {response.get('body')}")


def measure(app, store, client, surveys: int) -> dict[str, Phase]:
    """Open score 4 on every survey, confirm each (first response); then open 5, confirm each (changed).

    The page views of a round come first and the confirmations after the page's dwell, as a
    person's browser would send them.
    """
    phases = {"page view": Phase(), "first response": Phase(), "changed response": Phase()}
    prepared = [new_survey(store, 100_000 + i) for i in range(surveys)]
    with CallCounter(client) as counter:
        for score, phase in ((4, "first response"), (5, "changed response")):
            counter.take()
            opened_at = time.monotonic()
            viewed = [open_page(store, survey, score) for survey in prepared]
            phases["page view"].calls += counter.take()
            phases["page view"].count += len(viewed)
            wait_out_dwell(opened_at)
            counter.take()
            for survey in viewed:
                _confirm(app, survey, score)
            phases[phase].calls += counter.take()
            phases[phase].count += len(viewed)
    return phases
