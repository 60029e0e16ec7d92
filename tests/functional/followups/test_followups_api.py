"""The follow-ups API for leads and agents: every route, every transition of the lifecycle (allowed
and refused), input errors naming their field, unknown ids, history, routing, and races."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.followups import lifecycle as followups
from chalicelib.followups.lifecycle import ALLOWED, close_as_automated
from chalicelib.followups.model import CLOSED_STATUSES, FollowUpStatus
from chalicelib.followups.repository import FollowUpRepository
from tests.functional.followup_helpers import (
    claim, error, fields_of, get, headers_for, listing, ok, open_followup, patch, stored,
)
from tests.functional.followups.test_detractor_alerts import respond
from tests.functional.helpers import send_email_survey

S = FollowUpStatus
T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)
ISO = "%Y-%m-%dT%H:%M:%S.000Z"

VIEW_FIELDS = {
    "followup_id", "survey_id", "interaction_id", "status", "owner", "team", "agent", "customer_id",
    "customer_name", "kind", "score", "comment", "opened_at", "due_at", "overdue", "first_contact_at",
    "closed_at", "escalated_at", "alert_error", "resurvey_id", "resurvey_score", "resurvey_resolved",
    "recovered", "version", "reasons", "themes", "resolved", "routed_team",
}


def iso(at: datetime) -> str:
    return at.strftime(ISO)


@pytest.fixture(autouse=True)
def _owners_as_given(monkeypatch):
    """These tests are about the lifecycle, with owners named as routing and the API took them before
    owners were leads ("sam", the key "tests"): the stage takes any owner. Owners as leads, with the
    setting off: test_owners.py."""
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_OWNERS_ANY_ADDRESS", "true")
    config.reset_settings()


@pytest.fixture
def opened(api, clock):
    """An open follow-up of the billing team (no routing configured: nobody owns it), at T0."""
    clock.set(T0)
    return open_followup(T0)


# --- reading ---------------------------------------------------------------------------------

def test_get_shows_the_followup_its_history_and_the_survey_response(api, opened):
    body = ok(get(api, opened))

    assert set(body) == VIEW_FIELDS | {"history", "survey", "writeback_error"}
    assert body["followup_id"] == opened and body["survey_id"] == opened.removeprefix("fu_")
    assert body["status"] == "open" and body["owner"] is None and body["team"] == "billing"
    assert body["agent"] == {"id": "agt_7", "name": "Sam"} and body["customer_id"] == "cus_19"
    assert body["customer_name"] == "Ada Lovelace" and body["kind"] == "csat" and body["score"] == 1
    assert body["comment"] == "Nobody read my ticket" and body["version"] == 0
    assert body["opened_at"] == iso(T0) and body["due_at"] == iso(T0 + timedelta(hours=24))  # default SLA
    assert body["overdue"] is False and body["closed_at"] is None and body["first_contact_at"] is None
    assert body["history"] == [{"at": iso(T0), "by": "closeloop", "action": "opened", "status": "open",
                                "owner": None, "note": None}]
    assert body["survey"] == {"survey_id": body["survey_id"], "status": "responded", "score": 1,
                              "comment": "Nobody read my ticket", "reasons": [], "themes": [], "resolved": None,
                              "responded_at": iso(T0 - timedelta(minutes=5))}


def test_overdue_is_derived_from_the_deadline_at_the_time_of_the_request(api, opened, clock):
    clock.set(T0 + timedelta(hours=24) - timedelta(seconds=1))
    assert ok(get(api, opened))["overdue"] is False
    clock.set(T0 + timedelta(hours=24))
    assert ok(get(api, opened))["overdue"] is True
    assert ok(listing(api))["followups"][0]["overdue"] is True


def test_a_detractor_response_opens_a_followup_the_api_lists_and_shows(api, stack, clock, monkeypatch):
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_ROUTING", json.dumps({"teams": {"billing": {"owners": ["sam", "kim"],
                                                                              "sla_hours": 8}}}))
    config.reset_settings()
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[2], comment="Still broken")
    stack.run_jobs()

    (listed,) = ok(listing(api))["followups"]
    assert set(listed) == VIEW_FIELDS
    assert listed["survey_id"] == survey_id and listed["interaction_id"] == "zd-48213"
    assert listed["status"] == "claimed" and listed["owner"] == "sam"  # routed at open time
    opened_at = datetime.fromisoformat(listed["opened_at"].replace("Z", "+00:00"))
    assert listed["due_at"] == iso(opened_at + timedelta(hours=8))
    detail = ok(get(api, listed["followup_id"]))
    assert detail["survey"]["score"] == 2 and detail["survey"]["comment"] == "Still broken"
    assert detail["survey"]["status"] == "responded"
    assert [(e["by"], e["action"], e["owner"]) for e in detail["history"]] == [
        ("closeloop", "opened", None), ("routing", "assigned", "sam")]


@pytest.mark.parametrize("followup_id", ["fu_0123456789abcdef", "fu_0123456789ABCDEF", "0123456789abcdef",
                                         "fu_", "nope", "fu_0123456789abcdef0", "x" * 3000])
def test_unknown_or_malformed_ids_are_404_on_every_route(api, stack, followup_id):
    responses = [get(api, followup_id), patch(api, followup_id, {"note": "hello"}),
                 claim(api, followup_id, {"note": "mine"})]
    for response in responses:
        assert error(response, 404)["error"] == "not_found"


def test_the_stats_route_is_not_taken_for_a_followup_id():
    from chalice.local import RouteMatcher

    import app as app_module

    matcher = RouteMatcher(list(app_module.app.routes))
    assert matcher.match_route("/v1/followups/stats").route == "/v1/followups/stats"
    assert matcher.match_route("/v1/followups/fu_0123456789abcdef").route == "/v1/followups/{followup_id}"
    assert matcher.match_route("/v1/followups/fu_0123456789abcdef/claim").route == \
        "/v1/followups/{followup_id}/claim"
    assert matcher.match_route("/v1/followups?status=open").route == "/v1/followups"


# --- claiming --------------------------------------------------------------------------------

def test_claiming_without_a_body_makes_the_caller_the_owner(api, opened, clock):
    clock.set(T0 + timedelta(minutes=3))
    body = ok(claim(api, opened))
    assert body["status"] == "claimed" and body["owner"] == "tests" and body["version"] == 1
    assert body["history"][-1] == {"at": iso(T0 + timedelta(minutes=3)), "by": "tests", "action": "claimed",
                                   "status": "claimed", "owner": "tests", "note": None}
    assert stored(opened).owner == "tests"


def test_a_lead_claims_for_someone_else_with_a_note(api, opened):
    lead = headers_for("lead-ana")
    body = ok(claim(api, opened, {"owner": "kim", "note": "Kim knows this customer"}, headers=lead))
    assert body["owner"] == "kim"
    event = body["history"][-1]
    assert (event["by"], event["owner"], event["note"]) == ("lead-ana", "kim", "Kim knows this customer")


@pytest.mark.parametrize("state", [S.CLAIMED, S.CONTACTED, S.RESOLVED, S.UNREACHABLE])
def test_claiming_what_is_not_open_is_refused_with_409_and_changes_nothing(api, opened, state):
    bring_to(api, opened, state)
    before = stored(opened)
    body = error(claim(api, opened, {"owner": "kim"}), 409)
    assert body["error"] == "conflict" and f"already {state.value} by sam" in body["message"]
    assert stored(opened) == before


def test_its_owner_claiming_an_assigned_followup_acknowledges_it_unchanged(api, opened):
    first = ok(claim(api, opened, {"owner": "sam"}))
    again = ok(claim(api, opened, {"owner": "sam"}))
    assert again == first and stored(opened).version == 1  # no second event, no write
    assert error(claim(api, opened, {"owner": "kim"}), 409)["message"] == "already claimed by sam"


# --- every transition ------------------------------------------------------------------------

def bring_to(api, followup_id: str, state: FollowUpStatus) -> None:
    """Through the API: open -> claimed (by sam) -> the state asked for."""
    if state is S.OPEN:
        return
    ok(claim(api, followup_id, {"owner": "sam"}))
    if state is S.AUTOMATED:  # only closeloop closes as automated, on finding a sweep
        close_as_automated(stored(followup_id), "a sweep")
    elif state is not S.CLAIMED:
        ok(patch(api, followup_id, {"status": state.value}))
    assert stored(followup_id).status is state


TRANSITIONS = [(a, b) for a in S for b in S if a is not b]


@pytest.mark.parametrize("start,target", [t for t in TRANSITIONS if t[1] in ALLOWED[t[0]]],
                         ids=lambda s: s.value)
def test_an_allowed_transition_is_made_and_recorded(api, opened, clock, start, target):
    bring_to(api, opened, start)
    before = stored(opened)
    clock.set(T0 + timedelta(hours=1))
    change = {"status": target.value, "note": f"to {target.value}"}
    if start is S.OPEN:
        change["owner"] = "kim"  # claiming an open follow-up names its owner

    body = ok(patch(api, opened, change))

    assert body["status"] == target.value and body["version"] == before.version + 1
    expected_owner = None if target is S.OPEN else ("kim" if start is S.OPEN else "sam")
    assert body["owner"] == expected_owner
    event = body["history"][-1]
    action = "reopened" if start in CLOSED_STATUSES else target.value
    assert event == {"at": iso(T0 + timedelta(hours=1)), "by": "tests", "action": action,
                     "status": target.value, "owner": expected_owner, "note": f"to {target.value}"}
    assert body["history"][:-1] == ok(get(api, opened))["history"][:-1]
    assert stored(opened).status is target


@pytest.mark.parametrize("start,target", [t for t in TRANSITIONS if t[1] not in ALLOWED[t[0]]],
                         ids=lambda s: s.value)
def test_a_refused_transition_is_409_with_the_reason_and_changes_nothing(api, opened, start, target):
    bring_to(api, opened, start)
    before = stored(opened)

    body = error(patch(api, opened, {"status": target.value, "note": "try"}), 409)

    assert body == {"error": "conflict",
                    "message": f"a follow-up cannot go from {start.value} to {target.value}"}
    assert stored(opened) == before


def test_contacting_and_resolving_set_their_times(api, opened, clock):
    bring_to(api, opened, S.CLAIMED)
    clock.set(T0 + timedelta(hours=2))
    assert ok(patch(api, opened, {"status": "contacted"}))["first_contact_at"] == iso(T0 + timedelta(hours=2))
    clock.set(T0 + timedelta(hours=3))
    body = ok(patch(api, opened, {"status": "resolved"}))
    assert body["first_contact_at"] == iso(T0 + timedelta(hours=2))
    assert body["closed_at"] == iso(T0 + timedelta(hours=3))
    assert body["overdue"] is False
    clock.set(T0 + timedelta(days=5))
    assert ok(get(api, opened))["overdue"] is False  # closed follow-ups are never overdue


def test_resolving_straight_from_claimed_counts_as_the_first_contact(api, opened, clock):
    bring_to(api, opened, S.CLAIMED)
    clock.set(T0 + timedelta(hours=2))
    body = ok(patch(api, opened, {"status": "resolved"}))
    assert body["first_contact_at"] == body["closed_at"] == iso(T0 + timedelta(hours=2))


def test_unreachable_closes_without_a_contact_and_reopening_gives_a_fresh_deadline(api, opened, clock):
    bring_to(api, opened, S.UNREACHABLE)
    body = ok(get(api, opened))
    assert body["closed_at"] is not None and body["first_contact_at"] is None
    clock.set(T0 + timedelta(days=3))
    body = ok(patch(api, opened, {"status": "open"}))
    assert body["status"] == "open" and body["owner"] is None and body["closed_at"] is None
    assert body["due_at"] == iso(T0 + timedelta(days=3, hours=24)) and body["overdue"] is False


def test_reopening_as_claimed_keeps_the_owner(api, opened):
    bring_to(api, opened, S.RESOLVED)
    body = ok(patch(api, opened, {"status": "claimed"}))
    assert (body["status"], body["owner"], body["history"][-1]["action"]) == ("claimed", "sam", "reopened")


def test_assigning_an_open_followup_claims_it_for_that_owner(api, opened):
    body = ok(patch(api, opened, {"owner": "kim"}))
    assert (body["status"], body["owner"]) == ("claimed", "kim")
    assert body["history"][-1]["action"] == "claimed" and body["history"][-1]["by"] == "tests"


@pytest.mark.parametrize("state", [S.CLAIMED, S.CONTACTED])
def test_reassigning_keeps_the_status(api, opened, state):
    bring_to(api, opened, state)
    body = ok(patch(api, opened, {"owner": "kim", "note": "sam is away"}))
    assert (body["status"], body["owner"]) == (state.value, "kim")
    assert {k: body["history"][-1][k] for k in ("action", "owner", "note", "status")} == {
        "action": "reassigned", "owner": "kim", "note": "sam is away", "status": None}


@pytest.mark.parametrize("state", [S.RESOLVED, S.UNREACHABLE])
def test_a_closed_followup_cannot_change_owner(api, opened, state):
    bring_to(api, opened, state)
    before = stored(opened)
    body = error(patch(api, opened, {"owner": "kim"}), 409)
    assert "cannot change owner" in body["message"] and "reopen" in body["message"]
    assert stored(opened) == before


def test_claimed_without_an_owner_and_open_with_an_owner_are_refused(api, opened):
    assert "needs an owner" in error(patch(api, opened, {"status": "claimed"}), 409)["message"]
    bring_to(api, opened, S.RESOLVED)
    assert "has no owner" in error(patch(api, opened, {"status": "open", "owner": "kim"}), 409)["message"]
    assert stored(opened).status is S.RESOLVED


def test_a_note_alone_is_recorded_in_any_state(api, opened):
    bring_to(api, opened, S.RESOLVED)
    body = ok(patch(api, opened, {"note": "Customer thanked us"}))
    assert body["status"] == "resolved"
    assert {k: body["history"][-1][k] for k in ("by", "action", "note")} == {
        "by": "tests", "action": "note", "note": "Customer thanked us"}


def test_the_same_status_again_changes_nothing(api, opened):
    bring_to(api, opened, S.CONTACTED)
    before = stored(opened)
    assert ok(patch(api, opened, {"status": "contacted"}))["version"] == before.version
    assert stored(opened) == before


def test_moving_the_deadline_makes_it_overdue_and_is_recorded(api, opened, clock):
    clock.set(T0 + timedelta(hours=2))
    body = ok(patch(api, opened, {"due_at": "2026-11-24T11:00:00+00:00"}))
    assert body["due_at"] == "2026-11-24T11:00:00.000Z" and body["overdue"] is True
    assert body["status"] == "open"
    assert {k: body["history"][-1][k] for k in ("by", "action", "note")} == {
        "by": "tests", "action": "due", "note": "due 2026-11-24T11:00:00.000Z"}
    assert [f["followup_id"] for f in ok(listing(api, overdue="true"))["followups"]] == [opened]


def test_history_records_who_did_what_and_when(api, opened, clock):
    ana, kim = headers_for("ana"), headers_for("kim")
    steps = [
        (1, lambda: claim(api, opened, {"note": "on it"}, headers=ana)),
        (2, lambda: patch(api, opened, {"status": "contacted", "note": "called her"}, headers=ana)),
        (3, lambda: patch(api, opened, {"owner": "kim"})),
        (4, lambda: patch(api, opened, {"status": "resolved", "note": "refunded"}, headers=kim)),
        (5, lambda: patch(api, opened, {"status": "open", "note": "she wrote again"})),
    ]
    for minutes, step in steps:
        clock.set(T0 + timedelta(minutes=minutes))
        ok(step())

    history = ok(get(api, opened))["history"]
    at = [iso(T0 + timedelta(minutes=m)) for m in range(6)]
    assert history == [
        {"at": at[0], "by": "closeloop", "action": "opened", "status": "open", "owner": None, "note": None},
        {"at": at[1], "by": "ana", "action": "claimed", "status": "claimed", "owner": "ana", "note": "on it"},
        {"at": at[2], "by": "ana", "action": "contacted", "status": "contacted", "owner": "ana",
         "note": "called her"},
        {"at": at[3], "by": "tests", "action": "reassigned", "status": None, "owner": "kim", "note": None},
        {"at": at[4], "by": "kim", "action": "resolved", "status": "resolved", "owner": "kim", "note": "refunded"},
        {"at": at[5], "by": "tests", "action": "reopened", "status": "open", "owner": None,
         "note": "she wrote again"},
    ]
    assert stored(opened).version == 5


# --- input errors name their field -------------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({"status": "done"}, "status"),
    ({"status": "OPEN"}, "status"),
    ({"status": 3}, "status"),
    ({"owner": "two words"}, "owner"),
    ({"owner": "x" * 129}, "owner"),
    ({"owner": ""}, "owner"),
    ({"note": "x" * 2001}, "note"),
    ({"note": "   "}, "note"),
    ({"due_at": "2026-11-24T11:00:00"}, "due_at"),
    ({"due_at": "tomorrow"}, "due_at"),
    ({"priority": "high"}, "priority"),
    ({"status": "resolved", "priority": "high"}, "priority"),
    ({}, "body"),
    ({"status": None, "owner": None}, "body"),
    ([], "body"),
    ("{not json", "body"),
], ids=lambda v: str(v)[:30])
def test_a_bad_patch_is_400_naming_the_field_and_changes_nothing(api, opened, body, field):
    before = stored(opened)
    response = patch(api, opened, body)
    assert field in fields_of(response), response.body
    assert stored(opened) == before


def test_a_note_of_2000_characters_is_kept_whole(api, opened):
    note = "n" * 2000
    assert ok(patch(api, opened, {"note": note}))["history"][-1]["note"] == note


@pytest.mark.parametrize("body,field", [
    ({"owner": "two words"}, "owner"),
    ({"owner": "x" * 129}, "owner"),
    ({"note": "x" * 2001}, "note"),
    ({"status": "claimed"}, "status"),
    ([1], "body"),
])
def test_a_bad_claim_is_400_naming_the_field_and_claims_nothing(api, opened, body, field):
    response = api.http.post(f"/v1/followups/{opened}/claim", headers=api.headers, body=json.dumps(body))
    assert field in fields_of(response), response.body
    assert stored(opened).status is S.OPEN and stored(opened).version == 0


def test_a_caller_whose_key_name_is_no_owner_must_name_one(api, opened):
    lead = headers_for("Night shift")
    assert "owner" in fields_of(claim(api, opened, headers=lead))
    assert ok(claim(api, opened, {"owner": "night-shift"}, headers=lead))["history"][-1]["by"] == "Night shift"


@pytest.mark.parametrize("params,field", [
    ({"status": "closed"}, "status"),
    ({"owner": "a b"}, "owner"),
    ({"owner": "x" * 129}, "owner"),
    ({"overdue": "maybe"}, "overdue"),
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "eyJwayI6IlNVUlZFWSN4In0"}, "cursor"),  # {"pk":"SURVEY#x"}: JSON, but no cursor of ours
    ({"sort": "oldest"}, "sort"),
], ids=lambda v: str(v)[:30])
def test_a_bad_listing_query_is_400_naming_the_parameter(api, opened, params, field):
    assert field in fields_of(listing(api, **params))


def test_a_tampered_cursor_is_refused(api, clock):
    import base64

    clock.set(T0)
    for minute in range(3):
        open_followup(T0 + timedelta(minutes=minute))
    cursor = ok(listing(api, limit=1))["next_cursor"]
    key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    key["fu_pk"] = "SURVEY"  # another partition: DynamoDB would refuse it with a 500
    tampered = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    assert fields_of(listing(api, limit=1, cursor=tampered)) == {"cursor"}


# --- listing: filters, order, pages --------------------------------------------------------------

@pytest.fixture
def seven(api, clock, monkeypatch):
    """Seven follow-ups opened a minute apart: billing (routed to sam, kim; 8 h) and shipping (open,
    24 h) in turn; then ana claims a shipping one and sam resolves one of his. Newest first."""
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_ROUTING", json.dumps({"teams": {"billing": {"owners": ["sam", "kim"],
                                                                              "sla_hours": 8}}}))
    config.reset_settings()
    ids = []
    for i in range(7):
        clock.set(T0 + timedelta(minutes=i))
        ids.append(open_followup(clock.now, team="billing" if i % 2 == 0 else "shipping"))
    clock.set(T0 + timedelta(minutes=10))
    followups.claim(ids[3], "ana", "ana")
    followups.change(ids[4], followups.Change(status=S.RESOLVED), "sam")
    return list(reversed(ids))


def ids_of(pages) -> list[str]:
    return [f["followup_id"] for page in pages for f in page]


def test_the_routing_assigned_billing_in_turn_and_left_shipping_open(seven):
    owners = {fid: (stored(fid).team, stored(fid).status, stored(fid).owner) for fid in seven}
    oldest_first = list(reversed(seven))
    assert [owners[fid] for fid in oldest_first] == [
        ("billing", S.CLAIMED, "sam"), ("shipping", S.OPEN, None), ("billing", S.CLAIMED, "kim"),
        ("shipping", S.CLAIMED, "ana"), ("billing", S.RESOLVED, "sam"), ("shipping", S.OPEN, None),
        ("billing", S.CLAIMED, "kim"),
    ]
    for i, fid in enumerate(oldest_first):
        hours = 8 if i % 2 == 0 else 24
        assert stored(fid).due_at == T0 + timedelta(minutes=i, hours=hours)


def test_pages_of_two_hold_every_followup_once_newest_first(api, seven):
    from tests.functional.followup_helpers import all_pages

    pages = all_pages(api, limit=2)
    assert [len(page) for page in pages] == [2, 2, 2, 1]  # and no empty page at the end
    assert ids_of(pages) == seven
    opened = [f["opened_at"] for page in pages for f in page]
    assert opened == sorted(opened, reverse=True)
    assert all(set(f) == VIEW_FIELDS for page in pages for f in page)


def test_one_page_of_everything_has_no_cursor(api, seven):
    body = ok(listing(api))
    assert [f["followup_id"] for f in body["followups"]] == seven and body["next_cursor"] is None
    body = ok(listing(api, limit=7))
    assert len(body["followups"]) == 7 and body["next_cursor"] is None


@pytest.mark.parametrize("params,expected", [
    ({"status": "open"}, lambda s: s.status is S.OPEN),
    ({"status": "claimed"}, lambda s: s.status is S.CLAIMED),
    ({"status": "resolved"}, lambda s: s.status is S.RESOLVED),
    ({"status": "contacted"}, lambda s: False),
    ({"owner": "sam"}, lambda s: s.owner == "sam"),
    ({"owner": "nobody"}, lambda s: False),
    ({"team": "billing"}, lambda s: s.team == "billing"),
    ({"team": "billing", "owner": "kim"}, lambda s: s.team == "billing" and s.owner == "kim"),
    ({"status": "claimed", "team": "shipping"}, lambda s: s.status is S.CLAIMED and s.team == "shipping"),
], ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_filters_page_through_only_what_matches(api, seven, params, expected):
    from tests.functional.followup_helpers import all_pages

    wanted = [fid for fid in seven if expected(stored(fid))]
    pages = all_pages(api, limit=1, **params)
    assert ids_of(pages) == wanted
    assert all(len(page) == 1 for page in pages) or wanted == []
    assert ids_of(all_pages(api, **params)) == wanted


def test_overdue_filters_split_the_followups_at_the_time_of_the_request(api, seven, clock):
    clock.set(T0 + timedelta(hours=8, minutes=3))  # billing deadlines T0+8h+0/2/4/6 min
    late = ok(listing(api, overdue="true"))["followups"]
    on_time = ok(listing(api, overdue="false"))["followups"]

    oldest_first = list(reversed(seven))
    assert [f["followup_id"] for f in late] == [oldest_first[2], oldest_first[0]]  # not the resolved one
    assert all(f["overdue"] for f in late) and not any(f["overdue"] for f in on_time)
    assert sorted(f["followup_id"] for f in late + on_time) == sorted(seven)
    assert [f["followup_id"] for f in ok(listing(api, overdue="1", owner="kim"))["followups"]] == [oldest_first[2]]

    clock.set(T0 + timedelta(hours=30))
    assert len(ok(listing(api, overdue="yes"))["followups"]) == 6  # all but the resolved one


# --- races -------------------------------------------------------------------------------------

def reads_meet(monkeypatch, parties: int = 2) -> None:
    """The first `parties` reads of a follow-up wait for each other: every racer reads one version."""
    barrier, calls, lock = threading.Barrier(parties, timeout=20), [], threading.Lock()
    real = FollowUpRepository.get

    def get_followup(self, followup_id):
        found = real(self, followup_id)
        with lock:
            calls.append(followup_id)
            first = len(calls) <= parties
        if first:
            barrier.wait()
        return found

    monkeypatch.setattr(FollowUpRepository, "get", get_followup)


def test_two_leads_claiming_at_once_get_one_winner(api, opened, monkeypatch):
    reads_meet(monkeypatch)

    def attempt(owner):
        try:
            return followups.claim(opened, owner, f"lead-{owner}")
        except followups.InvalidChange as refused:
            return refused

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(attempt, ["sam", "kim"]))

    (winner,) = [r for r in results if not isinstance(r, Exception)]
    (loser,) = [r for r in results if isinstance(r, Exception)]
    assert str(loser) == f"claimed meanwhile by {winner.owner}"
    final = ok(get(api, opened))
    assert final["owner"] == winner.owner and final["version"] == 1
    assert [e["by"] for e in final["history"] if e["action"] == "claimed"] == [f"lead-{winner.owner}"]


def test_a_claim_that_loses_the_race_over_http_is_409_naming_the_winner(api, opened, monkeypatch):
    real_save, rivals = FollowUpRepository.save, []

    def save_after_a_rival(self, followup, read_version):
        if not rivals:  # between this request's read and its write, kim's claim lands
            rivals.append("kim")
            followups.claim(opened, "kim", "lead-kim")
        return real_save(self, followup, read_version)

    monkeypatch.setattr(FollowUpRepository, "save", save_after_a_rival)
    body = error(claim(api, opened, {"owner": "sam"}), 409)

    assert body == {"error": "conflict", "message": "claimed meanwhile by kim"}
    final = ok(get(api, opened))
    assert final["owner"] == "kim" and final["version"] == 1
    assert [(e["by"], e["owner"]) for e in final["history"] if e["action"] == "claimed"] == [("lead-kim", "kim")]


def test_a_patch_that_loses_the_race_is_judged_again_on_the_winners_state(api, opened, monkeypatch):
    bring_to(api, opened, S.CLAIMED)
    real_save, rivals = FollowUpRepository.save, []

    def save_after_a_rival(self, followup, read_version):
        if not rivals:  # another lead closes it as unreachable meanwhile
            rivals.append("kim")
            followups.change(opened, followups.Change(status=S.UNREACHABLE), "lead-kim")
        return real_save(self, followup, read_version)

    monkeypatch.setattr(FollowUpRepository, "save", save_after_a_rival)
    body = error(patch(api, opened, {"status": "resolved", "note": "fixed"}), 409)

    assert body["message"] == "a follow-up cannot go from unreachable to resolved"
    final = ok(get(api, opened))
    assert final["status"] == "unreachable" and final["version"] == 2
    assert [e["action"] for e in final["history"]] == ["opened", "claimed", "unreachable"]
    assert all(e["note"] != "fixed" for e in final["history"])


def test_two_patches_at_once_both_land_in_order_with_no_lost_update(api, opened, monkeypatch):
    bring_to(api, opened, S.CLAIMED)
    reads_meet(monkeypatch)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda who: followups.change(opened, followups.Change(note=f"note by {who}"), who),
                                ["ana", "kim"]))

    assert sorted(r.version for r in results) == [2, 3]  # the loser re-read and wrote on top
    final = ok(get(api, opened))
    assert final["version"] == 3
    notes = [(e["by"], e["note"]) for e in final["history"] if e["action"] == "note"]
    assert sorted(notes) == [("ana", "note by ana"), ("kim", "note by kim")]


def test_a_patch_that_keeps_losing_is_409_and_writes_nothing_of_its_own(api, opened, monkeypatch):
    bring_to(api, opened, S.CLAIMED)
    real_save, rivals = FollowUpRepository.save, []

    def save_after_a_rival(self, followup, read_version):
        if followup.history[-1].by == "tests":  # each of this request's writes is overtaken
            rivals.append(followups.change(opened, followups.Change(note=f"rival {len(rivals)}"), "lead-kim"))
        return real_save(self, followup, read_version)

    monkeypatch.setattr(FollowUpRepository, "save", save_after_a_rival)
    body = error(patch(api, opened, {"note": "mine"}), 409)

    assert body["error"] == "conflict" and "try again" in body["message"]
    assert len(rivals) == 3
    notes = [e["note"] for e in ok(get(api, opened))["history"] if e["action"] == "note"]
    assert notes == ["rival 0", "rival 1", "rival 2"]
