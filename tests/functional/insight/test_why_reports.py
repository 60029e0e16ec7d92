"""Why in the reports: GET /v1/reports/summary by reason and by theme (each one's share of the
range's responses and the score of the responses that carry it), FCR in every group of every
summary, and the dashboard overview's "Why" panel against the period before. Responses are written
through the product's own counted write, on the days of tests/storage/insight (T0: 2026-11-24)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib import why
from chalicelib.insight.reports import wilson_interval
from chalicelib.platform import settings as config
from tests.functional.insight.test_dashboard import get, html
from tests.storage.insight.test_report_counters import T0, scheduled, send

DAY = T0.date().isoformat()


def respond(repos, score, comment=None, resolved=None, reasons=None, agent="agt_7", at=T0):
    """A CSAT survey sent at `at` and answered a minute later; the survey as stored."""
    survey = send(repos, scheduled(agent=agent, at=at), at)
    repos.record_response(survey, None, score, comment, at + timedelta(minutes=1), resolved, reasons)
    return repos.surveys.get(survey.survey_id)


def summary(api, group_by, first=DAY, last=DAY, kind="csat") -> dict:
    response = api.http.get(f"/v1/reports/summary?survey={kind}&from={first}&to={last}&group_by={group_by}",
                            headers=api.headers)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def rounded(interval) -> list[float]:
    return [round(x, 4) for x in interval]


@pytest.fixture
def four(api, repos):
    """Four answers of T0's day: two give "waited", one is happy, one gives no reason."""
    return [respond(repos, 1, "I waited a week for my refund", False, ["waited", "not_solved"]),
            respond(repos, 2, None, False, ["waited"], agent="agt_8"),
            respond(repos, 5, "Thank you, great help", True, []),
            respond(repos, 3, None, None, [])]


def test_by_reason_every_offered_reason_with_its_share_score_and_fcr(api, four):
    body = summary(api, "reason")
    assert (body["group_by"], body["responses"]) == ("reason", 4)
    groups = {g["key"]: g for g in body["groups"]}
    assert [g["key"] for g in body["groups"]] == why.stage_reasons()  # zero-count ones too, in the stage's order
    waited = groups["waited"]
    assert (waited["label"], waited["responses"], waited["share"]) == ("Waited too long", 2, 0.5)
    assert waited["share_ci95"] == rounded(wilson_interval(2, 4))
    assert (waited["csat"], waited["distribution"]["1"], waited["distribution"]["2"]) == (0.0, 1, 1)
    assert waited["fcr"] == {"answered": 2, "resolved": 0, "rate": 0.0, "ci95": rounded(wilson_interval(0, 2))}
    assert (waited["sent"], waited["opened"]) == (None, None)  # a send carries no reason
    assert groups["not_solved"]["share"] == 0.25
    assert (groups["other"]["responses"], groups["other"]["share"], groups["other"]["csat"],
            groups["other"]["fcr"]) == (0, 0.0, None, None)


