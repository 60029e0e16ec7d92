"""The survey's result written back to its ticket: POST /v1/interactions takes `ticket`, each change
(response recorded, changed, withdrawn; the follow-up's status) puts one private note and tags on
the ticket through the helpdesk's API (a fake on loopback), once whatever the redelivery; a refusal
shows on the survey and its follow-up, the response stays recorded; a helpdesk that is down is
tried again with backoff."""
from __future__ import annotations

import json

import pytest

from chalicelib.platform import jobs
from chalicelib.platform.settings import reset_settings
from tests.functional.followup_helpers import claim, get, ok, patch
from tests.functional.followups.test_detractor_alerts import respond
from tests.functional.helpers import interaction, post, requested_delays, send_email_survey, stored_survey, survey


@pytest.fixture(autouse=True)
def any_owner(stack, monkeypatch):
    """Owners here are short names with no lead behind them: the stage takes any owner (owners as
    leads: tests/functional/followups/test_owners.py)."""
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_OWNERS_ANY_ADDRESS", "true")
    config.reset_settings()

ZENDESK = {"helpdesk": "zendesk", "id": "48213"}


def writeback_jobs(stack) -> list:
    return [job for job, _ in stack.delays if job.kind == "write_back"]


def notes_for(helpdesks, ticket: str) -> list[dict]:
    return [n for n in helpdesks.notes if n["ticket"] == ticket]


def test_an_interaction_names_its_ticket_and_the_survey_shows_it(api, stack):
    response = post(api, interaction(ticket=ZENDESK))
    assert response.status_code == 202, response.body
    assert survey(api, json.loads(response.body)["survey_id"])["ticket"] == ZENDESK


@pytest.mark.parametrize("ticket, field", [
    ({"helpdesk": "jira", "id": "1"}, "ticket.helpdesk"),
    ({"helpdesk": "zendesk", "id": ".."}, "ticket.id"),
    ({"helpdesk": "zendesk", "id": "12/../13"}, "ticket.id"),
    ({"helpdesk": "zendesk"}, "ticket.id"),
    ({"id": "1"}, "ticket.helpdesk"),
])
def test_a_bad_ticket_is_refused_naming_its_field_and_nothing_is_stored(api, stack, ticket, field):
    response = post(api, interaction(ticket=ticket))
    assert response.status_code in (400, 422)
    assert field in [f["field"] for f in json.loads(response.body)["fields"]]
    assert stack.run_jobs() == 0


def test_each_change_puts_one_private_note_and_tags_on_the_ticket_once_whatever_the_redelivery(
        api, stack, clock, helpdesks):
    survey_id, links = send_email_survey(api, stack, ticket=ZENDESK)
    respond(api, clock, links[2], comment="Nobody <b>read</b> my ticket")
    queued = writeback_jobs(stack)
    stack.run_jobs()
    [note] = notes_for(helpdesks, "48213")
    assert note["helpdesk"] == "zendesk"
    assert "Score: 2 (CSAT)" in note["text"] and "Nobody <b>read</b> my ticket" in note["text"]
    assert {"closeloop_csat_2", "closeloop_detractor"} <= set(note["tags"])
    [put] = [c for c in helpdesks.calls if c["method"] == "PUT"][-1:]
    assert put["path"] == "/api/v2/tickets/48213.json"
    assert put["body"]["ticket"]["comment"]["public"] is False
    assert put["headers"]["Authorization"].startswith("Basic ")

    # Every write-back job delivered again: no note more.
    for job in queued:
        jobs.enqueue(job)
    stack.run_jobs()
    assert len(notes_for(helpdesks, "48213")) == 1

    # The follow-up the detractor opened changes status: one note with its status and link.
    followup_id = f"fu_{survey_id}"
    ok(claim(api, followup_id, {"owner": "sam"}))
    stack.run_jobs()
    ok(patch(api, followup_id, {"status": "resolved", "note": "refunded"}))
    stack.run_jobs()
    texts = [n["text"] for n in notes_for(helpdesks, "48213")]
    assert len(texts) == 3
    assert "the follow-up is now claimed" in texts[1] and f"/v1/followups/{followup_id}" in texts[1]
    assert "the follow-up is now resolved" in texts[2]
    assert "closeloop_followup_resolved" in notes_for(helpdesks, "48213")[2]["tags"]
    assert stored_survey(survey_id).writeback_error is None


def test_an_unknown_ticket_shows_the_failure_on_the_survey_and_follow_up_and_the_response_stays(
        api, stack, clock, helpdesks):
    helpdesks.known_tickets = {"1"}
    survey_id, links = send_email_survey(api, stack, ticket={"helpdesk": "freshdesk", "id": "404404"})
    respond(api, clock, links[1])
    stack.run_jobs()
    shown = survey(api, survey_id)
    assert shown["status"] == "responded" and shown["score"] == 1
    assert "HTTP 404" in shown["writeback_error"]
    assert "HTTP 404" in ok(get(api, f"fu_{survey_id}"))["writeback_error"]
    assert helpdesks.notes == []
    # Refused: not tried again.
    assert len([c for c in helpdesks.calls if c["helpdesk"] == "freshdesk"]) == 1


