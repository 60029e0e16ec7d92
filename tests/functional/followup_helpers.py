"""Helpers of the follow-ups API tests: follow-ups made as a detractor response makes them, and
requests to /v1/followups through chalice's test client."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import count
from typing import Optional
from urllib.parse import urlencode

_numbers = count()


def a_responded_survey(at: datetime, *, team: Optional[str] = "billing", score: int = 1,
                       comment: Optional[str] = "Nobody read my ticket", kind: str = "csat"):
    """A survey that was sent and answered with a detractor score, stored."""
    from chalicelib.surveys import tokens
    from chalicelib.surveys.model import Agent, Channel, Customer, Survey, SurveyStatus
    from chalicelib.surveys.scoring import SurveyKind
    from tests.repos import Repositories

    survey = Survey(
        survey_id=tokens.new_survey_id(), interaction_id=f"zd-{next(_numbers)}", kind=SurveyKind(kind),
        channel=Channel.EMAIL, status=SurveyStatus.RESPONDED,
        customer=Customer(id="cus_19", email="ada@example.com", name="Ada Lovelace"),
        agent=Agent(id="agt_7", name="Sam"), team=team, base_url="http://127.0.0.1:8000",
        created_at=at - timedelta(hours=1), send_at=at - timedelta(hours=1), sent_at=at - timedelta(hours=1),
        expires_at=at + timedelta(days=28), score=score, comment=comment, responded_at=at - timedelta(minutes=5),
        response_updated_at=at - timedelta(minutes=5), response_version=1,
    )
    Repositories().surveys.create(survey)
    return survey


def open_followup(at: datetime, **survey_fields) -> str:
    """Open a follow-up at `at` as the detractor handler does (routing included); returns its id."""
    from chalicelib.followups import lifecycle as followups
    from tests.repos import Repositories

    survey = a_responded_survey(at, **survey_fields)
    followup = followups.new_followup(survey, at)
    assert Repositories().followups.open(followup)
    return followup.followup_id


def stored(followup_id: str):
    from tests.repos import Repositories

    return Repositories().followups.get(followup_id)


def get(api, followup_id, headers=None):
    return api.http.get(f"/v1/followups/{followup_id}", headers=headers or api.headers)


def patch(api, followup_id, body, headers=None):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return api.http.patch(f"/v1/followups/{followup_id}", headers=headers or api.headers, body=raw)


def claim(api, followup_id, body=None, headers=None):
    raw = b"" if body is None else json.dumps(body)
    return api.http.post(f"/v1/followups/{followup_id}/claim", headers=headers or api.headers, body=raw)


def listing(api, headers=None, **params):
    query = f"?{urlencode(params)}" if params else ""
    return api.http.get(f"/v1/followups{query}", headers=headers or api.headers)


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.body)
    return json.loads(response.body)


def error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.body)
    return json.loads(response.body)


def fields_of(response) -> set[str]:
    """The fields a 400 names."""
    return {field["field"] for field in error(response, 400)["fields"]}


def all_pages(api, **params) -> list[list[dict]]:
    """Every page of a listing, following next_cursor to the end."""
    pages, cursor = [], None
    for _ in range(100):
        body = ok(listing(api, **params, **({"cursor": cursor} if cursor else {})))
        pages.append(body["followups"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the cursor never ended")


def headers_for(name: str) -> dict:
    """Authorization for a new API key named `name` (the caller's name in history)."""
    from chalicelib.apikeys import keys as auth

    key, _ = auth.create_key(name)
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
