"""`make deploy` refuses a stage whose reasons or theme taxonomy would fail a customer's request,
before it touches AWS; the themes model's IAM statement goes to the stage that chose one only."""
from __future__ import annotations

import argparse
import json

import pytest

from chalicelib.why.taxonomy import PACKAGE
from ops import bootstrap, checks, policies


def test_a_deployable_stage_has_no_problems():
    assert checks.stage_problems({"CLOSELOOP_REASONS": "waited,other"}) == []


def test_unknown_reasons_and_bad_settings_are_named():
    assert checks.stage_problems({"CLOSELOOP_REASONS": "waited,lost_parcel"}) == [
        "CLOSELOOP_REASONS: unknown reason 'lost_parcel'; known: waited, not_solved, repeated, attitude, product, "
        "other, transferred, unclear, hard_to_reach"]
    (problem,) = checks.stage_problems({"CLOSELOOP_THEMES_MODEL": "gpt"})
    assert problem.startswith("CLOSELOOP_THEMES_MODEL:")


def test_routing_rules_are_checked_against_the_stages_own_taxonomy():
    path = PACKAGE / "why" / "taxonomy-shipping-test.json"
    path.write_text(json.dumps({"languages": ["en"], "themes": [
        {"key": "shipping", "name": "Shipping", "terms": {"en": ["parcel"]}}]}))
    try:
        routing = json.dumps({"teams": {"logistics": {"owners": []}},
                              "rules": [{"theme": "shipping", "team": "logistics"}]})
        stage = {"CLOSELOOP_ROUTING": routing, "CLOSELOOP_THEMES_TAXONOMY": "why/taxonomy-shipping-test.json"}
        assert checks.stage_problems(stage) == []
        # The default taxonomy has no "shipping"; a typo'd team or an unknown reason is named too.
        (problem,) = checks.stage_problems({"CLOSELOOP_ROUTING": routing})
        assert problem.startswith("CLOSELOOP_ROUTING: rules.0.theme: Value error, unknown theme 'shipping'")
        bad = json.dumps({"teams": {}, "rules": [{"reason": "lost", "team": "x"}]})
        (problem,) = checks.stage_problems({"CLOSELOOP_ROUTING": bad})
        assert problem.startswith("CLOSELOOP_ROUTING: rules.0.reason: Value error, unknown reason 'lost'")
    finally:
        path.unlink()


@pytest.fixture
def broken_taxonomy():
    path = PACKAGE / "why" / "taxonomy-broken-test.json"
    path.write_text(json.dumps({"languages": ["en"], "themes": [
        {"key": "billing", "name": "Billing", "terms": {"en": ["refund"]}, "patterns": {"en": ["refund[s"]}}]}))
    yield "why/taxonomy-broken-test.json"
    path.unlink()


def test_a_taxonomy_with_a_broken_pattern_is_named(broken_taxonomy):
    (problem,) = checks.stage_problems({"CLOSELOOP_THEMES_TAXONOMY": broken_taxonomy})
    assert problem.startswith("CLOSELOOP_THEMES_TAXONOMY: taxonomy-broken-test.json: themes[0] (billing): "
                              "patterns.en 'refund[s'")


def test_make_deploy_stops_before_any_aws_call(broken_taxonomy, tmp_path, monkeypatch):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"environment_variables": {}, "stages": {"dev": {"environment_variables": {
        "CLOSELOOP_THEMES_TAXONOMY": broken_taxonomy, "CLOSELOOP_REASONS": "waited,nope"}}}}))

    def no_aws(*args, **kwargs):
        raise AssertionError("AWS was called")

    monkeypatch.setattr(bootstrap, "Clients", no_aws)
    with pytest.raises(SystemExit) as stopped:
        bootstrap.main(argparse.Namespace(area="bootstrap", stage="dev", config=config, chalice=False))
    assert "stage dev is not deployable" in str(stopped.value)
    assert "CLOSELOOP_REASONS: unknown reason 'nope'" in str(stopped.value)
    assert "CLOSELOOP_THEMES_TAXONOMY" in str(stopped.value)


def _config(**variables) -> dict:
    config = json.loads(policies.CONFIG.read_text())
    config["stages"]["dev"]["environment_variables"].update(variables)
    return config


def _statement(policy: dict, sid: str):
    return next((statement for statement in policy["Statement"] if statement["Sid"] == sid), None)


def test_the_themes_model_is_granted_to_the_stage_and_function_that_call_it():
    assert all(_statement(policy, "ThemesModel") is None for policy in policies.render("dev", _config()).values())
    bedrock = policies.render("dev", _config(CLOSELOOP_THEMES_MODEL="bedrock",
                                             CLOSELOOP_THEMES_BEDROCK_MODEL="anthropic.claude-3-haiku-20240307-v1:0"))
    assert _statement(bedrock["handle_job"], "ThemesModel") == {
        "Sid": "ThemesModel", "Effect": "Allow", "Action": ["bedrock:InvokeModel"],
        "Resource": "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}
    assert _statement(bedrock["api_handler"], "ThemesModel") is None
    comprehend = policies.render("dev", _config(CLOSELOOP_THEMES_MODEL="comprehend"))["handle_job"]
    assert _statement(comprehend, "ThemesModel") == {
        "Sid": "ThemesModel", "Effect": "Allow", "Resource": "*",
        "Action": ["comprehend:DetectSentiment"]}
