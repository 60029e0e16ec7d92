"""Named counters (storage/named_counters.py) on DynamoDB Local."""
from __future__ import annotations


def test_a_rotation_counts_up_from_zero_for_every_caller(repos):
    assert [repos.named.next("owners:billing") for _ in range(3)] == [0, 1, 2]
    assert repos.named.next("owners:default") == 0
