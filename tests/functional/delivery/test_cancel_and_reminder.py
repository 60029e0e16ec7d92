"""Issue 4: cancelling an interaction before its survey goes, the one reminder, and expiry."""
from __future__ import annotations

import json
from datetime import timedelta

from chalicelib.delivery.jobs import SendReminder, SendSurvey
from chalicelib.platform.clock import parse_iso
from chalicelib.storage.table import ItemKey
from tests.functional.helpers import (
    PHONE, confirm, deliver, fire_timers, interaction, open_page, path_of, post, score_links, survey, survey_timer,
    take_jobs,
)
from tests.repos import Repositories

DAYS_3 = 3 * 86400


def cancel(api, interaction_id="zd-48213", headers=None):
    return api.http.delete(f"/v1/interactions/{interaction_id}", headers=api.headers if headers is None else headers)


def accept(api, **overrides) -> str:
    response = post(api, interaction(**overrides))
    assert response.status_code == 202, response.body
    return json.loads(response.body)["survey_id"]


# --- cancel --------------------------------------------------------------------------------

def test_cancel_before_the_send_sends_nothing_and_repeats_answer_the_same(api, stack):
    survey_id = accept(api)
    first = cancel(api)
    assert first.status_code == 200, first.body
    view = json.loads(first.body)
    assert view["survey_id"] == survey_id and view["status"] == "suppressed"
    assert view["suppressed_reason"] == "cancelled" and view["cancelled_at"] and view["cancelled_by"]

    stack.run_jobs()  # the queued send finds the survey cancelled
    assert stack.emails() == []
    assert survey(api, survey_id)["status"] == "suppressed"

    again = cancel(api)
    assert again.status_code == 200 and json.loads(again.body) == view
    # The interaction posted again stays cancelled and sends nothing.
    assert json.loads(post(api, interaction()).body)["status"] == "suppressed"
    stack.run_jobs()
    assert stack.emails() == []


def test_cancel_after_the_send_is_409_it_cannot_be_unsent(api, stack):
    survey_id = accept(api)
    stack.run_jobs()
    assert len(stack.emails()) == 1
    refused = cancel(api)
    assert refused.status_code == 409
    body = json.loads(refused.body)
    assert body["error"] == "conflict" and "already sent" in body["message"] and "unsent" in body["message"]
    assert body["survey"]["status"] == "sent"
    assert survey(api, survey_id)["status"] == "sent"


def test_cancel_while_the_send_holds_its_lease_is_refused_and_the_send_stands(api, stack, clock):
    from chalicelib.surveys.repository import survey_key

    survey_id = accept(api)
    send_jobs = take_jobs(stack)
    # A worker is inside the send (the lease is taken, the message may be on its way).
    assert Repositories().claim_step(survey_key(survey_id).pk, "SURVEY", "send", clock.now, 300) is None
    refused = cancel(api)
    assert refused.status_code == 409 and "being sent" in json.loads(refused.body)["message"]
    # The worker finishes: its write (conditional on `scheduled`) still succeeds; one outcome only.
    Repositories().mark_sent(survey_id, clock.now, "msg-1")
    assert survey(api, survey_id)["status"] == "sent"
    assert cancel(api).status_code == 409
    for job in send_jobs:
        deliver(job)
    assert stack.emails() == []  # the redelivered send job sees `sent` and sends nothing more


def test_cancel_of_an_unknown_or_malformed_interaction_is_404(api, stack):
    for interaction_id in ("zd-unknown", "no%20such", "x" * 129):
        response = cancel(api, interaction_id)
        assert response.status_code == 404, interaction_id
        assert json.loads(response.body)["error"] == "not_found"


def test_cancel_requires_the_api_key_and_changes_nothing_without_it(api, stack):
    survey_id = accept(api)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert cancel(api, headers=headers).status_code in (401, 403)
    assert survey(api, survey_id)["status"] == "scheduled"


