"""The leads' dashboard through chalice's test client: surveys sent and answered through the real
API and pages, a lead signed in with a session cookie, then every page, its figures (as the report
API computes them), escaping of comments, filters, and the follow-up board's forms."""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest

from tests.functional.followup_helpers import open_followup, stored
from tests.functional.helpers import choose_path, confirm, open_id_in, open_page, send_email_survey, submit_form

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def lead(api):
    from chalicelib.leads import allowed_list as leads

    return leads.add_lead("lead@example.com", name="Robin Lead", owner="robin")


@pytest.fixture
def cookie(lead):
    from chalicelib.leads import sessions

    value, _session = sessions.start_session(lead)
    return value


def csrf(cookie: str) -> str:
    from chalicelib.leads import sessions
    from tests.repos import Repositories

    return Repositories().leads.get_session(sessions.hash_value(cookie)).csrf_token


def get(api, path, cookie=None, **params):
    query = f"?{urlencode(params)}" if params else ""
    return api.http.get(path + query, headers={"Cookie": f"closeloop_session={cookie}"} if cookie else {})


def post(api, path, fields: dict, cookie=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = f"closeloop_session={cookie}"
    return api.http.post(path, headers=headers, body=urlencode(fields).encode())


def html(response, status=200) -> str:
    assert response.status_code == status, (response.status_code, response.body[:2000])
    body = response.body.decode()
    assert "Traceback" not in body
    return body


def answered(api, stack, clock, n: int, score: int, comment=None, kind="nps", agent=None, team="billing"):
    """Send survey n by email and answer it on its page (with a comment, through the page's form)."""
    overrides = {"interaction_id": f"zd-{n}", "survey": kind, "team": team,
                 "customer": {"id": f"cus_{n}", "email": f"c{n}@example.com", "name": f"Customer{n} Smith"}}
    if agent:
        overrides["agent"] = agent
    _survey_id, links = send_email_survey(api, stack, **overrides)
    page = open_page(api, links[score])
    if comment is None:
        assert json.loads(confirm(api, links[score], page).body)["recorded"] is True
    else:
        fields = {"score": str(score), "comment": comment, "open_id": open_id_in(page.body.decode())}
        assert submit_form(api, choose_path(links[score]), fields).status_code == 200
    clock.advance(120)


def report(api, clock, kind="nps", group_by="all") -> dict:
    today = clock.now.date().isoformat()
    response = api.http.get(f"/v1/reports/summary?survey={kind}&from={today}&to={today}&group_by={group_by}",
                            headers=api.headers)
    return json.loads(response.body)["groups"]


# --- signed out ------------------------------------------------------------------------------

def test_signed_out_every_page_and_form_sends_to_sign_in(api, stack):
    for path in ("/dashboard", "/dashboard/people", "/dashboard/comments", "/dashboard/followups"):
        response = get(api, path)
        assert response.status_code == 303 and "/signin" in response.headers["Location"], path
    response = post(api, "/dashboard/followups/fu_x", {"action": "claim", "csrf": "x"})
    assert response.status_code == 303 and "/signin" in response.headers["Location"]


# --- overview --------------------------------------------------------------------------------

def test_the_overview_shows_the_reports_nps_with_its_interval_and_a_low_sample_note(api, stack, clock, cookie):
    for n, score in enumerate((10, 9, 3), start=1):
        answered(api, stack, clock, n, score)
    (group,) = report(api, clock)

    response = get(api, "/dashboard", cookie)
    body = html(response)
    assert f'<span class="figure">{group["nps"]}</span>' in body
    assert f'{group["ci95"][0]} to {group["ci95"][1]}' in body and "3 responses" in body
    assert "Low sample (n=3)" in body
    assert body.count('role="img"') == 3 and "the figures as a table" in body
    assert re.search(r"<th scope=\"row\">Sent</th><td class=\"num\">3</td>", body)
    assert re.search(rf"<th scope=\"row\">Opened</th><td class=\"num\">{group['opened']}</td>", body)
    assert "Signed in as <strong>Robin Lead</strong>" in body and f'name="csrf" value="{csrf(cookie)}"' in body
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<style nonce="{nonce}">' in body and "<script" not in body
    assert response.headers["Cache-Control"] == "no-store"


def test_csat_over_ninety_days_is_drawn_by_week(api, stack, clock, cookie):
    answered(api, stack, clock, 1, 5, kind="csat")
    body = html(get(api, "/dashboard", cookie, survey="csat", days="90"))
    assert "Trend by week" in body and "week of" in body
    assert '<span class="figure">100.0</span>' in body


@pytest.mark.parametrize("params, field", [({"from": "2026-13-01"}, "from"), ({"days": "12"}, "days"),
                                           ({"survey": "ces"}, "survey"),
                                           ({"from": "2026-11-20", "to": "2026-11-01"}, "from")])
def test_bad_input_is_a_400_page_naming_the_parameter(api, stack, cookie, params, field):
    body = html(get(api, "/dashboard", cookie, **params), 400)
    assert re.search(rf'<p class="error" role="alert">{field}: ', body), body


# --- agents and teams ------------------------------------------------------------------------

def test_agents_and_teams_show_names_intervals_and_a_low_sample_flag(api, stack, clock, cookie):
    answered(api, stack, clock, 1, 10, agent={"id": "agt_7", "name": "Sam"})
    answered(api, stack, clock, 2, 2, agent={"id": "agt_7", "name": "Sam"})
    answered(api, stack, clock, 3, 9, agent={"id": "agt_9", "name": "Kim"}, team="sales")
    agents = {g["key"]: g for g in report(api, clock, group_by="agent")}

    body = html(get(api, "/dashboard/people", cookie))
    assert 'Sam <span class="muted">(agt_7)</span>' in body and 'Kim <span class="muted">(agt_9)</span>' in body
    ci = agents["agt_7"]["ci95"]
    assert f'<td class="num">{agents["agt_7"]["nps"]}</td>\n<td>{ci[0]} to {ci[1]}</td>' in body
    assert "low sample (n=2)" in body and "low sample (n=1)" in body
    assert "billing" in body and "sales" in body


# --- comments --------------------------------------------------------------------------------

def test_comments_are_escaped_and_filtered(api, stack, clock, cookie):
    answered(api, stack, clock, 1, 1, comment=SCRIPT, kind="csat")
    answered(api, stack, clock, 2, 5, comment=FORMULA, kind="csat", agent={"id": "agt_9", "name": "Kim"})
    answered(api, stack, clock, 3, 4, kind="csat")  # no comment: not in the feed

    body = html(get(api, "/dashboard/comments", cookie))
    assert SCRIPT not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;click&#34;)" in body
    assert body.index("HYPERLINK") < body.index("&lt;script&gt;")  # newest first
    assert body.count('<li class="card">') == 2

    detractors = html(get(api, "/dashboard/comments", cookie, survey="csat", detractors="true"))
    assert "&lt;script&gt;" in detractors and "HYPERLINK" not in detractors
    by_agent = html(get(api, "/dashboard/comments", cookie, agent="agt_9"))
    assert "HYPERLINK" in by_agent and "&lt;script&gt;" not in by_agent
    assert "No comments match" in html(get(api, "/dashboard/comments", cookie, survey="nps"))
    assert "detractors: choose NPS or CSAT" in html(get(api, "/dashboard/comments", cookie, detractors="true"), 400)


def test_older_comments_page_on_by_cursor(api, stack, clock, cookie, monkeypatch):
    from chalicelib.insight import dashboard

    monkeypatch.setattr(dashboard, "COMMENTS_PER_PAGE", 1)
    answered(api, stack, clock, 1, 3, comment="first comment", kind="csat")
    answered(api, stack, clock, 2, 3, comment="second comment", kind="csat")
    body = html(get(api, "/dashboard/comments", cookie))
    assert "second comment" in body and "first comment" not in body
    older = re.search(r'href="(/dashboard/comments\?[^"]+)">Older', body).group(1).replace("&amp;", "&")
    page_two = html(api.http.get(older, headers={"Cookie": f"closeloop_session={cookie}"}))
    assert "first comment" in page_two and "second comment" not in page_two


# --- follow-ups board ------------------------------------------------------------------------

def act(api, cookie, followup_id, action, token=None, **fields):
    return post(api, f"/dashboard/followups/{followup_id}",
                {"action": action, "csrf": token or csrf(cookie), **fields}, cookie)


def test_claim_contact_resolve_through_the_board_as_the_lead(api, stack, clock, cookie):
    followup_id = open_followup(clock.now, comment=SCRIPT)
    board = html(get(api, "/dashboard/followups", cookie))
    assert f'action="/dashboard/followups/{followup_id}"' in board and "&lt;script&gt;alert(1)" in board
    assert SCRIPT not in board and "Ada" in board

    response = act(api, cookie, followup_id, "claim")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/dashboard/followups?tab=open&done=claimed")
    assert (stored(followup_id).status.value, stored(followup_id).owner) == ("claimed", "lead@example.com")
    mine = html(get(api, "/dashboard/followups", cookie, tab="mine", done="claimed"))
    assert "Done: the follow-up is claimed." in mine and followup_id in mine and "Mark contacted" in mine

    assert act(api, cookie, followup_id, "contact", note="called, left a message", tab="mine").status_code == 303
    assert act(api, cookie, followup_id, "resolve", tab="mine").status_code == 303
    followup = stored(followup_id)
    assert followup.status.value == "resolved"
    assert [(e.action, e.by) for e in followup.history[-3:]] == [
        ("claimed", "lead@example.com"), ("contacted", "lead@example.com"), ("resolved", "lead@example.com")]
    assert followup.history[-2].note == "called, left a message"
    detail = html(get(api, f"/dashboard/followups/{followup_id}", cookie))
    assert "called, left a message" in detail and "by lead@example.com" in detail


def test_a_wrong_csrf_token_is_refused_and_changes_nothing(api, stack, clock, cookie):
    followup_id = open_followup(clock.now)
    response = act(api, cookie, followup_id, "claim", token="not-the-token")
    assert response.status_code == 403
    assert stored(followup_id).status.value == "open" and stored(followup_id).version == 0


def test_a_refused_change_shows_the_board_with_the_reason(api, stack, clock, cookie):
    from chalicelib.followups import lifecycle as followups

    followup_id = open_followup(clock.now)
    followups.claim(followup_id, "kim", by="kim@example.com")
    body = html(act(api, cookie, followup_id, "claim"), 409)
    assert "Could not claim this follow-up: already claimed by kim." in body
    assert stored(followup_id).owner == "kim"

    other = open_followup(clock.now)
    assert "cannot go from open to resolved" in html(act(api, cookie, other, "resolve"), 409)


def test_unknown_follow_ups_and_bad_actions(api, stack, clock, cookie):
    html(act(api, cookie, "fu_nope", "claim"), 404)
    html(get(api, "/dashboard/followups/fu_nope", cookie), 404)
    followup_id = open_followup(clock.now)
    assert "action: " in html(act(api, cookie, followup_id, "delete"), 400)
    assert "tab: " in html(get(api, "/dashboard/followups", cookie, tab="everything"), 400)


def test_overdue_follow_ups_are_on_their_tab_and_highlighted(api, stack, clock, cookie):
    from datetime import timedelta

    late = open_followup(clock.now - timedelta(days=10), comment="late one")
    fresh = open_followup(clock.now, comment="fresh one")
    body = html(get(api, "/dashboard/followups", cookie, tab="overdue"))
    assert late in body and fresh not in body and '<span class="overdue">Overdue' in body


# --- cost ------------------------------------------------------------------------------------

def test_the_overview_reads_counters_not_responses(api, stack, clock, cookie):
    """One Query for the closed days and one per counter shard of each of the all, reason and theme
    counters (the range and the period before in one read), whatever the number of responses
    (docs/design.md, "Report counters")."""
    from chalicelib.insight import counters as aggregates
    from tests.repos import Repositories

    calls: list[str] = []

    def count(event_name, **_kwargs):
        calls.append(event_name.rsplit(".", 1)[-1])

    events = Repositories().table.db.meta.events
    events.register("before-call.dynamodb", count)
    try:
        answered(api, stack, clock, 1, 9)
        calls.clear()
        html(get(api, "/dashboard", cookie))
        few = list(calls)
        for n in range(2, 6):
            answered(api, stack, clock, n, 7)
        calls.clear()
        html(get(api, "/dashboard", cookie))
    finally:
        events.unregister("before-call.dynamodb", count)
    assert few.count("Query") == calls.count("Query") == 3 * (aggregates.SHARDS + 1)
    assert sorted(few) == sorted(calls)  # the session's reads, then the counters


def test_links_and_forms_keep_the_stage_path_of_api_gateways_own_host_name(api, cookie, monkeypatch):
    """Deployed without a custom domain the app lives under /<stage>/ (e.g. /api/dashboard): a link to
    /dashboard would leave it. Every link and form of a page starts with the stage's path."""
    from chalicelib.platform import edge

    # What edge.base_url answers behind API Gateway (the test client's requests carry no stage).
    monkeypatch.setattr(edge, "base_url", lambda request: "https://abc123.execute-api.us-east-1.amazonaws.com/api")
    for path in ("/dashboard", "/dashboard/comments", "/dashboard/followups"):
        body = html(get(api, path, cookie))
        targets = re.findall(r'(?:href|action)="([^"#]+)"', body)
        assert targets and all(target.startswith("/api/") for target in targets), targets
        assert "/api/signout" in targets and "/api/dashboard/people" in targets
