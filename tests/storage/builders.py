"""What the storage tests build their items from: times, surveys, page views, follow-ups."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Optional

from chalicelib.followups.model import FollowUp
from chalicelib.surveys import tokens
from chalicelib.surveys.model import Agent, Channel, Customer, Survey, SurveyOpen, SurveyStatus
from chalicelib.surveys.scoring import SurveyKind

# Whole seconds: the repositories write response times at millisecond precision.
T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
_numbers = count()


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def a_survey(**overrides) -> Survey:
    values = dict(
        survey_id=tokens.new_survey_id(), interaction_id=f"zd-{next(_numbers)}", kind=SurveyKind.CSAT,
        channel=Channel.EMAIL, status=SurveyStatus.SENT,
        customer=Customer(id="cus_19", email="ada@example.com", name="Ada Lovelace"),
        agent=Agent(id="agt_7", name="Sam"), team="billing", properties={"plan": "pro"},
        base_url="http://127.0.0.1:8000", created_at=T0, send_at=T0, expires_at=T0 + timedelta(days=28),
        sent_at=T0, message_id="msg-1",
    )
    values.update(overrides)
    return Survey(**values)


def an_open(survey: Survey, score: Optional[int], at: datetime, **overrides) -> SurveyOpen:
    return SurveyOpen(open_id=f"open-{next(_numbers)}", survey_id=survey.survey_id, at=at, method="GET",
                      score=score, user_agent=BROWSER, **overrides)


def stored(repos, survey: Survey) -> Survey:
    return repos.surveys.get(survey.survey_id)


def all_items(repos) -> list[dict]:
    return repos.table.db.scan(TableName=repos.table.name, ConsistentRead=True)["Items"]




def a_followup(**overrides) -> FollowUp:
    values = dict(followup_id="fu_0123456789abcdef", survey_id="0123456789abcdef", interaction_id="zd-1",
                  kind=SurveyKind.CSAT, score=1, customer_id="cus_19", team="billing",
                  opened_at=later(0), due_at=later(0) + timedelta(hours=24))
    return FollowUp(**{**values, **overrides})
