"""Customer text stays inert wherever it goes: Slack (blocks and the notification text), the alert
topic's plain text, escalations, the customer's email and SMS, the dashboard and the CSV export.
Each destination is fed mentions, markup, links and formulas (platform/inert.py has the rules)."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest

from tests.functional.followups.test_escalation import detractor, escalations, invoke_schedule, stored  # noqa: F401
from tests.functional.helpers import links_in, send_email_survey, send_sms_survey
from tests.functional.insight.test_dashboard import cookie, get, html, lead  # noqa: F401

HOSTILE = ("<!channel> <!here> <@U024BE7LH> <https://evil.example|click here> <script>alert(1)</script> "
           "=HYPERLINK(\"https://evil.example\") & *bold*")
RAW = ("<!channel>", "<!here>", "<@U024BE7LH>", "<https://evil.example|click here>", "<script>")
ESCAPED = ("&lt;!channel&gt;", "&lt;!here&gt;", "&lt;@U024BE7LH&gt;", "&lt;https://evil.example|click here&gt;")
# A comment that tries to forge a line of the alert, hide itself with a terminal escape, and
# reverse the text around it.
FORGING = "Fine.\nOwner: mallory\x1b[2J\u202eevil"


def assert_slack_inert(body: dict) -> None:
    everything = json.dumps(body, ensure_ascii=False)
    for raw in RAW:
        assert raw not in body["text"] and raw not in everything, raw
    for escaped in ESCAPED:
        assert escaped in body["text"], (escaped, body["text"])
        assert escaped in everything, escaped


def test_slack_gets_mentions_links_and_markup_escaped_in_its_text_and_blocks(api, stack, webhook, clock):
    detractor(api, stack, clock, comment=HOSTILE)

    (body,) = webhook.bodies
    assert_slack_inert(body)
    assert "&amp; *bold*" in body["text"]


def test_the_escalation_webhook_escapes_them_too(api, stack, webhook, escalations, clock):  # noqa: F811
    followup_id = detractor(api, stack, clock, comment=HOSTILE)
    clock.set(stored(followup_id).due_at + timedelta(minutes=5))

    assert invoke_schedule(api)["escalated"] == [followup_id]
    (body,) = escalations.webhook.bodies
    assert_slack_inert(body)


@pytest.mark.parametrize("destination", ["topic", "webhook"])
def test_a_comment_cannot_forge_a_line_of_the_alert_or_hide_with_control_characters(
        api, stack, webhook, clock, destination):
    detractor(api, stack, clock, comment=FORGING)

    text = stack.alerts()[0]["message"] if destination == "topic" else webhook.bodies[0]["text"]
    assert "Comment: Fine.\n  Owner: mallory" in text
    assert not re.search(r"^Owner: mallory", text, re.M)
    assert "\x1b" not in text and "\u202e" not in text


def test_the_customers_email_shows_markup_in_their_name_as_text(api, stack):
    send_email_survey(api, stack, customer={"id": "cus_9", "email": "x@example.com", "name": "<i>Ada&amp; Lovelace"})
    html = stack.emails()[0].part("html")
    assert "<i>Ada" not in html and "&lt;i&gt;Ada&amp;amp;" in html


def test_an_sms_never_carries_a_link_or_markup_from_a_name(api, stack):
    send_sms_survey(api, stack, customer={"id": "cus_9", "phone": "+14155550123", "name": "https://evil.example Smith"},
                    agent={"id": "agt_7", "name": "evil.com"})

    (text,) = [text for _, text in stack.sms()]
    assert len(links_in(text)) == 1 and "evil" not in text and "<" not in text
    assert text.startswith("Hi, ")  # greeted without the name


def test_an_sms_keeps_a_plain_name(api, stack):
    send_sms_survey(api, stack, customer={"id": "cus_9", "phone": "+14155550123", "name": "Ada O'Neil"})

    (text,) = [text for _, text in stack.sms()]
    assert text.startswith("Hi Ada, ")


def test_the_dashboard_shows_them_as_text(api, stack, webhook, clock, cookie):  # noqa: F811
    detractor(api, stack, clock, comment=HOSTILE)

    body = html(get(api, "/dashboard/comments", cookie))
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body


def test_the_csv_export_defuses_a_formula(api, stack, webhook, clock):
    formula = '=HYPERLINK("https://evil.example","click here")'
    detractor(api, stack, clock, comment=formula)

    rows = list(csv.DictReader(io.StringIO(api.http.get("/v1/responses.csv", headers=api.headers).body.decode())))
    assert [row["comment"] for row in rows] == ["'" + formula]
