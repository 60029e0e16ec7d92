"""Did the recovery work? A resolved follow-up re-surveys its customer once, after a delay; the
answer is recorded on the follow-up (never a new alert); /v1/followups/stats sums it all up."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from chalicelib.followups import lifecycle as followups
from chalicelib.followups.jobs import HandleResponse, SendResurvey
from chalicelib.followups.lifecycle import Change, followup_id_for
from chalicelib.followups.model import FollowUpStatus
from chalicelib.platform import clock as app_clock
from chalicelib.storage.table import ItemKey
from tests.conftest import reset_caches
from tests.functional.followup_helpers import open_followup
from tests.functional.helpers import (
    choose_path, confirm, deliver, fire_timers, links_in, open_id_in, open_page, path_of, requested_delays, score_links,
    send_email_survey, send_sms_survey, stored_items, submit_form, survey, take_jobs, timer_on,
)
from tests.repos import Repositories

DEFAULT_DELAY = 3 * 86400  # CLOSELOOP_RESURVEY_DELAY_SECONDS's default: 3 days


def detractor_followup(api, stack, link) -> str:
    """The customer opens a detractor score link and stays; the follow-up opens. Returns its id."""
    page = open_page(api, link)
    assert json.loads(confirm(api, link, page).body)["recorded"] is True
    stack.run_jobs()
    survey_id = link.split("/")[2]
    from chalicelib.surveys import tokens
    followup_id = followup_id_for(tokens.survey_id_of(survey_id))
    assert Repositories().followups.get(followup_id) is not None
    return followup_id


def resolve_via_api(api, followup_id, owner="sam"):
    claimed = api.http.post(f"/v1/followups/{followup_id}/claim", headers=api.headers,
                            body=json.dumps({"owner": owner}))
    assert claimed.status_code == 200, claimed.body
    resolved = api.http.patch(f"/v1/followups/{followup_id}", headers=api.headers,
                              body=json.dumps({"status": "resolved", "note": "refunded the double charge"}))
    assert resolved.status_code == 200, resolved.body
    return json.loads(resolved.body)


def resolve(followup_id):
    followups.change(followup_id, Change(status=FollowUpStatus.CLAIMED, owner="sam"), "sam")
    return followups.change(followup_id, Change(status=FollowUpStatus.RESOLVED), "sam")


@pytest.fixture(autouse=True)
def sam(api):
    """The lead follow-ups are claimed for here: an owner is a lead (followups/owners.py)."""
    from chalicelib.leads import add_lead

    return add_lead("sam@example.com", name="Sam", owner="sam")


def survey_emails(stack):
    """The surveys sent, not the owner's emails (followups/assignments.py)."""
    return [m for m in stack.emails() if m.message["X-Closeloop-Survey"]]


def emails_of(stack, survey_id):
    return [m for m in stack.emails() if m.message["X-Closeloop-Survey"] == survey_id]


def resurvey_timer(followup_id):
    """(when, the job) of the follow-up's re-survey timer, or None."""
    return timer_on(f"FOLLOWUP#{followup_id}", "FOLLOWUP")


def resurvey_jobs(stack):
    return [job for job in take_jobs(stack) if isinstance(job, SendResurvey)]


def run_resurvey(stack, clock, followup_id, delay=DEFAULT_DELAY):
    """Let the delay pass, let the schedule fire the timer and deliver its job; returns the re-survey's id."""
    clock.advance(delay)
    assert fire_timers()["timers_fired"] == 1
    (job,) = resurvey_jobs(stack)
    deliver(job)
    stack.run_jobs()  # its SendSurvey
    resurvey_id = Repositories().followups.get(followup_id).resurvey_id
    assert resurvey_id is not None
    return job, resurvey_id


# --- the re-survey -------------------------------------------------------------------------

