"""FollowUpRepository.list on DynamoDB Local: newest first, filters applied after DynamoDB's Limit yet
pages still full, keys that continue exactly where a page ended."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.followups import repository as followup_repository
from chalicelib.followups.model import FollowUp, FollowUpStatus
from chalicelib.followups.repository import LISTING_KEY, FollowUpRepository
from chalicelib.surveys.model import Agent
from chalicelib.surveys.scoring import SurveyKind

S = FollowUpStatus
T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)


def a_followup(i: int, **overrides) -> FollowUp:
    values = dict(
        followup_id=f"fu_{i:016x}", survey_id=f"{i:016x}", interaction_id=f"zd-{i}", kind=SurveyKind.CSAT,
        score=1, customer_id="cus_19", agent=Agent(id="agt_7"), team="billing",
        opened_at=T0 + timedelta(minutes=i), due_at=T0 + timedelta(minutes=i, hours=8),
    )
    values.update(overrides)
    return FollowUp(**values)


def every_page(repos, limit, **filters) -> list[list[FollowUp]]:
    pages, key = [], None
    for _ in range(100):
        items, key = repos.followups.list(limit=limit, start_key=key, **filters)
        pages.append(items)
        if key is None:
            return pages
        assert FollowUpRepository.is_listing_key(key)
    raise AssertionError("the listing never ended")


def ids(pages) -> list[str]:
    return [f.followup_id for page in pages for f in page]


@pytest.fixture
def ten(repos):
    """Ten follow-ups a minute apart; every third is shipping and open, the rest billing and claimed."""
    made = []
    for i in range(10):
        shipping = i % 3 == 0
        followup = a_followup(i, team="shipping" if shipping else "billing",
                              status=S.OPEN if shipping else S.CLAIMED, owner=None if shipping else "sam")
        assert repos.followups.open(followup)
        made.append(followup)
    return [f.followup_id for f in reversed(made)]  # newest first


def test_an_empty_index_lists_nothing_and_ends(repos):
    assert repos.followups.list() == ([], None)
    assert repos.followups.list(status=S.OPEN, overdue_at=T0) == ([], None)


def test_a_listed_followup_reads_back_whole(repos):
    followup = a_followup(1, comment="late again", customer_name="Ada", owner="kim", status=S.CLAIMED)
    repos.followups.open(followup)
    assert repos.followups.list() == ([followup], None)


@pytest.mark.parametrize("limit", [1, 3, 4, 9, 10, 11, 200])
def test_pages_cover_every_followup_once_newest_first_with_no_empty_last_page(repos, ten, limit):
    pages = every_page(repos, limit)
    assert ids(pages) == ten
    assert [len(page) for page in pages[:-1]] == [limit] * (len(pages) - 1)
    assert 1 <= len(pages[-1]) <= limit


def test_a_page_key_is_the_last_item_of_the_page(repos, ten):
    items, key = repos.followups.list(limit=3)
    last = items[-1]
    assert key == {"pk": f"FOLLOWUP#{last.followup_id}", "sk": "FOLLOWUP", "fu_pk": "FOLLOWUP",
                   "fu_sk": f"{last.opened_at.strftime('%Y-%m-%dT%H:%M:%S.000Z')}#{last.followup_id}"}
    assert set(key) == set(LISTING_KEY)


@pytest.mark.parametrize("batch,rounds", [(100, 10), (1, 50), (2, 50)])
def test_filtered_pages_are_full_even_when_dynamodb_reads_fewer_items_than_match(repos, ten, monkeypatch,
                                                                                 batch, rounds):
    monkeypatch.setattr(followup_repository, "_FILTERED_BATCH", batch)
    monkeypatch.setattr(followup_repository, "_LISTING_ROUNDS", rounds)
    open_ones = [fid for fid in ten if int(fid[3:], 16) % 3 == 0]
    pages = every_page(repos, 2, status=S.OPEN)
    assert ids(pages) == open_ones
    assert [len(page) for page in pages] == [2, 2]

    pages = every_page(repos, 3, team="billing", owner="sam")
    assert ids(pages) == [fid for fid in ten if fid not in open_ones]
    assert [len(page) for page in pages] == [3, 3]


def test_a_page_that_needs_too_many_queries_comes_back_short_with_a_key_to_go_on(repos, ten, monkeypatch):
    monkeypatch.setattr(followup_repository, "_FILTERED_BATCH", 1)
    monkeypatch.setattr(followup_repository, "_LISTING_ROUNDS", 2)
    # Page 1 reads 9 8 7 6 (open: 9, 6), then 5 4 (none): out of queries, short, with a key.
    pages = every_page(repos, 3, status=S.OPEN)
    assert ids(pages) == [fid for fid in ten if int(fid[3:], 16) % 3 == 0]
    assert [len(page) for page in pages] == [2, 2]


def test_filters_match_exactly(repos, ten):
    assert repos.followups.list(team="Billing") == ([], None)
    assert repos.followups.list(owner="Sam") == ([], None)
    assert ids([repos.followups.list(status=S.OPEN, team="shipping")[0]]) == [
        fid for fid in ten if int(fid[3:], 16) % 3 == 0]
    assert repos.followups.list(status=S.OPEN, team="billing") == ([], None)


def test_overdue_is_the_deadline_passed_and_not_closed(repos):
    repos.followups.open(a_followup(0))                                            # due T0+8h
    repos.followups.open(a_followup(1, status=S.RESOLVED, owner="sam",            # closed: never overdue
                                   closed_at=T0 + timedelta(hours=1)))
    repos.followups.open(a_followup(2, status=S.CONTACTED, owner="kim"))          # due T0+8h2m
    repos.followups.open(a_followup(3, status=S.UNREACHABLE, owner="kim", closed_at=T0))

    def listed(at, overdue=True):
        return [f.followup_id for f in repos.followups.list(overdue_at=at, overdue=overdue)[0]]

    assert listed(T0 + timedelta(hours=8) - timedelta(milliseconds=1)) == []
    assert listed(T0 + timedelta(hours=8)) == ["fu_0000000000000000"]  # due exactly now: overdue
    assert listed(T0 + timedelta(hours=9)) == ["fu_0000000000000002", "fu_0000000000000000"]
    assert listed(T0 + timedelta(hours=9), overdue=False) == ["fu_0000000000000003", "fu_0000000000000001"]
    for at in (T0, T0 + timedelta(hours=8), T0 + timedelta(days=9)):
        everything = {f.followup_id for f in repos.followups.list()[0]}
        split = listed(at) + listed(at, overdue=False)
        assert sorted(split) == sorted(everything)
        overdue_now = {f.followup_id for f in repos.followups.list()[0] if f.is_overdue(at)}
        assert set(listed(at)) == overdue_now


def test_a_saved_change_is_what_the_listing_filters_on(repos):
    followup = a_followup(0)
    repos.followups.open(followup)
    repos.followups.save(followup.model_copy(update={"status": S.CLAIMED, "owner": "kim", "version": 1}), 0)
    assert repos.followups.list(status=S.OPEN) == ([], None)
    (listed,), _ = repos.followups.list(owner="kim", status=S.CLAIMED)
    assert listed.version == 1 and listed.owner == "kim"


@pytest.mark.parametrize("key", [
    None, [], "FOLLOWUP", {}, {"pk": "FOLLOWUP#fu_1", "sk": "FOLLOWUP", "fu_pk": "FOLLOWUP"},
    {"pk": "FOLLOWUP#fu_1", "sk": "FOLLOWUP", "fu_pk": "SURVEY", "fu_sk": "2026-11-24T10:00:00.000Z#fu_1"},
    {"pk": "SURVEY#fu_1", "sk": "FOLLOWUP", "fu_pk": "FOLLOWUP", "fu_sk": "2026-11-24T10:00:00.000Z#fu_1"},
    {"pk": "FOLLOWUP#fu_1", "sk": "SURVEY", "fu_pk": "FOLLOWUP", "fu_sk": "2026-11-24T10:00:00.000Z#fu_1"},
    {"pk": "FOLLOWUP#fu_1", "sk": "FOLLOWUP", "fu_pk": "FOLLOWUP", "fu_sk": "2026-11-24T10:00:00.000Z#fu_2"},
    {"pk": "FOLLOWUP#fu_1", "sk": "FOLLOWUP", "fu_pk": "FOLLOWUP", "fu_sk": "#fu_1"},
    {"pk": "FOLLOWUP#fu_1", "sk": "FOLLOWUP", "fu_pk": "FOLLOWUP", "fu_sk": {"S": "x#fu_1"}},
    {"pk": "FOLLOWUP#fu_1", "sk": "FOLLOWUP", "fu_pk": "FOLLOWUP", "fu_sk": "x#fu_1", "extra": "1"},
])
def test_only_keys_a_page_could_end_at_are_listing_keys(key):
    assert FollowUpRepository.is_listing_key(key) is False


def test_a_returned_key_is_a_listing_key_and_continues_after_its_item(repos, ten):
    _, key = repos.followups.list(limit=4)
    assert FollowUpRepository.is_listing_key(key)
    items, _ = repos.followups.list(limit=2, start_key=key)
    assert [f.followup_id for f in items] == ten[4:6]
