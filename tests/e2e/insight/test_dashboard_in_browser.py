"""A support lead in a real (headless) Chromium, against `python -m devstack --demo` (what `make run`
starts): signs in from the link in the outbox, opens every dashboard page, acts on a follow-up,
signs out. Screenshots of each page go to .cache/screenshots/ (git-ignored) for a person to look at.
"""
from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import ROOT
from tests.e2e.conftest import LocalStack

LEAD = "lead@example.com"  # the demo lead devstack --demo puts on the allowed list
SCREENSHOTS = ROOT / ".cache" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def demo_stack():
    stack = LocalStack("--demo")
    try:
        # Seeded in the background after the banner (15-40 s on a busy machine); its line says when.
        stack.wait_for(lambda: _seeded(stack), timeout=150, what="the demo data")
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def signed_in(demo_stack, browser):
    """A browser context signed in as the demo lead through the emailed link."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(demo_stack.app_url + "/dashboard")
    assert "/signin" in page.url  # signed out: the sign-in page, nothing else
    page.fill("input[name=email]", LEAD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your email")

    # The link's email is a queued job, and the demo's seeding leaves a couple of hundred jobs
    # before it on the local queue: polled for, with room for a busy machine.
    link = _signin_link(demo_stack.message_to(LEAD, timeout=90)["text"], demo_stack.app_url)
    page.goto(link)
    page.click("button[type=submit]")  # a visit alone spends nothing; the button signs in
    page.wait_for_url(re.compile(r".*/dashboard$"))
    yield page
    context.close()


def _seeded(stack) -> bool:
    output = stack.output()
    if "demo data: seeding failed" in output:
        raise AssertionError(output)
    return re.search(r"demo data: \d+ surveys", output) is not None


def _signin_link(text: str, app_url: str) -> str:
    match = re.search(re.escape(app_url) + r"/signin/[A-Za-z0-9_-]+\S*", text)
    assert match, text
    return match.group(0)


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=True)


def _api(stack, path: str, **params) -> dict:
    response = requests.get(stack.app_url + path, params=params, headers=stack.headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_overview_shows_the_reports_figures_with_charts_that_have_text(demo_stack, signed_in):
    page = signed_in
    page.goto(demo_stack.app_url + "/dashboard?survey=nps&days=30")
    today = page.locator("input[name=to]").input_value()
    first = page.locator("input[name=from]").input_value()
    report = _api(demo_stack, "/v1/reports/summary", survey="nps", **{"from": first, "to": today})["groups"][0]
    assert report["responses"] > 0
    assert page.locator(".headline .figure").inner_text() == str(report["nps"])
    assert f"{report['responses']} responses" in page.locator(".headline").inner_text()
    charts = page.locator("svg[role=img]")
    assert charts.count() >= 3  # trend, distribution, funnel
    for index in range(charts.count()):  # each names itself and says what it shows
        chart = charts.nth(index)
        assert chart.locator(":scope > title").text_content().strip() and chart.get_attribute("aria-labelledby")
    assert page.locator("details table").count() >= 3  # the same figures as tables
    _shot(page, "overview")

    page.set_viewport_size(PHONE)
    page.goto(demo_stack.app_url + "/dashboard?survey=csat&days=90")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    _shot(page, "overview-csat-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_overview_shows_why_with_fcr_reasons_and_themes_as_the_reports_give_them(demo_stack, signed_in):
    page = signed_in
    page.goto(demo_stack.app_url + "/dashboard?survey=csat&days=30")
    days = {"from": page.locator("input[name=from]").input_value(), "to": page.locator("input[name=to]").input_value()}
    panel = page.locator("section#why")
    assert panel.get_by_role("heading", name="Why", exact=True).is_visible()
    fcr = _api(demo_stack, "/v1/reports/summary", survey="csat", **days)["groups"][0]["fcr"]
    assert fcr and panel.locator(".fcr-line .figure").inner_text() == f"{round(fcr['rate'] * 100, 1)}%"
    assert f"{fcr['resolved']} of {fcr['answered']} who answered" in panel.locator(".fcr-line").inner_text()
    for group_by, name in (("reason", "Top reasons"), ("theme", "Top comment themes")):
        groups = _api(demo_stack, "/v1/reports/summary", survey="csat", group_by=group_by, **days)["groups"]
        top = sorted((g for g in groups if g["responses"]), key=lambda g: (-g["responses"], g["key"]))
        rows = panel.get_by_role("table", name=name).locator("tbody tr")  # named by its heading
        assert 1 <= rows.count() <= 5 and rows.count() == min(5, len(top))
        first = rows.first
        assert first.locator("th").inner_text() == top[0]["label"]
        assert first.locator("td").first.inner_text() == f"{round(top[0]['share'] * 100, 1)}%"
        assert "points" in first.inner_text() or "no figure" in first.inner_text()
    _shot(page, "overview-why")


def test_agents_and_teams_flag_the_scores_that_rest_on_few_answers(demo_stack, signed_in):
    page = signed_in
    page.goto(demo_stack.app_url + "/dashboard/people?survey=nps&days=90")
    rows = page.locator("table tbody tr")
    assert rows.count() >= 3
    assert page.locator(".flag", has_text="low sample (n=").count() >= 1
    _shot(page, "people")


def test_comments_are_shown_as_text_never_as_markup(demo_stack, signed_in):
    page = signed_in
    page.goto(demo_stack.app_url + "/dashboard/comments?days=90")
    comments = page.locator(".feed .comment")
    assert comments.count() > 0
    texts = comments.all_inner_texts()
    assert any("<b>" in text for text in texts)  # the demo's markup-looking comment, shown as typed
    assert page.locator(".feed .comment b").count() == 0
    page.select_option("select[name=survey]", "nps")  # detractors are defined per scale
    page.check("input[name=detractors]")
    page.click("form.filters button[type=submit]")
    scores = [int(s.split()[-1]) for s in page.locator(".feed .score").all_inner_texts()]
    assert scores and all(score <= 6 for score in scores)
    _shot(page, "comments")


def test_a_lead_claims_contacts_and_resolves_a_follow_up_from_the_board(demo_stack, signed_in):
    page = signed_in
    page.goto(demo_stack.app_url + "/dashboard/followups?tab=open")
    card = page.locator("article.card").first
    followup_id = card.get_attribute("id")
    _shot(page, "followups-open")
    card.locator("button", has_text="Claim").click()
    page.wait_for_selector("text=Done: the follow-up is claimed")
    claimed = _api(demo_stack, f"/v1/followups/{followup_id}")
    assert claimed["status"] == "claimed" and claimed["owner"] == "lead@example.com"  # owners are leads, by email
    assert claimed["history"][-1]["by"] == LEAD

    page.goto(demo_stack.app_url + "/dashboard/followups?tab=mine")
    card = page.locator(f"article[id='{followup_id}']")
    card.locator("input[name=note]").first.fill("Called, refund on its way")
    card.locator("button", has_text="Mark contacted").click()
    page.wait_for_selector("text=Done: the follow-up is contacted")
    page.locator(f"article[id='{followup_id}'] button", has_text="Resolve").click()
    page.wait_for_selector("text=Done: the follow-up is resolved")
    resolved = _api(demo_stack, f"/v1/followups/{followup_id}")
    assert resolved["status"] == "resolved"
    assert [entry["by"] for entry in resolved["history"][-3:]] == [LEAD, LEAD, LEAD]
    assert any(entry.get("note") == "Called, refund on its way" for entry in resolved["history"])

    page.goto(demo_stack.app_url + "/dashboard/followups?tab=overdue")
    assert page.locator(".overdue").count() >= 1  # the demo has late recoveries
    _shot(page, "followups-overdue")
    page.goto(demo_stack.app_url + f"/dashboard/followups/{followup_id}")
    assert "Called, refund on its way" in page.inner_text("main")
    _shot(page, "followup-history")


def test_after_signing_out_the_dashboard_shows_nothing(demo_stack, browser, signed_in):
    page = signed_in
    page.goto(demo_stack.app_url + "/dashboard")
    page.click("text=Sign out")
    page.wait_for_selector("text=You are signed out")
    for path in ("/dashboard", "/dashboard/comments", "/dashboard/followups"):
        page.goto(demo_stack.app_url + path)
        assert "/signin" in page.url
        assert page.locator(".feed, article.card, svg[role=img]").count() == 0
    _shot(page, "signed-out")