def test_resolving_through_the_api_sends_one_resurvey_after_the_delay(api, stack, clock):
    original_id, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    resolve_via_api(api, followup_id)

    # One timer on the follow-up, however long the delay: nothing hops through the queue meanwhile.
    job = SendResurvey(followup_id=followup_id)
    assert resurvey_timer(followup_id) == (clock.now + timedelta(seconds=DEFAULT_DELAY), job)
    assert requested_delays(stack, "send_resurvey") == []

    clock.advance(DEFAULT_DELAY - 60)
    assert fire_timers()["timers_fired"] == 0 and resurvey_jobs(stack) == []
    deliver(job)  # a stray early delivery makes nothing
    assert Repositories().followups.get(followup_id).resurvey_id is None and len(survey_emails(stack)) == 1

    clock.advance(60)
    assert fire_timers()["timers_fired"] == 1  # within a minute of its time
    assert resurvey_jobs(stack) == [job] and fire_timers()["timers_fired"] == 0  # once
    deliver(job)
    stack.run_jobs()
    deliver(job)  # SQS delivers at least once: a second delivery makes nothing new
    stack.run_jobs()

    fu = Repositories().followups.get(followup_id)
    assert fu.resurvey_id and fu.resurvey_id != original_id and resurvey_timer(followup_id) is None
    assert [e.action for e in fu.history].count("resurvey") == 1
    assert len(survey_emails(stack)) == 2
    (mail,) = emails_of(stack, fu.resurvey_id)
    assert "ada@example.com" in mail.message["To"]
    resurvey = survey(api, fu.resurvey_id)
    assert resurvey["status"] == "sent" and resurvey["survey"] == "csat" and resurvey["channel"] == "email"
    assert resurvey["customer_id"] == "cus_19" and resurvey["team"] == "billing"
    assert resurvey["agent"] == {"id": "agt_7", "name": "Sam"}


def test_the_resurvey_email_says_it_follows_up_and_has_one_link_per_score(api, stack, clock):
    _, links = send_email_survey(api, stack, survey="nps")
    followup_id = detractor_followup(api, stack, links[3])
    resolve(followup_id)
    _, resurvey_id = run_resurvey(stack, clock, followup_id)

    (mail,) = emails_of(stack, resurvey_id)
    assert "resolved" in mail.subject.lower()
    text, html = mail.part("plain"), mail.part("html")
    for part in (text, html):
        assert "We followed up on your feedback" in part and "Was your issue resolved?" in part
    assert sorted(score_links(text)) == list(range(0, 11))
    for score, url in score_links(text).items():
        assert f'href="{url}"' in html


def test_a_resurvey_resolved_twice_or_delivered_twice_makes_one_resurvey(api, stack, clock):
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[2])
    resolve(followup_id)
    # Reopened and resolved again before the delay passed: the timer moves to the second resolve.
    clock.advance(3600)
    followups.change(followup_id, Change(status=FollowUpStatus.OPEN), "lead")
    assert resurvey_timer(followup_id) is None
    resolve(followup_id)
    assert resurvey_timer(followup_id)[0] == clock.now + timedelta(seconds=DEFAULT_DELAY)

    clock.advance(DEFAULT_DELAY)
    assert fire_timers()["timers_fired"] == 1
    jobs = resurvey_jobs(stack)
    for job in jobs + jobs + [SendResurvey(followup_id=followup_id)]:  # plus a hop queued before timers
        deliver(job)
    stack.run_jobs()

    resurveys = [i for i in stored_items(stack) if i["pk"]["S"].startswith("INTERACTION#resurvey:")]
    assert len(resurveys) == 1
    assert len(survey_emails(stack)) == 2  # the original survey and one re-survey