def test_a_reason_the_stage_no_longer_offers_still_shows_after_the_offered_ones(api, four, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_REASONS", "other,waited")
    config.reset_settings()
    body = summary(api, "reason")
    assert [(g["key"], g["responses"]) for g in body["groups"]] == [("other", 0), ("waited", 2), ("not_solved", 1)]
    assert body["groups"][2]["label"] == why.reason_label("not_solved")


def test_by_theme_every_theme_of_the_taxonomy_with_the_share_of_the_comments_that_speak_of_it(api, four):
    body = summary(api, "theme")
    assert body["responses"] == 4
    expected = {key: [s for s in four if key in s.themes] for key in why.theme_keys()}
    assert [g["key"] for g in body["groups"]] == why.theme_keys()
    assert any(expected.values())  # the tagger found something in the comments
    for group in body["groups"]:
        carriers = expected[group["key"]]
        assert (group["label"], group["responses"]) == (why.theme_label(group["key"]), len(carriers))
        assert group["share"] == round(len(carriers) / 4, 4)
        assert group["csat"] == (round(100 * sum(s.score >= 4 for s in carriers) / len(carriers), 1)
                                 if carriers else None)


def test_fcr_is_in_every_group_of_every_summary_and_null_where_nobody_answered(api, four):
    answered_all = {"answered": 3, "resolved": 1, "rate": 0.3333, "ci95": rounded(wilson_interval(1, 3))}
    for group_by in ("all", "day", "team", "channel"):
        (group,) = summary(api, group_by)["groups"]
        assert group["fcr"] == answered_all, group_by
    agents = {g["key"]: g["fcr"] for g in summary(api, "agent")["groups"]}
    assert agents["agt_8"] == {"answered": 1, "resolved": 0, "rate": 0.0, "ci95": rounded(wilson_interval(0, 1))}
    assert agents["agt_7"]["answered"] == 2
    earlier = (T0 - timedelta(days=3)).date().isoformat()
    assert summary(api, "all", earlier, earlier)["groups"][0]["fcr"] is None  # no answers that day
    assert summary(api, "all")["responses"] == 4


def test_an_unknown_grouping_is_a_400_naming_it_and_its_choices(api):
    response = api.http.get(f"/v1/reports/summary?survey=csat&from={DAY}&to={DAY}&group_by=mood", headers=api.headers)
    assert response.status_code == 400
    (problem,) = json.loads(response.body)["fields"]
    assert problem["field"] == "group_by" and "'reason'" in problem["message"] and "'theme'" in problem["message"]


# --- the dashboard's why panel -----------------------------------------------------------------

@pytest.fixture
def cookie(api):
    from chalicelib.leads import allowed_list as leads
    from chalicelib.leads import sessions

    value, _session = sessions.start_session(leads.add_lead("lead@example.com", name="Robin Lead", owner="robin"))
    return value


def why_section(page: str) -> str:
    start = page.index('<section class="card wide" aria-labelledby="why-title" id="why">')
    return page[start:page.index("</section>", start)]


def test_the_overview_shows_why_against_the_day_before(api, repos, cookie):
    before = T0 - timedelta(days=1)
    for _ in range(4):  # the day before: all resolved, nobody waited
        respond(repos, 5, None, True, [], at=before)
    for reasons in (["waited"], ["waited"], ["waited", "<b>legacy</b>"], []):
        respond(repos, 1, None, False, reasons)
    panel = why_section(html(get(api, "/dashboard", cookie, survey="csat", **{"from": DAY, "to": DAY})))

    assert '<h2 id="why-title">Why</h2>' in panel
    # FCR 0% (0 of 4) against 100%: intervals [0, 49%] and [51%, 100%] do not overlap.
    assert "0.0%</span>" in panel and "0 of 4 who answered" in panel and "-100.0 points" in panel
    fcr_line = panel[panel.index('<p class="fcr-line">'):panel.index("</p>", panel.index('<p class="fcr-line">'))]
    assert "not a significant change" not in fcr_line
    # "Waited too long": 75% of responses, none the day before; 3 of 4 against 0 of 4 overlap.
    row = panel[panel.index("Waited too long"):]
    row = row[:row.index("</tr>")]
    assert "75.0%" in row and "+75.0 points" in row and "(not a significant change)" in row
    # A stored key no longer offered shows as itself, escaped.
    assert "&lt;b&gt;legacy&lt;/b&gt;" in panel and "<b>legacy" not in panel
    assert f"Changes are against {before.date().isoformat()} to {before.date().isoformat()}" in panel


def test_the_overview_says_when_nobody_answered_resolved_and_nothing_was_ticked(api, repos, cookie):
    respond(repos, 4)
    panel = why_section(html(get(api, "/dashboard", cookie, survey="csat", **{"from": DAY, "to": DAY})))
    assert 'Nobody answered "Was your issue resolved?" in this range.' in panel
    assert panel.count("None in this range.") == 2


# --- the dashboard's agents and teams -----------------------------------------------------------

def person_row(page: str, name: str) -> str:
    start = page.index(f'<th scope="row">{name}</th>')
    return page[start:page.index("</tr>", start)]


def test_agents_and_teams_show_each_groups_fcr_with_its_interval_or_a_dash(api, repos, four, cookie):
    respond(repos, 4, None, None, [], agent="agt_9")  # nobody of agt_9 answered "resolved?"
    agents = {g["key"]: g["fcr"] for g in summary(api, "agent")["groups"]}
    page = html(get(api, "/dashboard/people", cookie, survey="csat", **{"from": DAY, "to": DAY}))

    assert '<th scope="col">FCR (95% interval)</th>' in page
    agt_7 = agents["agt_7"]  # 1 of 2 answered yes
    assert f"50.0% <span class=\"muted\">({100 * agt_7['ci95'][0]:.1f}% to {100 * agt_7['ci95'][1]:.1f}%), " \
           "1 of 2</span>" in person_row(page, "agt_7")
    assert "<td>0.0% " in person_row(page, "agt_8")
    assert person_row(page, "agt_9").endswith("<td>–</td>\n")  # the FCR column is the last
    assert '<td>33.3% <span class="muted">' in person_row(page, "billing")  # 1 of the team's 3 answers
