"""The cost bench's survey loop (bench/cost.py) plays every scenario through the product as it is:
a change to the product's flow (a lead who must exist to claim, a lead's email among the
customer's) must not leave `make bench` without its cost figures. One round, no repeats."""
from __future__ import annotations

from bench import cost


def test_every_channel_and_outcome_plays_through_and_is_measured(dynamodb_local, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    result = cost.measure(1, lambda _message: None)
    assert set(result.runs) == {(channel, outcome) for channel in cost.CHANNELS for outcome in cost.OUTCOMES}
    for (channel, outcome), runs in result.runs.items():
        jobs = runs[0].jobs
        assert jobs["send_survey"] >= 1, (channel, outcome)
        # A detractor is alerted, its follow-up claimed (by a lead) and resolved, and re-surveyed.
        assert (jobs["send_resurvey"] == 1) is (outcome == "detractor"), (channel, outcome)