def test_a_resurvey_hop_queued_before_timers_moves_to_a_timer_and_resurveys_once(api, stack, clock):
    """A stage upgraded with a re-survey in flight: its follow-up has no resurvey_due_at yet and the
    old chain's next hop arrives early. It becomes the follow-up's timer instead of hopping on."""
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    resolve(followup_id)
    resolved_at = clock.now
    Repositories().table.update(ItemKey(f"FOLLOWUP#{followup_id}", "FOLLOWUP"),
                                "REMOVE resurvey_due_at, due_pk, due_sk")  # as resolved before timers
    clock.advance(900)
    deliver(SendResurvey(followup_id=followup_id))  # the hop
    assert take_jobs(stack) == []
    assert resurvey_timer(followup_id) == (resolved_at + timedelta(seconds=DEFAULT_DELAY),
                                           SendResurvey(followup_id=followup_id))
    run_resurvey(stack, clock, followup_id, delay=DEFAULT_DELAY - 900)
    assert len(survey_emails(stack)) == 2


def test_no_resurvey_when_resurveys_are_off(api, stack, clock, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_RESURVEY_ENABLED", "false")
    reset_caches()
    app_clock.set_now(clock.now)  # reset_caches lets the clock run; keep it frozen
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    resolve_via_api(api, followup_id)

    assert resurvey_timer(followup_id) is None
    clock.advance(DEFAULT_DELAY * 2)
    assert fire_timers()["timers_fired"] == 0
    stack.run_jobs()
    assert len(survey_emails(stack)) == 1 and Repositories().followups.get(followup_id).resurvey_id is None


def test_no_resurvey_when_the_followup_was_reopened_before_its_time(api, stack, clock):
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    resolve(followup_id)
    followups.change(followup_id, Change(status=FollowUpStatus.CLAIMED, owner="kim"), "lead")  # reopened
    assert resurvey_timer(followup_id) is None

    clock.advance(DEFAULT_DELAY)
    assert fire_timers()["timers_fired"] == 1  # kim's reminder (followups/assignments.py), no re-survey
    assert resurvey_jobs(stack) == []
    deliver(SendResurvey(followup_id=followup_id))  # a job that was on its way anyway
    stack.run_jobs()

    assert len(survey_emails(stack)) == 1
    assert Repositories().followups.get(followup_id).resurvey_id is None
    assert not [i for i in stored_items(stack) if i["pk"]["S"].startswith("INTERACTION#resurvey:")]


def test_only_a_change_to_resolved_sets_a_resurvey_timer(api, stack, clock):
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    followups.change(followup_id, Change(status=FollowUpStatus.CLAIMED, owner="sam"), "sam")
    followups.change(followup_id, Change(status=FollowUpStatus.CONTACTED), "sam")
    followups.change(followup_id, Change(status=FollowUpStatus.UNREACHABLE), "sam")
    assert resurvey_timer(followup_id) is None
    followups.change(followup_id, Change(status=FollowUpStatus.CLAIMED, owner="sam"), "sam")
    followups.change(followup_id, Change(status=FollowUpStatus.RESOLVED), "sam")
    due = clock.now + timedelta(seconds=DEFAULT_DELAY)
    clock.advance(60)
    followups.change(followup_id, Change(note="customer confirmed by phone"), "sam")  # still resolved
    assert resurvey_timer(followup_id)[0] == due


def test_the_delay_is_configurable(api, stack, clock, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_RESURVEY_DELAY_SECONDS", "20")
    reset_caches()
    app_clock.set_now(clock.now)
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    resolve(followup_id)
    due, _ = resurvey_timer(followup_id)
    assert abs(due - (clock.now + timedelta(seconds=20))) < timedelta(milliseconds=1)  # stored to the ms
    run_resurvey(stack, clock, followup_id, delay=20)
    assert len(survey_emails(stack)) == 2


# --- the outcome ---------------------------------------------------------------------------

def test_a_detractor_resurvey_answer_is_recorded_and_opens_no_followup_or_alert(api, stack, clock):
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    resolve(followup_id)
    _, resurvey_id = run_resurvey(stack, clock, followup_id)
    alerts_before = len(stack.alerts())
    (mail,) = emails_of(stack, resurvey_id)
    resurvey_links = {s: path_of(u) for s, u in score_links(mail.part("plain")).items()}

    page = open_page(api, resurvey_links[2])
    assert json.loads(confirm(api, resurvey_links[2], page).body)["recorded"] is True
    assert requested_delays(stack, "handle_response")[-1] == (0, 0)  # no comment wait: no alert to send
    stack.run_jobs()

    fu = Repositories().followups.get(followup_id)
    assert fu.resurvey_score == 2 and fu.recovered is False and fu.resurvey_resolved is None
    assert fu.status is FollowUpStatus.RESOLVED
    assert fu.history[-1].action == "resurveyed" and "still a detractor" in fu.history[-1].note
    assert Repositories().followups.get(followup_id_for(resurvey_id)) is None
    followup_items = [i for i in stored_items(stack) if i["pk"]["S"].startswith("FOLLOWUP#")]
    assert len(followup_items) == 1
    assert len(stack.alerts()) == alerts_before


def test_the_last_resurvey_answer_wins_with_the_resolved_answer_and_replays_change_nothing(api, stack, clock):
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    resolve(followup_id)
    _, resurvey_id = run_resurvey(stack, clock, followup_id)
    (mail,) = emails_of(stack, resurvey_id)
    link = path_of(score_links(mail.part("plain"))[2])

    page = open_page(api, link)
    html = page.body.decode()
    assert 'name="resolved"' in html and 'value="yes"' in html and 'value="no"' in html
    assert "Was your issue resolved?" in html
    confirm(api, link, page)
    stack.run_jobs()
    assert Repositories().followups.get(followup_id).recovered is False

    clock.advance(20)
    thanks = submit_form(api, choose_path(link), {"open_id": open_id_in(html), "score": "4", "resolved": "yes",
                                                   "comment": "Sorted now, thanks"})
    assert thanks.status_code == 200 and "Issue resolved: yes" in thanks.body.decode()
    (job,) = [j for j in take_jobs(stack) if isinstance(j, HandleResponse)]
    deliver(job)

    fu = Repositories().followups.get(followup_id)
    assert (fu.resurvey_score, fu.recovered, fu.resurvey_resolved) == (4, True, True)
    assert [e.action for e in fu.history].count("resurveyed") == 2
    assert "recovered" in fu.history[-1].note and "issue resolved: yes" in fu.history[-1].note

    deliver(job)  # a replay
    deliver(job.model_copy(update={"expected_version": 1}))  # the first answer's job, late
    again = Repositories().followups.get(followup_id)
    assert again.version == fu.version and again.history == fu.history
    view = survey(api, resurvey_id)
    assert (view["score"], view["resolved"], view["followup_id"]) == (4, True, followup_id)


def test_an_sms_resurvey_says_it_follows_up_and_its_page_asks_if_the_issue_was_resolved(api, stack, clock):
    from chalicelib.surveys import tokens

    original_id, link = send_sms_survey(api, stack)
    page = open_page(api, link)
    clock.advance(5)
    submitted = submit_form(api, link, {"open_id": open_id_in(page.body.decode()), "score": "1"})
    assert submitted.status_code == 200
    stack.run_jobs()
    followup_id = followup_id_for(original_id)
    resolve(followup_id)
    _, resurvey_id = run_resurvey(stack, clock, followup_id)

    texts = [text for _, text in stack.sms()]
    assert len(texts) == 2
    text = texts[1]
    from chalicelib.delivery import sms
    assert sms.septets(text) is not None and sms.septets(text) <= sms.SEGMENT_SEPTETS
    (resurvey_link,) = links_in(text)
    assert "resolved" in text.lower()
    assert tokens.survey_id_of(path_of(resurvey_link).split("/")[2]) == resurvey_id

    choose = open_page(api, path_of(resurvey_link)).body.decode()
    assert 'name="resolved"' in choose and "followed up on your feedback" in choose
    assert all(f'name="score" value="{s}"' in choose for s in range(1, 6))
    clock.advance(5)
    submit_form(api, path_of(resurvey_link), {"open_id": open_id_in(choose), "score": "5", "resolved": "no"})
    stack.run_jobs()
    fu = Repositories().followups.get(followup_id)
    assert (fu.resurvey_score, fu.recovered, fu.resurvey_resolved) == (5, True, False)


def test_a_first_survey_page_has_no_resolved_question(api, stack, clock):
    _, links = send_email_survey(api, stack)
    assert 'name="resolved"' not in open_page(api, links[4]).body.decode()


# --- stats ---------------------------------------------------------------------------------

def stats(api, **params):
    query = f"?{urlencode(params)}" if params else ""
    return api.http.get(f"/v1/followups/stats{query}", headers=api.headers)


def craft(at, status, *, first_contact=None, closed=None, due=None, resurvey_score=None, recovered=None):
    """A follow-up opened at `at`, then set to `status` with the given times (seconds after `at`)."""
    repos = Repositories()
    followup_id = open_followup(at)
    current = repos.followups.get(followup_id)
    updated = current.model_copy(update={
        "status": status, "owner": None if status is FollowUpStatus.OPEN else "sam",
        "first_contact_at": at + timedelta(seconds=first_contact) if first_contact is not None else None,
        "closed_at": at + timedelta(seconds=closed) if closed is not None else None,
        "due_at": due or current.due_at, "resurvey_score": resurvey_score, "recovered": recovered,
        "resurvey_id": "f" * 16 if resurvey_score is not None else None, "version": current.version + 1,
    })
    repos.followups.save(updated, current.version)
    return followup_id


def test_stats_count_statuses_medians_overdue_and_recovery_of_followups_opened_in_the_window(api, stack, clock):
    now = clock.now
    start, end = now - timedelta(days=10), now - timedelta(hours=1)
    base = now - timedelta(days=5)
    later = now + timedelta(days=1)
    S = FollowUpStatus
    craft(base, S.OPEN, due=base + timedelta(days=1))                        # overdue
    craft(base + timedelta(hours=1), S.CLAIMED, due=later)
    craft(base + timedelta(hours=2), S.CONTACTED, first_contact=600, due=later)
    craft(base + timedelta(hours=3), S.RESOLVED, first_contact=1200, closed=3600, resurvey_score=5, recovered=True)
    craft(base + timedelta(hours=4), S.RESOLVED, first_contact=1800, closed=7200, resurvey_score=1,
          recovered=False)
    craft(base + timedelta(hours=5), S.RESOLVED, first_contact=2400, closed=10800)
    craft(base + timedelta(hours=6), S.UNREACHABLE, closed=100)
    craft(start, S.OPEN, due=later)                                          # at `from`: counted
    craft(end, S.OPEN, due=base)                                             # at `to`: not counted
    craft(start - timedelta(seconds=1), S.RESOLVED, first_contact=1, closed=1, resurvey_score=5, recovered=True)

    response = stats(api, **{"from": app_clock.iso(start), "to": app_clock.iso(end)})
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {
        "from": app_clock.iso(start), "to": app_clock.iso(end), "total": 8,
        "by_status": {"open": 2, "claimed": 1, "contacted": 1, "resolved": 3, "unreachable": 1, "automated": 0},
        "median_time_to_first_contact_seconds": 1500,
        "median_time_to_resolution_seconds": 7200,
        "overdue": 1,
        "recovery": {"resolved": 3, "resurveyed": 2, "recovered": 1, "rate": 0.5},
    }


def test_stats_of_an_empty_window_have_null_medians_and_rate(api, stack, clock):
    body = json.loads(stats(api, **{"from": "2020-01-01", "to": "2020-02-01"}).body)
    assert body["from"] == "2020-01-01T00:00:00.000Z" and body["to"] == "2020-02-01T00:00:00.000Z"
    assert body["total"] == 0 and body["overdue"] == 0 and set(body["by_status"].values()) == {0}
    assert body["median_time_to_first_contact_seconds"] is None and body["median_time_to_resolution_seconds"] is None
    assert body["recovery"] == {"resolved": 0, "resurveyed": 0, "recovered": 0, "rate": None}


def test_stats_default_to_the_last_30_days_and_accept_offsets(api, stack, clock):
    now = clock.now
    craft(now - timedelta(days=29), FollowUpStatus.OPEN)
    craft(now - timedelta(days=31), FollowUpStatus.OPEN)
    body = json.loads(stats(api).body)
    assert body["to"] == app_clock.iso(now) and body["from"] == app_clock.iso(now - timedelta(days=30))
    assert body["total"] == 1
    # "+02:00" in a query string must be encoded; left unencoded it arrives as " 02:00" and still works.
    with_offset = json.loads(stats(api, **{"from": "2026-11-24T12:00:00+02:00", "to": "2026-11-25"}).body)
    assert with_offset["from"] == "2026-11-24T10:00:00.000Z"
    raw = api.http.get("/v1/followups/stats?from=2026-11-24T12:00:00+02:00&to=2026-11-25", headers=api.headers)
    assert json.loads(raw.body)["from"] == "2026-11-24T10:00:00.000Z"


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-11-25", "to": "2026-11-24"}, "from"),
    ({"from": "2026-11-24T10:00:00Z", "to": "2026-11-24T10:00:00Z"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"from": "2026-02-30"}, "from"),
    ({"to": "2026-11-24T10:00:00"}, "to"),
    ({"from": "2025-01-01", "to": "2026-01-03"}, "to"),
    ({"from": "2000-01-01"}, "from"),
])
def test_stats_refuse_a_bad_window_naming_the_field(api, stack, clock, params, field):
    response = stats(api, **params)
    assert response.status_code == 400, response.body
    body = json.loads(response.body)
    assert [f["field"] for f in body["fields"]] == [field]


