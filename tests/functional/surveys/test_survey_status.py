"""GET /v1/surveys/{survey_id}: what a support lead sees of one survey, through its life."""
from __future__ import annotations

import json

import pytest

from chalicelib.platform.clock import iso, parse_iso
from tests.functional.helpers import (
    BROWSER, confirm, interaction, open_page, path_of, post, score_links, send_email_survey,
)

CONTRACT_FIELDS = {"survey_id", "interaction_id", "survey", "channel", "status", "score", "comment",
                   "sent_at", "responded_at"}


@pytest.mark.parametrize("survey_id", ["0123456789abcdef", "ffffffffffffffff"])
def test_an_unknown_survey_id_is_404_json(api, stack, survey_id):
    response = api.http.get(f"/v1/surveys/{survey_id}", headers=api.headers)
    assert response.status_code == 404
    assert json.loads(response.body)["error"] == "not_found"
    assert api.http.get(f"/v1/surveys/{survey_id}/opens", headers=api.headers).status_code == 404


@pytest.mark.parametrize("survey_id", ["0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "zd-48213",
                                       "SURVEY%230123456789abcdef", "..%2F..%2Fetc", "%00", "' OR 1=1 --"])
def test_a_malformed_survey_id_is_404_json(api, stack, survey_id):
    response = api.http.get(f"/v1/surveys/{survey_id}", headers=api.headers)
    assert response.status_code == 404
    assert json.loads(response.body)["error"] == "not_found"


def test_an_interaction_id_is_not_a_survey_id(api, stack):
    accepted = json.loads(post(api, interaction()).body)
    assert api.http.get("/v1/surveys/zd-48213", headers=api.headers).status_code == 404
    assert api.http.get(f"/v1/surveys/{accepted['survey_id']}", headers=api.headers).status_code == 200


def test_the_survey_moves_from_scheduled_to_sent_to_responded_with_the_contract_fields(api, stack, clock):
    response = post(api, interaction(survey="csat", channel="email"))
    assert response.status_code == 202
    survey_id = json.loads(response.body)["survey_id"]

    scheduled = json.loads(api.http.get(f"/v1/surveys/{survey_id}", headers=api.headers).body)
    assert CONTRACT_FIELDS <= set(scheduled)
    assert scheduled == {**scheduled, "survey_id": survey_id, "interaction_id": "zd-48213", "survey": "csat",
                         "channel": "email", "status": "scheduled", "score": None, "comment": None,
                         "sent_at": None, "responded_at": None}

    clock.advance(2)
    stack.run_jobs()
    sent = json.loads(api.http.get(f"/v1/surveys/{survey_id}", headers=api.headers).body)
    assert sent["status"] == "sent" and sent["score"] is None and sent["responded_at"] is None
    assert sent["sent_at"] == iso(clock.now)

    # The customer opens the link for 4 a minute later and stays on the page.
    emails = stack.emails()
    assert len(emails) == 1
    link = path_of(score_links(emails[0].part("plain"))[4])
    clock.advance(60)
    page = open_page(api, link, BROWSER)
    clock.advance(3)
    assert json.loads(confirm(api, link, page).body) == {"recorded": True, "score": 4}

    responded = json.loads(api.http.get(f"/v1/surveys/{survey_id}", headers=api.headers).body)
    assert responded["status"] == "responded" and responded["score"] == 4 and responded["comment"] is None
    assert responded["responded_at"] == iso(clock.now)
    assert responded["sent_at"] == sent["sent_at"]


def test_an_nps_sms_survey_shows_its_kind_and_channel(api, stack):
    response = post(api, interaction(interaction_id="fd-77", survey="nps", channel="sms"))
    body = json.loads(api.http.get(f"/v1/surveys/{json.loads(response.body)['survey_id']}", headers=api.headers).body)
    assert (body["interaction_id"], body["survey"], body["channel"], body["status"]) == ("fd-77", "nps", "sms", "scheduled")


def test_a_survey_nobody_answered_shows_expired_after_its_window(api, stack, clock):
    survey_id, _ = send_email_survey(api, stack)
    body = json.loads(api.http.get(f"/v1/surveys/{survey_id}", headers=api.headers).body)
    assert body["status"] == "sent"

    clock.set(parse_iso(body["expires_at"]))
    expired = json.loads(api.http.get(f"/v1/surveys/{survey_id}", headers=api.headers).body)
    assert expired["status"] == "expired" and expired["score"] is None
