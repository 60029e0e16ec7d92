"""Why a detractor is unhappy, wherever a lead meets the response: the alert (SNS text, Slack blocks,
the webhook's JSON keys), the follow-up (API), and routing rules by theme or reason."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chalicelib.followups.lifecycle import followup_id_for
from tests.functional.helpers import choose_path, confirm, open_id_in, open_page, send_email_survey, submit_form
from tests.repos import Repositories

REFUND = "I waited a week for my refund <b>*now*</b>"


@pytest.fixture(autouse=True)
def _asks_resolved(monkeypatch):
    from chalicelib.platform import settings as config

    monkeypatch.setenv("CLOSELOOP_ASK_RESOLVED", "true")
    config.reset_settings()


def answer_why(api, clock, link, reasons, resolved, comment):
    """A person confirms a score, then posts the page's form with reasons, the resolved answer and a comment."""
    page = open_page(api, link)
    clock.advance(3)
    assert json.loads(confirm(api, link, page).body)["recorded"] is True
    clock.advance(5)
    fields = [("open_id", open_id_in(page.body.decode())), ("score", link.rsplit("/", 1)[1]), ("reason", ""),
              *(("reason", key) for key in reasons), ("resolved", resolved), ("comment", comment)]
    thanks = submit_form(api, choose_path(link), fields)
    assert thanks.status_code == 200, thanks.body


def routing(monkeypatch, config: dict):
    from chalicelib.followups import routing as module
    from chalicelib.platform import settings

    monkeypatch.setenv("CLOSELOOP_ROUTING", json.dumps(config))
    monkeypatch.setenv("CLOSELOOP_OWNERS_ANY_ADDRESS", "true")
    settings.reset_settings()
    module._parse.cache_clear()


def test_the_alert_names_the_reasons_themes_and_resolved_in_each_destination(api, stack, webhook, clock):
    survey_id, links = send_email_survey(api, stack)
    answer_why(api, clock, links[1], ["waited", "not_solved"], "no", REFUND)
    stack.run_jobs()

    (alert,) = stack.alerts()
    text = alert["message"]
    assert "Reasons: Waited too long, Problem not solved" in text and "Resolved: no" in text
    assert "Themes: Refunds and billing, Waiting" in text
    (body,) = webhook.bodies
    assert (body["reasons"], body["themes"], body["resolved"]) == (["waited", "not_solved"], ["billing", "waiting"],
                                                                   False)
    blocks = json.dumps(body["blocks"])
    for needle in ("*Reasons*\\nWaited too long, Problem not solved", "*Themes*\\nRefunds and billing, Waiting",
                   "*Resolved*\\nno"):
        assert needle in blocks, needle
    # The comment stays the customer's text, escaped for Slack; the labels are ours.
    assert "&lt;b&gt;" in blocks and "<b>" not in blocks and "&lt;b&gt;" in body["text"]


def test_reasons_ticked_after_the_score_while_the_survey_is_busy_are_in_the_alert(api, stack, webhook, clock):
    """The decision waits for quiet: reasons posted after the first confirmation still make the alert."""
    survey_id, links = send_email_survey(api, stack)
    page = open_page(api, links[2])
    clock.advance(3)
    assert json.loads(confirm(api, links[2], page).body)["recorded"] is True
    clock.advance(5)  # well inside the comment wait
    thanks = submit_form(api, choose_path(links[2]), [("open_id", open_id_in(page.body.decode())), ("score", "2"),
                                                     ("reason", ""), ("reason", "attitude")])
    assert thanks.status_code == 200
    stack.run_jobs()
    assert "Reasons: Agent attitude" in stack.alerts()[0]["message"]
    assert webhook.bodies[0]["reasons"] == ["attitude"] and webhook.bodies[0]["resolved"] is None
    assert "Resolved:" not in stack.alerts()[0]["message"]  # not answered: not said


def test_the_followup_api_shows_why_in_the_list_and_the_detail(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    answer_why(api, clock, links[1], ["repeated"], "no", "third time I ask for a refund")
    stack.run_jobs()

    listed = json.loads(api.http.get("/v1/followups", headers=api.headers).body)["followups"]
    (item,) = [f for f in listed if f["survey_id"] == survey_id]
    assert (item["reasons"], item["themes"], item["resolved"]) == (["repeated"], ["billing", "repeated_contact"], False)
    detail = json.loads(api.http.get(f"/v1/followups/{followup_id_for(survey_id)}", headers=api.headers).body)
    assert (detail["reasons"], detail["themes"], detail["resolved"]) == (["repeated"], ["billing", "repeated_contact"],
                                                                         False)
    assert (detail["survey"]["reasons"], detail["survey"]["themes"], detail["survey"]["resolved"]) == (
        ["repeated"], ["billing", "repeated_contact"], False)


def test_a_rule_routes_a_billing_theme_to_the_billing_teams_owner_and_deadline(api, stack, clock, monkeypatch):
    routing(monkeypatch, {"default": {"owners": ["ann"], "sla_hours": 24},
                          "teams": {"money": {"owners": ["bill"], "sla_hours": 4}},
                          "rules": [{"theme": "billing", "team": "money"}]})
    refund_id, links = send_email_survey(api, stack, interaction_id="zd-1")
    answer_why(api, clock, links[1], [], "no", "where is my refund")
    other_id, links = send_email_survey(api, stack, interaction_id="zd-2", customer={
        "id": "cus_20", "email": "bo@example.com", "name": "Bo", "locale": "en", "timezone": "UTC"})
    answer_why(api, clock, links[1], [], "no", "the app crashed")
    stack.run_jobs()

    refund, other = (Repositories().followups.get(followup_id_for(i)) for i in (refund_id, other_id))
    assert (refund.owner, refund.routed_team, refund.team) == ("bill", "money", "billing")
    assert (refund.due_at - refund.opened_at).total_seconds() == 4 * 3600
    assert (other.owner, other.routed_team) == ("ann", None)  # no rule matched: the default
    assert (other.due_at - other.opened_at).total_seconds() == 24 * 3600


def test_a_rule_with_theme_and_reason_needs_both(monkeypatch):
    from chalicelib.followups.routing import get_routing

    routing(monkeypatch, {"teams": {"quality": {}},
                          "rules": [{"theme": "attitude", "reason": "attitude", "team": "quality"}]})
    rules = get_routing()
    assert rules.team_for("support", ["attitude"], ["attitude"]) == "quality"
    assert rules.team_for("support", ["attitude"], []) == "support"
    assert rules.team_for("support", [], ["attitude"]) == "support"


@pytest.mark.parametrize("rules, named", [
    ([{"theme": "refunds", "team": "money"}], "unknown theme 'refunds'"),
    ([{"reason": "slow", "team": "money"}], "unknown reason 'slow'"),
    ([{"theme": "billing", "team": "nobody"}], "team 'nobody' is not one of teams"),
    ([{"team": "money"}], "a rule needs a theme, a reason or both"),
])
def test_a_routing_config_with_an_unknown_key_fails_when_read_naming_it(monkeypatch, rules, named):
    from chalicelib.followups.routing import get_routing

    routing(monkeypatch, {"teams": {"money": {}}, "rules": rules})
    with pytest.raises(ValidationError) as failure:
        get_routing()
    assert named in str(failure.value) and "rules" in str(failure.value)