def test_stats_need_the_api_key(api, stack):
    assert api.http.get("/v1/followups/stats").status_code in (401, 403)
    assert api.http.get("/v1/followups/stats", headers={"Authorization": "Bearer nope"}).status_code in (401, 403)


def test_stats_is_its_own_route_not_a_followup_id(api, stack, clock):
    """API Gateway and chalice's local router prefer the literal /v1/followups/stats over
    /v1/followups/{followup_id}; the test client (the same router as chalice local) proves it."""
    from chalice.local import RouteMatcher

    import app as app_module

    matcher = RouteMatcher(list(app_module.app.routes))
    assert matcher.match_route("/v1/followups/stats").route == "/v1/followups/stats"
    assert matcher.match_route("/v1/followups/stats?from=2026-01-01").route == "/v1/followups/stats"
    assert matcher.match_route("/v1/followups/fu_0123456789abcdef").route == "/v1/followups/{followup_id}"
    response = stats(api)
    assert response.status_code == 200 and "by_status" in json.loads(response.body)
    assert set(app_module.app.routes["/v1/followups/stats"]) == {"GET"}


def test_recovery_end_to_end_shows_in_stats(api, stack, clock):
    """Done-when: a lead claims and resolves through the API, the re-survey arrives, stats report it."""
    start = clock.now - timedelta(minutes=1)
    _, links = send_email_survey(api, stack)
    followup_id = detractor_followup(api, stack, links[1])
    resolve_via_api(api, followup_id)
    _, resurvey_id = run_resurvey(stack, clock, followup_id)
    (mail,) = emails_of(stack, resurvey_id)
    link = path_of(score_links(mail.part("plain"))[5])
    confirm(api, link, open_page(api, link))
    stack.run_jobs()

    body = json.loads(stats(api, **{"from": app_clock.iso(start), "to": app_clock.iso(clock.now)}).body)
    assert body["total"] == 1 and body["by_status"]["resolved"] == 1
    assert body["recovery"] == {"resolved": 1, "resurveyed": 1, "recovered": 1, "rate": 1.0}
    assert body["median_time_to_resolution_seconds"] is not None and body["overdue"] == 0
    detail = json.loads(api.http.get(f"/v1/followups/{followup_id}", headers=api.headers).body)
    assert detail["status"] == "resolved"
