"""The survey email as built by chalicelib.delivery.email.compose(), without sending it."""
from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Optional

import pytest

from chalicelib.delivery import email as survey_email
from chalicelib.platform.settings import Settings
from chalicelib.surveys import links, scoring, tokens
from chalicelib.surveys.model import Agent, Channel, Customer, Survey, SurveyStatus
from chalicelib.surveys.scoring import SurveyKind

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
BASE_URL = "https://surveys.example.com"
SETTINGS = Settings(company_name="Acme & Co", sender_email="surveys@acme.example")


def a_survey(kind: SurveyKind = SurveyKind.CSAT, name: Optional[str] = "Ada Lovelace",
             agent: Optional[str] = "Sam Jones") -> Survey:
    return Survey(
        survey_id=tokens.new_survey_id(), interaction_id="zd-48213", kind=kind, channel=Channel.EMAIL,
        status=SurveyStatus.SCHEDULED, customer=Customer(id="cus_19", email="ada@example.com", name=name),
        agent=Agent(id="agt_7", name=agent) if agent else None, base_url=BASE_URL,
        created_at=T0, send_at=T0, expires_at=T0 + timedelta(days=28),
    )


class Tags(HTMLParser):
    """Every start tag of a document, with its attributes."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def named(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == name]


class Composed:
    def __init__(self, survey: Survey, settings: Settings = SETTINGS):
        self.survey = survey
        self.token = tokens.issue(survey.survey_id).token
        self.message: EmailMessage = survey_email.compose(survey, self.token, settings)
        self.text = self.message.get_body(preferencelist=("plain",)).get_content()
        self.html = self.message.get_body(preferencelist=("html",)).get_content()
        self.tags = Tags(self.html)

    def score_url(self, score: int) -> str:
        return links.score_url(self.survey.base_url, self.token, score)

    @property
    def honeypot_url(self) -> str:
        return links.honeypot_url(self.survey.base_url, self.token)

    @property
    def unsubscribe_url(self) -> str:
        return links.unsubscribe_url(self.survey.base_url, self.token)

    def buttons(self) -> list[dict]:
        """The score buttons: every link but the hidden honeypot and the footer's unsubscribe."""
        return [a for a in self.tags.named("a") if a.get("href") not in (self.honeypot_url, self.unsubscribe_url)]


@pytest.fixture(params=[SurveyKind.CSAT, SurveyKind.NPS], ids=["csat", "nps"])
def composed(request) -> Composed:
    return Composed(a_survey(kind=request.param))


# --- structure -----------------------------------------------------------------------------

def test_message_is_multipart_alternative_with_text_then_html(composed):
    assert composed.message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in composed.message.iter_parts()] == ["text/plain", "text/html"]


def test_message_survives_serialisation(composed):
    parsed = email.message_from_bytes(composed.message.as_bytes(), policy=email.policy.default)
    assert parsed.get_body(preferencelist=("plain",)).get_content() == composed.text
    assert parsed.get_body(preferencelist=("html",)).get_content() == composed.html


def test_headers_name_the_survey_and_mark_it_automatic(composed):
    message = composed.message
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["From"].addresses[0].display_name == "Acme & Co"
    assert message["From"].addresses[0].addr_spec == "surveys@acme.example"
    assert message["X-Closeloop-Survey"] == composed.survey.survey_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@acme.example>")


# --- text part ---------------------------------------------------------------------------

def test_text_part_has_one_line_per_score_starting_with_the_score_and_holding_its_link(composed):
    scale = list(scoring.scale(composed.survey.kind))
    score_lines = [line for line in composed.text.splitlines() if re.match(r"\d+\b", line)]
    assert [int(re.match(r"\d+", line).group()) for line in score_lines] == scale
    for score, line in zip(scale, score_lines):
        assert composed.score_url(score) in line.split()
        assert scoring.score_label(composed.survey.kind, score) in line


def test_text_part_holds_no_other_survey_links(composed):
    found = re.findall(r"https?://\S+", composed.text)
    assert sorted(found) == sorted([composed.score_url(s) for s in scoring.scale(composed.survey.kind)]
                                   + [composed.unsubscribe_url])


def test_text_part_does_not_hold_the_honeypot_link(composed):
    assert composed.honeypot_url not in composed.text
    assert "/h/" not in composed.text


# --- HTML part -----------------------------------------------------------------------------

def test_html_has_one_button_per_score_with_its_link(composed):
    scale = list(scoring.scale(composed.survey.kind))
    buttons = composed.buttons()
    assert [a["href"] for a in buttons] == [composed.score_url(s) for s in scale]
    for score, button in zip(scale, buttons):
        assert f">{score}</a>" in composed.html
        assert "background-color" in button["style"] and "display:block" in button["style"]


def test_nps_email_has_eleven_buttons_0_to_10():
    composed = Composed(a_survey(kind=SurveyKind.NPS))
    hrefs = [a["href"] for a in composed.buttons()]
    assert len(hrefs) == 11
    assert [int(h.rsplit("/", 1)[1]) for h in hrefs] == list(range(0, 11))


def test_html_is_laid_out_with_tables_and_inline_styles(composed):
    tables = composed.tags.named("table")
    assert tables and all(t.get("role") == "presentation" for t in tables)
    assert all("style" in td for td in composed.tags.named("td"))
    assert not composed.tags.named("style")  # styles are inline, where every mail client keeps them


