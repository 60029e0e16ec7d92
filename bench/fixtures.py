"""Real surveys in the table: a sent CSAT survey with an issued token, and optionally a page view."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from bench.events import BROWSER_UA


@dataclass(frozen=True)
class Prepared:
    survey_id: str
    token: str
    open_id: str = ""


def new_survey(store, index: int) -> Prepared:  # store: a SurveyRepository
    """A sent CSAT survey with one token, as delivery leaves it (4 requests: 2 in a transaction)."""
    from chalicelib.platform import clock
    from chalicelib.surveys import Agent, Channel, Customer, Survey, SurveyKind, SurveyStatus, tokens

    now = clock.now()
    survey = Survey(
        survey_id=tokens.new_survey_id(), interaction_id=f"bench-{now.timestamp():.0f}-{index}",
        kind=SurveyKind.CSAT, channel=Channel.EMAIL, status=SurveyStatus.SENT,
        customer=Customer(id=f"cust-{index}", email=f"customer{index}@example.com", name="Ada Lovelace"),
        agent=Agent(id="agent-7", name="Grace"), team="Support",
        base_url="https://abc123.execute-api.us-east-1.amazonaws.com/api",
        created_at=now, send_at=now, sent_at=now, expires_at=now + timedelta(days=28),
    )
    store.create(survey)
    issued = tokens.issue(survey.survey_id)
    store.add_token_hash(survey.survey_id, issued.secret_hash)
    return Prepared(survey_id=survey.survey_id, token=issued.token)


def open_page(store, prepared: Prepared, score: int) -> Prepared:
    """A person's browser opens the score link: one page view, whose open_id the page confirms."""
    from chalicelib.surveys import view_page

    view = view_page(prepared.token, score, "GET", BROWSER_UA)
    return Prepared(survey_id=prepared.survey_id, token=prepared.token, open_id=view.open_id)


def wait_out_dwell(opened_at: float) -> None:
    """Sleep until a page opened at `opened_at` (time.monotonic()) may confirm itself.

    The landing page confirms its score only after being visible for `confirm_dwell_ms`, and a
    confirmation sooner than that is judged to come from a script: wait as long as the page would.
    """
    from chalicelib.platform.settings import get_settings

    remaining = opened_at + get_settings().confirm_dwell_ms / 1000 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
