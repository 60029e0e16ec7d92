"""Why in the responses API and CSV: reasons, themes and the resolved answer in each response and
row, filters by reason, theme and resolved, and bad keys refused naming the parameter."""
from __future__ import annotations

import json
from datetime import timedelta
from itertools import count

import pytest

from tests.functional.insight.test_responses_api import T0, export, fields_of, listing, ok, rows_of

_numbers = count(5000)


def why_response(at, *, score=2, comment=None, reasons=None, resolved=None) -> str:
    """A sent CSAT survey answered at `at` with reasons and the resolved answer, as the page writes it."""
    from chalicelib.surveys import tokens
    from chalicelib.surveys.model import Agent, Channel, Customer, Survey, SurveyStatus
    from chalicelib.surveys.scoring import SurveyKind
    from tests.repos import Repositories

    n = next(_numbers)
    sent = at - timedelta(hours=1)
    survey = Survey(survey_id=tokens.new_survey_id(), interaction_id=f"zd-{n}", kind=SurveyKind.CSAT,
                    channel=Channel.EMAIL, status=SurveyStatus.SENT, customer=Customer(id=f"cus_{n}", name="Ada"),
                    agent=Agent(id="agt_7", name="Sam"), team="billing", base_url="http://127.0.0.1:8000",
                    created_at=sent, send_at=sent, sent_at=sent, expires_at=at + timedelta(days=28))
    Repositories().surveys.create(survey)
    Repositories().record_response(survey, None, score, comment, at, resolved, reasons)
    return survey.survey_id


@pytest.fixture
def made(api, clock) -> dict[str, str]:
    clock.set(T0)
    return {
        "refund": why_response(T0 - timedelta(hours=1), comment="where is my refund", reasons=["waited"],
                               resolved=False),
        "rude": why_response(T0 - timedelta(hours=2), comment="the agent was rude", reasons=["attitude", "other"],
                             resolved=True),
        "silent": why_response(T0 - timedelta(hours=3), score=5),
    }


def test_each_response_and_row_carries_its_reasons_themes_and_resolved(api, made):
    by_id = {r["survey_id"]: r for r in ok(listing(api))["responses"]}
    assert (by_id[made["refund"]]["reasons"], by_id[made["refund"]]["themes"],
            by_id[made["refund"]]["resolved"]) == (["waited"], ["billing"], False)
    assert (by_id[made["rude"]]["reasons"], by_id[made["rude"]]["themes"]) == (["attitude", "other"], ["attitude"])
    assert (by_id[made["silent"]]["reasons"], by_id[made["silent"]]["themes"],
            by_id[made["silent"]]["resolved"]) == ([], [], None)
    rows = {row["survey_id"]: row for row in rows_of(export(api))}
    assert (rows[made["rude"]]["reasons"], rows[made["rude"]]["themes"], rows[made["rude"]]["resolved"]) == (
        "attitude other", "attitude", "true")
    assert (rows[made["silent"]]["reasons"], rows[made["silent"]]["resolved"]) == ("", "")


@pytest.mark.parametrize("params, expected", [
    ({"reason": "waited"}, {"refund"}),
    ({"reason": "other"}, {"rude"}),
    ({"reason": "transferred"}, set()),  # a known reason nobody ticked
    ({"theme": "billing"}, {"refund"}),
    ({"theme": "attitude", "reason": "attitude"}, {"rude"}),
    ({"resolved": "false"}, {"refund"}),
    ({"resolved": "true"}, {"rude"}),
])
def test_filters_by_reason_theme_and_resolved_on_both_routes(api, made, params, expected):
    names = {survey_id: name for name, survey_id in made.items()}
    listed = [names[r["survey_id"]] for r in ok(listing(api, **params))["responses"]]
    assert set(listed) == expected and len(listed) == len(expected)
    assert [names[row["survey_id"]] for row in rows_of(export(api, **params))] == listed


@pytest.mark.parametrize("params, field", [
    ({"reason": "slow"}, "reason"), ({"theme": "refunds"}, "theme"), ({"resolved": "maybe"}, "resolved"),
])
def test_an_unknown_reason_or_theme_or_a_bad_resolved_is_400_naming_it(api, made, params, field):
    assert field in fields_of(listing(api, **params))
    assert field in fields_of(export(api, **params))
    body = json.loads(listing(api, **params).body)
    assert "must be one of" in json.dumps(body) or field == "resolved"


def test_the_openapi_document_lists_the_new_filters(api):
    document = json.loads(api.http.get("/v1/openapi.json", headers=api.headers).body)
    names = {p["name"] for p in document["paths"]["/v1/responses"]["get"]["parameters"]}
    assert {"reason", "theme", "resolved"} <= names
