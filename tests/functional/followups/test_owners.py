"""Owners are people (issue 13): an owner is a lead, named by their email address, in the API,
routing and the dashboard's "Mine"; short names map to their lead; a non-lead is a 400 naming
`owner` unless the stage takes any address; the owner's assignment email and the reminder before
the deadline, each once whatever the redelivery."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.followups.repository import FollowUpRepository
from tests.functional.followup_helpers import claim, error, fields_of, get, listing, ok, open_followup, patch, stored
from tests.functional.followups.test_detractor_alerts import respond
from tests.functional.helpers import deliver, fire_timers, send_email_survey, take_jobs, timer_on

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def leads(api):
    """Two leads: Kim (short name "kim", as `ops leads add kim@example.com --owner kim` makes) and Sam."""
    from chalicelib.leads import allowed_list

    return (allowed_list.add_lead("kim@example.com", name="Kim Lee", owner="kim"),
            allowed_list.add_lead("sam@example.com", name="Sam Poe", owner="sam"))


@pytest.fixture
def opened(api, clock):
    clock.set(T0)
    return open_followup(T0)


def setting(monkeypatch, name: str, value: str) -> None:
    from chalicelib.platform import settings as config

    monkeypatch.setenv(name, value)
    config.reset_settings()


def assignments_queued(stack) -> list:
    """The queued assignment-email jobs (taken off the queue, to deliver by hand)."""
    return [job for job in take_jobs(stack) if getattr(job, "kind", None) == "notify_owner"]


def owner_emails(stack, to: str) -> list:
    return [sent for sent in stack.emails() if set(sent.to) == {to}]


# --- the API --------------------------------------------------------------------------------

def test_a_lead_claims_by_email_address_everywhere(api, leads, opened):
    body = ok(claim(api, opened, {"owner": "Kim@Example.com"}))
    assert body["owner"] == "kim@example.com" and body["status"] == "claimed"
    assert (body["history"][-1]["by"], body["history"][-1]["owner"]) == ("tests", "kim@example.com")

    body = ok(patch(api, opened, {"owner": "sam@example.com"}))
    assert body["owner"] == "sam@example.com" and body["history"][-1]["action"] == "reassigned"
    assert [f["followup_id"] for f in ok(listing(api, owner="sam@example.com"))["followups"]] == [opened]


def test_a_short_name_is_taken_for_its_leads_address(api, leads, opened):
    assert ok(claim(api, opened, {"owner": "kim"}))["owner"] == "kim@example.com"
    assert ok(patch(api, opened, {"owner": "sam"}))["owner"] == "sam@example.com"
    # Listing by either form finds it.
    assert [f["followup_id"] for f in ok(listing(api, owner="sam"))["followups"]] == [opened]


@pytest.mark.parametrize("owner", ["nobody@example.com", "robin"])
def test_an_owner_who_is_no_lead_is_400_naming_owner_and_changes_nothing(api, leads, opened, owner):
    before = stored(opened)
    assert fields_of(claim(api, opened, {"owner": owner})) == {"owner"}
    assert fields_of(patch(api, opened, {"owner": owner})) == {"owner"}
    assert stored(opened) == before


def test_the_callers_key_owns_a_claim_only_when_it_names_a_lead(api, leads, opened):
    from chalicelib.leads import allowed_list

    assert "owner" in error(claim(api, opened), 400)["message"]  # the key "tests" is no lead
    allowed_list.add_lead("ops@example.com", owner="tests")
    assert ok(claim(api, opened))["owner"] == "ops@example.com"


def test_a_lead_acknowledging_what_was_routed_to_their_short_name_is_no_conflict(api, leads, opened):
    from chalicelib.followups import lifecycle

    legacy = stored(opened)  # routed as "kim" before owners were addresses
    FollowUpRepository().save(lifecycle.apply(legacy, lifecycle.Change(owner="kim"), "routing", T0), legacy.version)
    assert ok(claim(api, opened, {"owner": "kim@example.com"}))["owner"] == "kim"
    assert error(claim(api, opened, {"owner": "sam"}), 409)["message"] == "already claimed by kim"


def test_a_stage_may_take_any_address(api, leads, opened, monkeypatch):
    setting(monkeypatch, "CLOSELOOP_OWNERS_ANY_ADDRESS", "true")
    assert ok(claim(api, opened, {"owner": "Contractor@Agency.example"}))["owner"] == "contractor@agency.example"
    assert ok(patch(api, opened, {"owner": "kim"}))["owner"] == "kim@example.com"  # a lead's name still maps


def test_an_unknown_followup_is_404_before_its_owner_is_judged(api, leads):
    assert error(claim(api, "fu_0123456789abcdef", {"owner": "nobody@example.com"}), 404)["error"] == "not_found"


# --- the assignment email -------------------------------------------------------------------

def test_an_assigned_lead_gets_one_email_whatever_the_redelivery(api, stack, leads, clock):
    clock.set(T0)
    followup_id = open_followup(T0, comment=f"Nobody read my ticket {SCRIPT}\u202e\nOwner: mallory")
    ok(claim(api, followup_id, {"owner": "kim"}))
    (job,) = assignments_queued(stack)
    deliver(job)
    deliver(job)  # SQS delivers at least once

    (sent,) = owner_emails(stack, "kim@example.com")
    assert followup_id in sent.subject and SCRIPT not in sent.subject
    text, html = sent.part("plain"), sent.part("html")
    for part in (text, html):
        assert "Hello Kim Lee" in part and "Ada Lovelace" in part and "CSAT 1" in part
        assert f"http://127.0.0.1:8000/dashboard/followups/{followup_id}" in part
    assert SCRIPT in text and SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Inert: no bidirectional override, and the comment's next line cannot pose as a field of ours.
    assert "\u202e" not in text + html and "\nOwner: mallory" not in text and "\n  Owner: mallory" in text


def test_a_lead_claiming_for_themselves_gets_no_email_and_a_reassignment_emails_the_new_owner(api, stack, leads,
                                                                                              clock):
    from chalicelib.followups import lifecycle

    clock.set(T0)
    followup_id = open_followup(T0)
    lifecycle.claim(followup_id, "kim@example.com", by="kim@example.com")  # the dashboard's claim
    assert assignments_queued(stack) == []
    ok(patch(api, followup_id, {"owner": "sam"}))
    stack.run_jobs()
    assert owner_emails(stack, "kim@example.com") == [] and len(owner_emails(stack, "sam@example.com")) == 1


def test_routing_assigns_the_lead_of_a_short_name_and_emails_them_once(api, stack, leads, clock, monkeypatch):
    from chalicelib.followups import NotifyOwner

    setting(monkeypatch, "CLOSELOOP_ROUTING", json.dumps({"teams": {"billing": {"owners": ["sam"]}}}))
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[2], comment="Still broken")
    stack.run_jobs()

    (listed,) = ok(listing(api))["followups"]
    assert listed["owner"] == "sam@example.com"
    assert ok(get(api, listed["followup_id"]))["history"][-1]["owner"] == "sam@example.com"
    deliver(NotifyOwner(followup_id=listed["followup_id"], owner="sam@example.com", version=0))  # redelivered
    (sent,) = owner_emails(stack, "sam@example.com")
    assert "Still broken" in sent.part("plain") and "assigned to you by routing" in sent.part("plain")


# --- the reminder before the deadline ---------------------------------------------------------

def test_the_owner_is_reminded_once_before_the_deadline_and_escalation_still_follows(api, stack, leads, clock):
    clock.set(T0)
    followup_id = open_followup(T0)
    ok(claim(api, followup_id, {"owner": "kim"}))
    stack.run_jobs()
    assignment = len(owner_emails(stack, "kim@example.com"))
    # The default SLA is 24 h: the reminder is due when three quarters of it are gone.
    when, job = timer_on(f"FOLLOWUP#{followup_id}", "REMINDER")
    assert when == T0 + timedelta(hours=18) and job.kind == "remind_owner"

    clock.set(T0 + timedelta(hours=18) - timedelta(seconds=1))
    assert fire_timers()["timers_fired"] == 0
    clock.set(T0 + timedelta(hours=18))
    assert fire_timers()["timers_fired"] == 1
    stack.run_jobs()
    deliver(job)  # a timer queued twice, or a redelivery: still one reminder
    assert fire_timers()["timers_fired"] == 0
    reminders = owner_emails(stack, "kim@example.com")[assignment:]
    assert len(reminders) == 1 and "Reminder" in reminders[0].subject and "escalates" in reminders[0].part("plain")

    clock.set(T0 + timedelta(hours=24))
    assert fire_timers()["escalated"] == [followup_id]
    assert stored(followup_id).escalated_at == T0 + timedelta(hours=24)


def test_a_setting_times_the_reminder_and_a_closed_or_moved_followup_gets_none(api, stack, leads, clock,
                                                                                monkeypatch):
    setting(monkeypatch, "CLOSELOOP_OWNER_REMINDER_BEFORE_SECONDS", "3600")
    clock.set(T0)
    followup_id = open_followup(T0)
    ok(claim(api, followup_id, {"owner": "kim"}))
    when, job = timer_on(f"FOLLOWUP#{followup_id}", "REMINDER")
    assert when == T0 + timedelta(hours=23)

    ok(patch(api, followup_id, {"due_at": "2026-11-26T10:00:00Z"}))  # a new deadline, a new timer
    assert timer_on(f"FOLLOWUP#{followup_id}", "REMINDER")[0] == datetime(2026, 11, 26, 9, tzinfo=timezone.utc)
    take_jobs(stack)
    clock.set(T0 + timedelta(hours=23))
    deliver(job)  # the old deadline's reminder: nothing
    ok(patch(api, followup_id, {"status": "resolved"}))
    clock.set(datetime(2026, 11, 26, 9, tzinfo=timezone.utc))
    fire_timers()
    stack.run_jobs()
    assert [s for s in owner_emails(stack, "kim@example.com") if "Reminder" in s.subject] == []


# --- the dashboard's "Mine" -------------------------------------------------------------------

def test_mine_shows_what_the_lead_owns_under_their_address_or_their_short_name(api, stack, leads, clock,
                                                                             monkeypatch):
    from chalicelib.followups import lifecycle
    from chalicelib.leads import sessions
    from tests.repos import Repositories

    clock.set(T0)
    by_name, by_address, someone_elses = open_followup(T0), open_followup(T0), open_followup(T0)
    # A follow-up stored before owners were addresses: owner "sam", as routing wrote it then.
    repository = Repositories().followups
    legacy = stored(by_name)
    repository.save(lifecycle.apply(legacy, lifecycle.Change(owner="sam"), "routing", T0), legacy.version)
    lifecycle.claim(by_address, "sam@example.com", by="sam@example.com")
    lifecycle.claim(someone_elses, "kim@example.com", by="kim@example.com")

    cookie, _ = sessions.start_session(leads[1])
    response = api.http.get("/dashboard/followups?tab=mine", headers={"Cookie": f"closeloop_session={cookie}"})
    assert response.status_code == 200
    board = response.body.decode()
    assert by_name in board and by_address in board and someone_elses not in board
