"""A re-survey's messages (a Survey with followup_id) say they follow up, keep the contract's
shape (one link per score in email, one GSM-7 segment with one link in SMS)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest

from chalicelib.delivery import email, sms
from chalicelib.platform.settings import Settings
from chalicelib.surveys import links, tokens
from chalicelib.surveys.model import Agent, Channel, Customer, ResponseForm, Survey, SurveyStatus
from chalicelib.surveys.scoring import SurveyKind

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
API_GATEWAY_URL = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api"


def a_resurvey(channel: Channel, *, name: Optional[str] = "Ada Lovelace", base_url: str = API_GATEWAY_URL,
               followup_id: Optional[str] = "fu_0123456789abcdef", kind: SurveyKind = SurveyKind.CSAT) -> Survey:
    return Survey(
        survey_id=tokens.new_survey_id(), interaction_id="resurvey:fu_0123456789abcdef", kind=kind, channel=channel,
        status=SurveyStatus.SCHEDULED,
        customer=Customer(id="cus_19", email="ada@example.com", phone="+14155550123", name=name),
        agent=Agent(id="agt_7", name="Sam"), base_url=base_url, created_at=T0, send_at=T0,
        expires_at=T0 + timedelta(days=28), followup_id=followup_id,
    )


@pytest.mark.parametrize("company", ["Acme", "Acme Customer Support International", "Ünïcode Støre"])
@pytest.mark.parametrize("name", ["Ada Lovelace", None, "Maximiliana-Alexandrina Featherstonehaugh"])
def test_a_resurvey_sms_asks_if_the_issue_was_resolved_in_one_segment_with_one_link(company, name):
    survey = a_resurvey(Channel.SMS, name=name)
    token = tokens.issue(survey.survey_id).token
    text = sms.compose(survey, token, Settings(company_name=company))
    assert sms.septets(text) is not None and sms.septets(text) <= sms.SEGMENT_SEPTETS
    assert re.findall(r"https?://\S+", text) == [links.choose_url(survey.base_url, token)]
    assert "resolved" in text.lower()


def test_a_first_survey_sms_does_not_mention_a_follow_up():
    survey = a_resurvey(Channel.SMS, followup_id=None)
    text = sms.compose(survey, tokens.issue(survey.survey_id).token, Settings(company_name="Acme"))
    assert "resolved" not in text.lower() and "followed up" not in text.lower()


@pytest.mark.parametrize("kind, scores", [(SurveyKind.CSAT, range(1, 6)), (SurveyKind.NPS, range(0, 11))])
def test_a_resurvey_email_follows_up_and_keeps_one_link_per_score(kind, scores):
    survey = a_resurvey(Channel.EMAIL, kind=kind)
    token = tokens.issue(survey.survey_id).token
    message = email.compose(survey, token, Settings(company_name="Acme"))
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert message["Subject"] == "Ada, was your issue resolved? A quick follow-up from Acme"
    for part in (text, html):
        assert "We followed up on your feedback" in part and "Was your issue resolved?" in part
    lines = {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d+) - [^:]+: (\S+)$", text, re.M)}
    assert lines == {s: links.score_url(survey.base_url, token, s) for s in scores}
    for url in lines.values():
        assert f'href="{url}"' in html


def test_a_first_survey_email_does_not_mention_a_follow_up():
    survey = a_resurvey(Channel.EMAIL, followup_id=None)
    message = email.compose(survey, tokens.issue(survey.survey_id).token, Settings(company_name="Acme"))
    assert "followed up" not in message.get_body(preferencelist=("plain",)).get_content()
    assert "resolved" not in message["Subject"]


@pytest.mark.parametrize("value, expected", [("yes", True), ("no", False), ("", None), (None, None),
                                             ("true", True), ("false", False)])
def test_the_resolved_answer_of_a_form(value, expected):
    data = {"score": 3} if value is None else {"score": 3, "resolved": value}
    assert ResponseForm.model_validate(data).resolved is expected


def test_a_resolved_answer_that_is_not_yes_or_no_is_refused():
    with pytest.raises(ValueError):
        ResponseForm.model_validate({"score": 3, "resolved": "maybe"})
