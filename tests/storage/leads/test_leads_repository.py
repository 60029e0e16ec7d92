"""The dashboard's sign-in items on DynamoDB Local: leads, one-time links (single use under
concurrent clicks), the per-address rate of links, and sessions."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.leads import allowed_list as leads
from chalicelib.leads import sessions, signin
from chalicelib.leads.model import SignInLink
from chalicelib.platform import clock

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
TOKEN = "t" * 43


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.set_now(T0)
    yield
    clock.set_now(None)


def _link(repos, token=TOKEN, minutes=15):
    repos.leads.put_link(sessions.hash_value(token), SignInLink(email="sam@example.com", created_at=T0,
                                                          expires_at=T0 + timedelta(minutes=minutes)))


def test_leads_are_added_once_listed_and_removed(repos):
    first = leads.add_lead("Sam@Example.com", name="Sam", owner="sam")
    again = leads.add_lead("sam@example.com", name="Other", owner="other")
    assert again == first and first.email == "sam@example.com"
    leads.add_lead("kim@example.com")
    assert [(lead.email, lead.name, lead.owner) for lead in leads.list_leads()] == [
        ("kim@example.com", "kim", "kim"), ("sam@example.com", "Sam", "sam")]
    assert leads.remove_lead("sam@example.com") == first
    assert leads.remove_lead("sam@example.com") is None
    assert leads.get_lead("sam@example.com") is None


def test_of_concurrent_clicks_on_a_link_exactly_one_signs_in(repos):
    leads.add_lead("sam@example.com")
    _link(repos)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: signin.spend_link(TOKEN), range(8)))
    assert [r.email for r in results if r is not None] == ["sam@example.com"]
    assert signin.spend_link(TOKEN) is None


def test_a_link_is_spent_by_its_consumption_only_until_it_expires(repos):
    _link(repos)
    assert repos.leads.consume_link(sessions.hash_value(TOKEN), T0 + timedelta(minutes=15)) is None  # expired
    assert repos.leads.get_link(sessions.hash_value(TOKEN)).used_at is None
    assert repos.leads.consume_link(sessions.hash_value(TOKEN), T0 + timedelta(minutes=14)).used_at is not None
    assert repos.leads.consume_link(sessions.hash_value("u" * 43), T0) is None  # never issued


@pytest.mark.parametrize("count", ["count_address_request", "count_client_request"])
def test_the_link_rates_count_concurrent_requests_one_by_one_in_a_sliding_window(repos, count):
    count = getattr(repos.leads, count)
    window = timedelta(minutes=15)
    with ThreadPoolExecutor(8) as pool:
        refused = list(pool.map(lambda _: count("sam@example.com", T0, window, 5), range(8)))
    assert refused.count(None) == 5
    assert set(refused) - {None} == {T0 + window}  # when the next one may be
    assert count("sam@example.com", T0 + timedelta(minutes=14), window, 5) == T0 + window
    assert count("sam@example.com", T0 + timedelta(minutes=15), window, 5) is None
    assert count("kim@example.com", T0, window, 5) is None


def test_a_session_is_stored_by_the_hash_of_its_cookie_and_ends(repos):
    lead = leads.add_lead("sam@example.com", owner="sam")
    value, session = sessions.start_session(lead)
    record = repos.leads.get_session(sessions.hash_value(value))
    assert record.email == "sam@example.com" and record.csrf_token == session.csrf_token
    assert session.owner == "sam" and session.expires_at == T0 + timedelta(hours=12)
    assert repos.leads.get_session(value) is None  # not stored under the value itself

    repos.leads.delete_session(sessions.hash_value(value))
    assert repos.leads.get_session(sessions.hash_value(value)) is None