def test_a_helpdesk_that_is_down_is_tried_again_with_backoff_and_then_written(api, stack, clock, helpdesks):
    survey_id, links = send_email_survey(api, stack, ticket={"helpdesk": "intercom", "id": "147"})
    helpdesks.fail_next = [503, 502]
    respond(api, clock, links[5])
    stack.run_jobs()
    [note] = notes_for(helpdesks, "147")
    assert note["helpdesk"] == "intercom" and note["tags"] == ["closeloop_csat_5"]
    assert [delay for _, delay in requested_delays(stack, "write_back") if delay] == [5, 10]
    reply = [c for c in helpdesks.calls if c["path"] == "/conversations/147/reply"][-1]
    assert reply["body"]["message_type"] == "note" and reply["headers"]["Intercom-Version"]
    assert survey(api, survey_id)["writeback_error"] is None  # shown while retrying, cleared once written


def test_a_helpdesk_still_down_after_the_last_attempt_shows_the_failure(api, stack, clock, helpdesks, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_WRITEBACK_MAX_ATTEMPTS", "2")
    reset_settings()
    survey_id, links = send_email_survey(api, stack, ticket=ZENDESK)
    helpdesks.fail_next = [500, 500, 500]
    respond(api, clock, links[4])
    stack.run_jobs()
    assert "gave up after 2 attempts" in survey(api, survey_id)["writeback_error"]
    assert survey(api, survey_id)["score"] == 4


def test_an_interaction_without_a_ticket_writes_nothing_back(api, stack, clock, helpdesks):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[1], comment="slow")
    stack.run_jobs()
    ok(claim(api, f"fu_{survey_id}", {"owner": "sam"}))
    stack.run_jobs()
    assert not writeback_jobs(stack)
    assert helpdesks.calls == []


@pytest.mark.parametrize("product, name, ticket", [
    ("zendesk", "zendesk-solved.json", {"helpdesk": "zendesk", "id": "48213"}),
    ("freshdesk", "freshdesk-resolved.json", {"helpdesk": "freshdesk", "id": "1207"}),
    ("intercom", "intercom-closed.json", {"helpdesk": "intercom", "id": "215467439203812"}),
])
def test_a_helpdesk_webhook_fills_in_its_ticket(api, stack, clock, monkeypatch, product, name, ticket):
    from tests.functional.integrations import test_helpdesk_webhooks as hooks

    for variable, value in (("ZENDESK_WEBHOOK_SECRET", hooks.ZENDESK_SECRET),
                            ("INTERCOM_CLIENT_SECRET", hooks.INTERCOM_SECRET),
                            ("FRESHDESK_WEBHOOK_SECRET", hooks.FRESHDESK_SECRET)):
        monkeypatch.setenv("CLOSELOOP_" + variable, value)
    reset_settings()
    payload = hooks.fixture(name)
    send = {"zendesk": lambda: hooks.zendesk(api, clock, payload),
            "freshdesk": lambda: hooks.freshdesk(api, payload),
            "intercom": lambda: hooks.intercom(api, clock, payload)}[product]
    answer = hooks.answer(send())
    assert survey(api, answer["survey_id"])["ticket"] == ticket


def test_a_response_withdrawn_as_a_sweep_is_noted_once_and_so_is_its_follow_up_closed_as_automated(
        api, stack, clock, helpdesks, monkeypatch):
    from tests.functional.followups import test_sweeps as sweeps

    monkeypatch.setenv("CLOSELOOP_COMMENT_WAIT_SECONDS", str(sweeps.LOCAL_COMMENT_WAIT))
    reset_settings()
    stack.quiet_rule()
    survey_id, links = send_email_survey(api, stack, survey="nps", ticket=ZENDESK)
    delayed = sweeps.DelayedQueue(stack)
    sweeps.sweep(api, delayed, {0: links[0]}, linger=12)  # counted, alerted: a follow-up opens
    sweeps.sweep(api, delayed, {s: links[s] for s in range(1, 11)}, linger=12)  # the fourth score shows the sweep
    delayed.drain()
    for job in writeback_jobs(stack):  # every write-back delivered once more: nothing new
        jobs.enqueue(job)
    stack.run_jobs()

    notes = notes_for(helpdesks, "48213")
    withdrawn = [n for n in notes if "withdrawn" in n["text"]]
    automated = [n for n in notes if "the follow-up is now automated" in n["text"]]
    assert len(withdrawn) == 1 and "closeloop_withdrawn" in withdrawn[0]["tags"]
    assert len(automated) == 1 and "closeloop_followup_automated" in automated[0]["tags"]
    assert survey(api, survey_id)["score"] is None and survey(api, survey_id)["writeback_error"] is None
