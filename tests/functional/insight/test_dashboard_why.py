"""Why on the leads' dashboard: the comments page's theme filters (a link per theme with its count
over the range, kept with the other filters), each comment's themes as tags, and the follow-up page
naming the reasons, themes and resolved answer."""
from __future__ import annotations

import re

import pytest

from chalicelib.followups.lifecycle import followup_id_for
from tests.functional.followups.test_why_surfaces import answer_why
from tests.functional.helpers import send_email_survey
from tests.functional.insight.test_dashboard import answered, get, html


@pytest.fixture
def cookie(api):
    """A signed-in lead's session cookie."""
    from chalicelib.leads import allowed_list as leads
    from chalicelib.leads import sessions

    value, _session = sessions.start_session(leads.add_lead("lead@example.com", name="Robin Lead", owner="robin"))
    return value


def test_theme_links_count_and_filter_the_comments_and_each_comment_shows_its_themes(api, stack, clock, cookie):
    answered(api, stack, clock, 1, 1, comment="Still waiting for my refund", kind="csat")
    answered(api, stack, clock, 2, 2, comment="The agent was rude <b>", kind="csat")
    answered(api, stack, clock, 3, 5, comment="Thank you, great help", kind="csat")

    body = html(get(api, "/dashboard/comments", cookie))
    assert 'href="/dashboard/comments?from=' in body
    chips = dict(re.findall(r'theme=([a-z_]+)[^"]*"[^>]*>[^<(]+\((\d+)\)', body))
    assert (chips["billing"], chips["waiting"], chips["attitude"], chips["praise"], chips["product_defect"]) == (
        "1", "1", "1", "1", "0")
    assert '<span class="flag theme">Refunds and billing</span>' in body and body.count('<li class="card">') == 3

    billing = html(get(api, "/dashboard/comments", cookie, theme="billing", survey="csat"))
    assert "Still waiting for my refund" in billing and "rude" not in billing and "Thank you" not in billing
    assert re.search(r'<a href="[^"]*survey=csat[^"]*theme=billing" aria-current="page">Refunds and billing', billing)
    assert '<option value="billing" selected>' in billing
    assert "The agent was rude &lt;b&gt;" in html(get(api, "/dashboard/comments", cookie, theme="attitude"))


def test_an_unknown_theme_is_a_400_page_naming_it(api, stack, cookie):
    body = html(get(api, "/dashboard/comments", cookie, theme="refunds"), 400)
    assert "theme" in body and "must be one of" in body


def test_the_followup_page_names_the_reasons_themes_and_resolved(api, stack, clock, cookie, monkeypatch):
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_ASK_RESOLVED", "true")
    config.reset_settings()
    survey_id, links = send_email_survey(api, stack)
    answer_why(api, clock, links[1], ["waited", "not_solved"], "no", "where is my refund")
    stack.run_jobs()

    body = html(get(api, f"/dashboard/followups/{followup_id_for(survey_id)}", cookie))
    assert "Reasons: Waited too long, Problem not solved" in body and "Resolved: no" in body
    assert '<span class="flag">Refunds and billing</span>' in body
    board = html(get(api, "/dashboard/followups", cookie, tab="open"))
    assert "Reasons: Waited too long, Problem not solved" in board
