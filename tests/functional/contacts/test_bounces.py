"""SES bounce and complaint notifications, delivered by SNS to the real handler, feed the ledger.

The fixtures in tests/fixtures/ses/ are notifications in SES's format (notification contents
as SES publishes them to an SNS topic)."""
from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest

from tests.conftest import ROOT

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ses"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def deliver(message, subject: str = "Amazon SES Email Event Notification") -> None:
    """Hand one SNS message to the app's SNS handler, as the topic's subscription would."""
    from chalice.test import Client

    from app import app

    body = message if isinstance(message, str) else json.dumps(message)
    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        event = client.events.generate_sns_event(message=body, subject=subject)
        client.lambda_.invoke("handle_ses_notice", event)


def ledger():
    from tests.repos import Repositories

    return sorted(Repositories().suppressions.list(), key=lambda e: e.value)


def entries():
    return [(e.kind.value, e.value, e.reason.value, e.source) for e in ledger()]


def test_the_fixtures_are_ses_notifications():
    for name in ("bounce-permanent.json", "bounce-transient.json", "complaint.json"):
        notice = fixture(name)
        assert notice["notificationType"] in ("Bounce", "Complaint")
        assert {"messageId", "destination", "source", "timestamp"} <= set(notice["mail"])


def test_a_permanent_bounce_suppresses_the_bounced_address(stack):
    deliver(fixture("bounce-permanent.json"))
    # Addresses compare case-insensitively: the ledger keeps one spelling.
    assert entries() == [("email", "ada@example.com", "bounced", "ses")]


def test_a_transient_bounce_suppresses_nobody(stack):
    deliver(fixture("bounce-transient.json"))
    assert ledger() == []


def test_an_undetermined_bounce_suppresses_nobody(stack):
    notice = fixture("bounce-permanent.json")
    notice["bounce"]["bounceType"] = "Undetermined"
    deliver(notice)
    assert ledger() == []


def test_a_complaint_suppresses_the_complaining_address(stack):
    deliver(fixture("complaint.json"))
    assert entries() == [("email", "linus@example.org", "complained", "ses")]


def test_every_recipient_of_a_bounce_is_suppressed(stack):
    notice = fixture("bounce-permanent.json")
    notice["bounce"]["bouncedRecipients"].append({**notice["bounce"]["bouncedRecipients"][0],
                                                  "emailAddress": "grace@example.com"})
    deliver(notice)
    assert [e.value for e in ledger()] == ["ada@example.com", "grace@example.com"]


@pytest.mark.parametrize("name", ["bounce-permanent.json", "complaint.json"])
def test_a_notification_delivered_again_suppresses_once_and_keeps_the_first_time(stack, clock, name):
    deliver(fixture(name))
    (first,) = ledger()

    clock.advance(600)
    deliver(fixture(name))
    deliver(fixture(name))

    assert ledger() == [first]


def test_a_complaint_after_a_bounce_keeps_the_first_reason(stack):
    notice = fixture("complaint.json")
    notice["complaint"]["complainedRecipients"] = [{"emailAddress": "ada@example.com"}]
    deliver(fixture("bounce-permanent.json"))
    deliver(notice)
    assert entries() == [("email", "ada@example.com", "bounced", "ses")]


def test_event_publishing_format_is_read_too(stack):
    """A configuration set's event destination says eventType instead of notificationType."""
    notice = fixture("complaint.json")
    notice["eventType"] = notice.pop("notificationType")
    deliver(notice)
    assert entries() == [("email", "linus@example.org", "complained", "ses")]


def _malformed() -> list:
    no_recipients = fixture("bounce-permanent.json")
    no_recipients["bounce"]["bouncedRecipients"] = []
    no_bounce = fixture("bounce-permanent.json")
    del no_bounce["bounce"]
    bad_address = fixture("complaint.json")
    bad_address["complaint"]["complainedRecipients"] = [{"emailAddress": "not an address"}]
    return ["", "not json", "[]", "null", json.dumps({"notificationType": "Bounce", "bounce": "x"}),
            no_recipients, no_bounce, bad_address]


@pytest.mark.parametrize("message", _malformed(), ids=["empty", "not-json", "array", "null", "bounce-not-object",
                                                       "no-recipients", "no-bounce", "bad-address"])
def test_a_malformed_notification_is_logged_and_dropped(stack, caplog, message):
    with caplog.at_level(logging.INFO, logger="chalicelib.contacts.bounces"):
        deliver(message)  # returns normally: raising would only make Lambda retry it in vain
    assert ledger() == []
    assert caplog.records, "a dropped notification leaves a trace in the log"


def test_a_delivery_notification_is_ignored(stack):
    notice = {"notificationType": "Delivery", "mail": copy.deepcopy(fixture("complaint.json")["mail"]),
              "delivery": {"timestamp": "2026-11-24T10:05:23.000Z", "recipients": ["linus@example.org"],
                           "processingTimeMillis": 1200, "smtpResponse": "250 ok"}}
    deliver(notice)
    assert ledger() == []


def test_the_handler_is_wired_to_the_ses_notices_topic():
    import app as app_module
    from chalicelib.api import events

    assert events.SES_NOTICES_TOPIC == "closeloop-ses-notices"
    (config,) = [h for h in app_module.app.event_sources if h.name == "handle_ses_notice"]
    assert config.topic == "closeloop-ses-notices"


def test_after_a_permanent_bounce_the_address_gets_no_more_surveys(api, stack):
    from tests.functional.helpers import interaction, post

    deliver(fixture("bounce-permanent.json"))
    response = post(api, interaction())  # ada@example.com, who bounced as Ada@Example.com

    assert response.status_code == 200, response.body
    assert json.loads(response.body)["status"] == "suppressed"
    stack.run_jobs()
    assert stack.emails() == []