def test_cancel_interaction_is_callable_for_helpdesk_events(api, stack):
    from chalicelib import surveys

    assert surveys.cancel_interaction("zd-none", by="zendesk") is None
    survey_id = accept(api)
    cancelled = surveys.cancel_interaction("zd-48213", by="zendesk")
    assert cancelled.survey_id == survey_id and cancelled.suppressed_reason == "cancelled"
    assert cancelled.cancelled_by == "zendesk"
    assert surveys.cancel_interaction("zd-48213", by="zendesk").survey_id == survey_id


# --- reminder ------------------------------------------------------------------------------

def enable_reminders(monkeypatch, seconds=DAYS_3):
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_REMINDER_AFTER_SECONDS", str(seconds))
    config.reset_settings()


def send_survey(api, stack, **overrides) -> str:
    """Accept and send one survey; returns its id (nothing is left on the queue)."""
    survey_id = accept(api, **overrides)
    for job in take_jobs(stack):
        deliver(job)
    assert take_jobs(stack) == []
    return survey_id


def test_one_reminder_after_the_delay_when_no_response_even_if_delivered_twice(api, stack, clock, monkeypatch):
    enable_reminders(monkeypatch)
    survey_id = send_survey(api, stack)
    # One step, however long the wait: the reminder is a timer on the survey, not a queued hop.
    assert survey_timer(survey_id) == (clock.now + timedelta(seconds=DAYS_3), SendReminder(survey_id=survey_id))

    clock.advance(DAYS_3 - 60)
    assert fire_timers()["timers_fired"] == 0 and take_jobs(stack) == []  # not due yet
    clock.advance(60)
    assert fire_timers()["timers_fired"] == 1  # within a minute of its time
    [job] = take_jobs(stack)
    assert survey_timer(survey_id) is None and fire_timers()["timers_fired"] == 0  # it fires once
    deliver(job)
    deliver(job)  # SQS delivers at least once
    emails = stack.emails()
    assert len(emails) == 2
    reminder = emails[1]
    assert reminder.subject.startswith("Reminder: ") and "Ada" in reminder.subject
    assert "reminder" in reminder.part("plain").lower() and "reminder" in reminder.part("html").lower()
    links = score_links(reminder.part("plain"))
    assert sorted(links) == [1, 2, 3, 4, 5]
    for url in links.values():
        assert f'href="{url}"' in reminder.part("html")
    assert reminder.message["List-Unsubscribe"]
    first_links = score_links(emails[0].part("plain"))
    assert path_of(links[4]).rsplit("/", 1)[0] != path_of(first_links[4]).rsplit("/", 1)[0]  # its own token

    state = survey(api, survey_id)
    assert parse_iso(state["reminded_at"]) == clock.now and state["status"] == "sent"
    assert take_jobs(stack) == [] and survey_timer(survey_id) is None  # no further reminder

    # The reminder's links work: the customer responds through them.
    path = path_of(links[4])
    page = open_page(api, path)
    assert page.status_code == 200
    assert json.loads(confirm(api, path, page).body) == {"recorded": True, "score": 4}
    assert survey(api, survey_id)["score"] == 4


def test_a_response_stops_the_pending_reminder(api, stack, clock, monkeypatch):
    enable_reminders(monkeypatch)
    survey_id = send_survey(api, stack)
    path = path_of(score_links(stack.emails()[0].part("plain"))[5])
    confirm(api, path, open_page(api, path))
    assert survey(api, survey_id)["status"] == "responded" and survey_timer(survey_id) is None
    take_jobs(stack)
    clock.advance(DAYS_3 + 60)
    assert fire_timers()["timers_fired"] == 0
    deliver(SendReminder(survey_id=survey_id))  # a job that was on its way anyway
    assert len(stack.emails()) == 1 and survey(api, survey_id)["reminded_at"] is None