def test_html_loads_nothing_external_and_runs_no_script(composed):
    assert not composed.tags.named("link")
    assert not composed.tags.named("script")
    for tag, attrs in composed.tags.tags:
        assert not re.match(r"(https?:)?//", attrs.get("src") or ""), tag
        assert not re.match(r"(https?:)?//", attrs.get("background") or ""), tag
        assert "url(" not in (attrs.get("style") or ""), tag
    assert "@import" not in composed.html


def test_html_has_the_hidden_honeypot_link(composed):
    honeypot = [a for a in composed.tags.named("a") if a.get("href") == composed.honeypot_url]
    assert len(honeypot) == 1
    assert "display:none" in honeypot[0]["style"]
    assert honeypot[0].get("aria-hidden") == "true" and honeypot[0].get("tabindex") == "-1"


# --- personalisation and escaping ------------------------------------------------------------

def test_both_parts_greet_the_customer_by_first_name_and_name_agent_and_company(composed):
    assert "Hi Ada," in composed.text and "Lovelace" not in composed.text
    assert "Sam helped you" in composed.text
    assert "Acme & Co" in composed.text
    assert "Hi Ada," in composed.html
    assert "Sam helped you" in composed.html
    assert "Acme &amp; Co" in composed.html and "Acme & Co" not in composed.html


def test_subject_names_the_customer_and_the_company(composed):
    assert "Ada" in composed.message["Subject"] and "Acme & Co" in composed.message["Subject"]


def test_without_names_the_email_still_reads_well():
    composed = Composed(a_survey(name=None, agent=None))
    assert "Hi," in composed.text and "helped you" not in composed.text
    assert composed.message["Subject"].startswith("How did we do?")
    assert composed.message["To"] == "ada@example.com"


def test_a_script_in_the_customer_name_is_escaped_in_html():
    # No "/" in the payload: names that read as links are left out of messages altogether.
    composed = Composed(a_survey(name="<script>alert(1)", agent='<img src=x onerror="alert(2)">'))
    assert "<script>" not in composed.html and "<img" not in composed.html
    assert "&lt;script&gt;alert(1)" in composed.html
    assert not composed.tags.named("script") and not composed.tags.named("img")


@pytest.mark.parametrize("name", ["Ada\r\nBcc: evil@example.com", "Ada\nBcc: evil@example.com",
                                  "Ada Lovelace\r\n\r\n<html>injected"])
def test_a_line_break_in_the_customer_name_cannot_inject_headers(name):
    composed = Composed(a_survey(name=name))
    raw = composed.message.as_bytes()
    headers = email.message_from_bytes(raw, policy=email.policy.default)
    assert "\n" not in composed.message["Subject"] and "\r" not in composed.message["Subject"]
    assert headers["Bcc"] is None
    assert headers.get_all("To") == [composed.message["To"]]
    assert headers["To"].addresses[0].addr_spec == "ada@example.com"
    assert headers["To"].addresses[0].display_name == " ".join(name.split())
    assert headers.get_content_type() == "multipart/alternative"


# --- opt-out (RFC 8058) and footer -------------------------------------------------------------

def test_headers_offer_one_click_unsubscribe_at_the_surveys_https_url(composed):
    assert composed.message["List-Unsubscribe"] == f"<{composed.unsubscribe_url}>"
    assert composed.unsubscribe_url.startswith("https://surveys.example.com/u/")
    assert composed.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_long_unsubscribe_url_is_written_as_is_not_as_encoded_words():
    survey = a_survey().model_copy(update={"base_url": "https://abcdefghij.execute-api.eu-central-1.amazonaws.com/api"})
    composed = Composed(survey)
    raw = composed.message.as_bytes().decode("ascii")
    assert f"\nList-Unsubscribe: <{composed.unsubscribe_url}>\n" in raw
    assert "=?" not in raw.split("\nList-Unsubscribe:", 1)[1].split("\n", 1)[0]
    parsed = email.message_from_bytes(composed.message.as_bytes(), policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == f"<{composed.unsubscribe_url}>"


@pytest.mark.parametrize("address", ["Acme & Co, 1 Main St, Springfield", "42 Harbour Road\n Springfield"])
def test_both_parts_end_with_an_unsubscribe_link_and_the_postal_address(address):
    composed = Composed(a_survey(), SETTINGS.model_copy(update={"postal_address": address}))
    one_line = " ".join(address.split())
    assert re.search(rf"^Unsubscribe from Acme & Co surveys: {re.escape(composed.unsubscribe_url)}$",
                     composed.text, re.M)
    assert one_line in composed.text
    unsubscribe = [a for a in composed.tags.named("a") if a.get("href") == composed.unsubscribe_url]
    assert len(unsubscribe) == 1 and "display:none" not in unsubscribe[0]["style"]
    assert ">Unsubscribe</a>" in composed.html
    assert one_line.replace("&", "&amp;") in composed.html
    # A footer line starting with a number would read as one more score line.
    numbered = [line for line in composed.text.splitlines() if re.match(r"\d", line)]
    assert len(numbered) == len(scoring.scale(composed.survey.kind))


def test_without_a_postal_address_the_footer_still_has_the_unsubscribe_link():
    composed = Composed(a_survey(), SETTINGS)
    assert composed.unsubscribe_url in composed.text and "Postal address" not in composed.text
    assert f'href="{composed.unsubscribe_url}"' in composed.html
