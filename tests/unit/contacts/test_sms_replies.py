"""Reading an SMS reply: keywords, scores, and everything else (chalicelib/contacts/sms_replies.py: classify)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.contacts.model import InboundSms
from chalicelib.contacts.sms_replies import Keyword, Score, Unknown, classify, fit, score_for
from chalicelib.delivery.sms import SEGMENT_SEPTETS, septets
from chalicelib.platform import i18n
from chalicelib.surveys.scoring import SurveyKind

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sms"


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop ", "STOP.", "stop!", "STOPALL", "stop all", "UNSUBSCRIBE",
                                  "unsubscribe", "CANCEL", "cancel", "END", "end", "QUIT", "Quit", "REVOKE",
                                  "OPTOUT", "opt-out", "Opt out", "\tstop\n"])
def test_the_stop_family_in_any_case_and_spacing(body):
    assert classify(body) is Keyword.STOP


@pytest.mark.parametrize("body", ["HELP", "help", " Help? ", "INFO"])
def test_help(body):
    assert classify(body) is Keyword.HELP


@pytest.mark.parametrize("body", ["START", "start", " Start! ", "UNSTOP"])
def test_start(body):
    assert classify(body) is Keyword.START


@pytest.mark.parametrize("body,value", [("9", 9), ("9/10", 9), ("9 / 10", 9), ("nine", 9), ("NINE", 9),
                                        ("10!", 10), (" Ten ", 10), ("0", 0), ("8.", 8), ("  7  ", 7),
                                        ("8 out of 10", 8), ("zero", 0), ("10!!!", 10), ("5/5", 5)])
def test_scores(body, value):
    reply = classify(body)
    assert isinstance(reply, Score) and reply.value == value


@pytest.mark.parametrize("body,value", [("nueve", 9), ("Neuf", 9), ("neun", 9), ("nove", 9), ("três", 3),
                                        ("fünf", 5), ("zéro", 0), ("9 de 10", 9), ("8 sur 10", 8), ("7 von 10", 7),
                                        ("¡diez!", 10)])
def test_scores_written_in_the_languages_we_survey_in(body, value):
    reply = classify(body)
    assert isinstance(reply, Score) and reply.value == value


@pytest.mark.parametrize("body", ["", "   ", "thanks", "11", "42", "-1", "7.5", "9/8", "stop it please",
                                  "9 great service", "nine-ish", "100", "1O", "hello there", "!!!"])
def test_anything_else_is_unknown(body):
    assert classify(body) == Unknown()


def test_a_score_must_fit_the_survey_scale():
    assert score_for(classify("9"), SurveyKind.NPS) == 9
    assert score_for(classify("0"), SurveyKind.NPS) == 0
    assert score_for(classify("0"), SurveyKind.CSAT) is None
    assert score_for(classify("7"), SurveyKind.CSAT) is None
    assert score_for(classify("4/5"), SurveyKind.CSAT) == 4
    assert score_for(classify("4/5"), SurveyKind.NPS) is None
    assert score_for(classify("9/10"), SurveyKind.NPS) == 9
    assert score_for(classify("five"), SurveyKind.CSAT) == 5


@pytest.mark.parametrize("name", ["stop.json", "score.json", "help.json"])
def test_recorded_messages_parse(name):
    inbound = InboundSms.model_validate_json((FIXTURES / name).read_text())
    assert inbound.originationNumber.startswith("+") and inbound.inboundMessageId


@pytest.mark.parametrize("change", [{"originationNumber": "4155550123"}, {"originationNumber": None},
                                    {"messageBody": "x" * 1601}, {"inboundMessageId": ""}])
def test_malformed_messages_are_refused(change):
    message = {**json.loads((FIXTURES / "stop.json").read_text()), **change}
    with pytest.raises(ValueError):
        InboundSms.model_validate(message)


ENGLISH, PORTUGUESE = i18n.translator("en"), i18n.translator("pt-BR")


def test_replies_fit_one_segment_and_drop_a_name_that_does_not():
    assert fit(ENGLISH, "Thank you!", "Acme") == "Acme: Thank you!"
    long_name = "A" * 150
    text = fit(ENGLISH, "You will get no more survey texts from us. Reply START to opt back in.", long_name)
    assert long_name not in text and septets(text) <= SEGMENT_SEPTETS
    assert fit(ENGLISH, "Hi", "北京") == "Hi"


def test_replies_in_a_language_gsm_lacks_accents_for_are_written_without_them():
    body = PORTUGUESE("Thank you! We recorded your score of {score}.", score=9)
    assert septets(body) is None  # "Obrigado! Registámos a sua pontuação": ç and ã are not GSM-7
    text = fit(PORTUGUESE, body, "Açaí")
    assert text.startswith("Acai: ") and "9" in text and septets(text) <= SEGMENT_SEPTETS
