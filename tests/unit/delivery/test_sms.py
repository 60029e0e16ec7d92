"""Survey SMS: one GSM-7 segment holding exactly one link (chalicelib.delivery.sms)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest

from chalicelib.delivery import sms
from chalicelib.platform.settings import Settings
from chalicelib.surveys import links, tokens
from chalicelib.surveys.model import Agent, Channel, Customer, Survey, SurveyStatus
from chalicelib.surveys.scoring import SurveyKind

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
LOCAL_URL = "http://127.0.0.1:8000"
API_GATEWAY_URL = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api"
URL_RE = re.compile(r"https?://\S+")


def a_survey(name: Optional[str] = "Ada Lovelace", agent: Optional[str] = "Sam", base_url: str = LOCAL_URL,
             kind: SurveyKind = SurveyKind.CSAT) -> Survey:
    survey_id = tokens.new_survey_id()
    return Survey(
        survey_id=survey_id, interaction_id="zd-48213", kind=kind, channel=Channel.SMS,
        status=SurveyStatus.SCHEDULED, customer=Customer(id="cus_19", phone="+14155550123", name=name),
        agent=Agent(id="agt_7", name=agent) if agent else None, base_url=base_url,
        created_at=T0, send_at=T0, expires_at=T0 + timedelta(days=28),
    )


def compose(survey: Survey, company: str = "Acme") -> tuple[str, str]:
    """The message and the one link it must hold."""
    token = tokens.issue(survey.survey_id).token
    return sms.compose(survey, token, Settings(company_name=company)), links.choose_url(survey.base_url, token)


def assert_one_segment_with_only(text: str, url: str):
    length = sms.septets(text)
    assert length is not None, "not GSM-7"
    assert length <= sms.SEGMENT_SEPTETS
    assert URL_RE.findall(text) == [url]


# --- septets -------------------------------------------------------------------------------

def test_gsm_basic_characters_count_one_septet_each():
    assert sms.septets("Hello, Ada! 0-9 @£$¥ èéùìò ÄÖÑÜ äöñüà ß") == len("Hello, Ada! 0-9 @£$¥ èéùìò ÄÖÑÜ äöñüà ß")


@pytest.mark.parametrize("char", ["€", "[", "]", "{", "}", "^", "~", "|", "\\"])
def test_gsm_extension_characters_count_two_septets(char):
    assert sms.septets(char) == 2
    assert sms.septets(f"a{char}b") == 4


def test_an_empty_text_is_zero_septets():
    assert sms.septets("") == 0


@pytest.mark.parametrize("text", ["Thanks 😀", "李雷", "Łukasz", "Zoë", "ç", "“quoted”"])
def test_text_that_needs_ucs2_has_no_septet_count(text):
    assert sms.septets(text) is None


# --- to_gsm --------------------------------------------------------------------------------

def test_to_gsm_strips_accents_gsm_lacks():
    assert sms.to_gsm("Zoë") == "Zoe"
    assert sms.to_gsm("François") == "Francois"


def test_to_gsm_keeps_accents_gsm_has():
    assert sms.to_gsm("José") == "José"
    assert sms.to_gsm("Müller") == "Müller"


@pytest.mark.parametrize("name", ["李雷", "Łukasz", "Zoë 😀", "Дмитрий"])
def test_to_gsm_gives_up_on_names_that_cannot_be_gsm(name):
    assert sms.to_gsm(name) is None


@pytest.mark.parametrize("empty", [None, ""])
def test_to_gsm_of_nothing_is_none(empty):
    assert sms.to_gsm(empty) is None


# --- compose -------------------------------------------------------------------------------

def test_message_greets_the_customer_by_first_name_and_names_agent_and_company():
    text, url = compose(a_survey(name="Ada Lovelace", agent="Sam Jones"), company="Acme")
    assert_one_segment_with_only(text, url)
    assert "Ada" in text and "Lovelace" not in text
    assert "Sam" in text and "Acme" in text


def test_an_accented_name_is_written_in_gsm():
    text, url = compose(a_survey(name="Zoë Martin"))
    assert "Hi Zoe," in text
    assert_one_segment_with_only(text, url)


def test_a_name_that_cannot_be_gsm_is_left_out_rather_than_costing_the_segment():
    text, url = compose(a_survey(name="李雷"))
    assert text.startswith("Hi, ")
    assert_one_segment_with_only(text, url)


def test_a_long_company_falls_back_to_shorter_wording_that_still_names_it():
    company = "Northwind Traders International Customer Services"
    longest = f"Hi Ada, thanks for contacting {company}. How did Sam do? Tap to rate: "
    text, url = compose(a_survey(name="Ada", agent="Sam"), company=company)
    assert sms.septets(longest + url) > sms.SEGMENT_SEPTETS
    assert_one_segment_with_only(text, url)
    assert "thanks for contacting" not in text
    assert company in text and "Sam" in text and "Ada" in text


def test_a_long_company_and_an_api_gateway_url_fall_back_to_the_link_alone():
    company = "The Very Long Name Of A Company Incorporated Holdings International"
    text, url = compose(a_survey(base_url=API_GATEWAY_URL), company=company)
    assert_one_segment_with_only(text, url)
    assert company not in text


def test_an_api_gateway_url_with_a_stage_still_fits_one_segment():
    text, url = compose(a_survey(base_url=API_GATEWAY_URL))
    assert url.startswith(API_GATEWAY_URL + "/s/")
    assert_one_segment_with_only(text, url)


COMPANIES = ["Acme", "[Acme] {Support}", "Acme €€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€", "Zoë's Café",
             "株式会社", "x" * 100, "A" * 59]
NAMES = [None, "Ada", "Zoë", "李雷", "Bartholomew-Maximilian Featherstonehaugh", "N" * 128]
AGENTS = [None, "Sam", "Łukasz", "Alexandria-Wilhelmina"]
BASES = [LOCAL_URL, API_GATEWAY_URL, "https://surveys.example.com", "https://" + "s" * 60 + ".example.com/api"]


@pytest.mark.parametrize("company", COMPANIES)
@pytest.mark.parametrize("base_url", BASES)
def test_every_message_is_one_segment_with_exactly_one_link(company, base_url):
    for name in NAMES:
        for agent in AGENTS:
            for kind in SurveyKind:
                text, url = compose(a_survey(name=name, agent=agent, base_url=base_url, kind=kind), company)
                assert_one_segment_with_only(text, url)


def test_the_personal_wording_is_used_whenever_it_fits():
    text, _ = compose(a_survey(name="Ada", agent="Sam"), company="Acme")
    assert text.startswith("Hi Ada, thanks for contacting Acme. How did Sam do?")


def test_extension_characters_are_counted_double_when_choosing_the_wording():
    # 30 euro signs: the longest wording is 147 characters but 177 septets, so it must not be chosen.
    company = "€" * 30
    longest = f"Hi Ada, thanks for contacting {company}. How did Sam do? Tap to rate: "
    text, url = compose(a_survey(name="Ada", agent="Sam"), company=company)
    assert len(longest + url) <= sms.SEGMENT_SEPTETS < sms.septets(longest + url)
    assert_one_segment_with_only(text, url)
    assert not text.startswith(longest)
    assert company in text


def test_a_link_that_cannot_fit_one_segment_raises():
    base_url = "https://" + "s" * 140 + ".example.com"
    with pytest.raises(ValueError, match="does not fit"):
        compose(a_survey(base_url=base_url))


@pytest.mark.parametrize("name", ["bit.ly/x", "evil.example.com", "www.evil", "http://evil", "x@evil.com"])
def test_a_name_that_reads_as_a_link_is_left_out_so_the_sms_holds_one_link(name):
    text, url = compose(a_survey(name=name))
    assert name not in text
    assert_one_segment_with_only(text, url)
    assert text.startswith("Hi, ")


# --- languages -----------------------------------------------------------------------------

def localized(locale: str, kind: SurveyKind = SurveyKind.NPS, base_url: str = API_GATEWAY_URL, **more) -> Survey:
    survey = a_survey(name="Ada", agent="Sam", base_url=base_url, kind=kind)
    return survey.model_copy(update={"customer": survey.customer.model_copy(update={"locale": locale}), **more})


@pytest.mark.parametrize("locale", ["es", "fr", "de", "pt-BR"])
@pytest.mark.parametrize("resurvey", [False, True])
@pytest.mark.parametrize("reminder", [False, True])
def test_every_language_has_a_one_segment_wording_for_every_message(locale, resurvey, reminder):
    for base_url in BASES:
        for company in COMPANIES:
            survey = localized(locale, base_url=base_url, followup_id="fu_x" if resurvey else None)
            token = tokens.issue(survey.survey_id).token
            text = sms.compose(survey, token, Settings(company_name=company), reminder=reminder)
            assert_one_segment_with_only(text, links.choose_url(survey.base_url, token))
            assert not text.startswith(("Hi", "Reminder", "Rate", "Issue")), text  # not English


@pytest.mark.parametrize("locale,start", [
    ("es", "Hola Ada, gracias por contactar con Acme. ¿Que tal le atendio Sam?"),  # ó is not GSM-7: o
    ("fr-FR", "Bonjour Ada, merci d'avoir contacté Acme. Comment Sam vous a-t-il aidé ?"),  # é is
    ("de", "Hallo Ada, danke für Ihre Anfrage bei Acme. Wie hat Sam Ihnen geholfen?"),
    ("pt-BR", "Ola Ada, obrigado por contatar a Acme. Como foi o atendimento de Sam?"),
])
def test_the_personal_wording_fits_in_every_language_with_a_short_domain(locale, start):
    survey = localized(locale, base_url="https://s.acme.example")
    text = sms.compose(survey, tokens.issue(survey.survey_id).token, Settings(company_name="Acme"))
    assert text.startswith(start), text