def test_a_reminder_hop_queued_before_timers_moves_to_a_timer_and_reminds_once(api, stack, clock, monkeypatch):
    """A stage upgraded with reminders in flight: the old chain's next hop arrives, finds the
    survey not due yet, and becomes the survey's timer instead of hopping on."""
    enable_reminders(monkeypatch)
    survey_id = send_survey(api, stack)
    Repositories().table.update(ItemKey(f"SURVEY#{survey_id}", "SURVEY"), "REMOVE due_pk, due_sk")  # sent before
    clock.advance(3600)
    deliver(SendReminder(survey_id=survey_id))  # the hop
    assert take_jobs(stack) == [] and survey_timer(survey_id) == (
        clock.now + timedelta(seconds=DAYS_3 - 3600), SendReminder(survey_id=survey_id))
    clock.advance(DAYS_3)
    assert fire_timers()["timers_fired"] == 1
    for job in take_jobs(stack) * 2:
        deliver(job)
    assert len(stack.emails()) == 2 and survey(api, survey_id)["reminded_at"] is not None


def test_no_reminder_after_expiry_and_the_expired_survey_says_so(api, stack, clock, monkeypatch):
    enable_reminders(monkeypatch, seconds=40 * 86400)  # due after the 28-day response window
    survey_id = send_survey(api, stack)
    link = path_of(score_links(stack.emails()[0].part("plain"))[3])
    clock.set(parse_iso(survey(api, survey_id)["expires_at"]) + timedelta(days=13))
    assert fire_timers()["timers_fired"] == 1
    for job in take_jobs(stack):
        deliver(job)
    assert len(stack.emails()) == 1

    state = survey(api, survey_id)
    assert state["status"] == "expired" and state["score"] is None and state["reminded_at"] is None
    page = open_page(api, link)
    assert page.status_code == 410 and "This survey has closed" in page.body.decode()


def test_a_survey_without_response_becomes_expired(api, stack, clock):
    survey_id = send_survey(api, stack)
    link = path_of(score_links(stack.emails()[0].part("plain"))[3])
    clock.set(parse_iso(survey(api, survey_id)["expires_at"]) - timedelta(seconds=1))
    assert survey(api, survey_id)["status"] == "sent"
    clock.advance(1)
    assert survey(api, survey_id)["status"] == "expired"
    page = open_page(api, link)
    assert page.status_code == 410 and "This survey has closed" in page.body.decode()


def test_no_reminder_when_reminders_are_off(api, stack, clock):
    # The stack fixture sets CLOSELOOP_REMINDER_AFTER_SECONDS=0.
    survey_id = send_survey(api, stack)
    assert survey_timer(survey_id) is None
    deliver(SendReminder(survey_id=survey_id))  # a job queued before they were turned off
    assert len(stack.emails()) == 1 and survey(api, survey_id)["reminded_at"] is None


def test_no_reminder_when_the_contact_was_suppressed_meanwhile(api, stack, clock, monkeypatch):
    enable_reminders(monkeypatch)
    survey_id = send_survey(api, stack)
    added = api.http.post("/v1/suppressions", headers=api.headers,
                          body=json.dumps({"kind": "email", "value": "ada@example.com"}))
    assert added.status_code == 201, added.body
    clock.advance(DAYS_3)
    assert fire_timers()["timers_fired"] == 1
    for job in take_jobs(stack):
        deliver(job)
    assert len(stack.emails()) == 1 and survey(api, survey_id)["reminded_at"] is None


def test_an_sms_reminder_is_one_segment_with_one_link(api, stack, clock, monkeypatch):
    enable_reminders(monkeypatch)
    survey_id = send_survey(api, stack, channel="sms")
    clock.advance(DAYS_3)
    fire_timers()
    for job in take_jobs(stack):
        deliver(job)
    texts = stack.sms()
    assert len(texts) == 2 and texts[1][0] == PHONE
    assert texts[1][1].startswith("Reminder: ") and len(texts[1][1]) <= 160
    assert texts[1][1].count("http") == 1
    assert survey(api, survey_id)["reminded_at"] is not None


def test_a_cancelled_survey_is_never_reminded(api, stack, clock, monkeypatch):
    enable_reminders(monkeypatch)
    survey_id = accept(api)
    assert cancel(api).status_code == 200
    deliver(SendSurvey(survey_id=survey_id))
    clock.advance(DAYS_3)
    deliver(SendReminder(survey_id=survey_id))
    assert stack.emails() == [] and survey(api, survey_id)["reminded_at"] is None
