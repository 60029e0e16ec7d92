"""What a texted reply leaves in the logs: ids, outcomes and error types, never the customer's
text nor their number (contacts/sms_replies.py)."""
from __future__ import annotations

import json
import logging
import uuid

from tests.functional.contacts.test_sms_replies import sms_in
from tests.functional.helpers import PHONE

MARKER = "MARKER-private-words-4711"


def logged(caplog) -> str:
    """Every record as the JSON logs would carry it: the message, its arguments and any traceback."""
    formatter = logging.Formatter()
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(formatter.formatException(record.exc_info))
    return "\n".join(lines)


def test_a_malformed_reply_is_logged_by_field_and_error_type_without_its_text_or_number(api, stack, caplog):
    messages = [
        # A valid body and id, a number that is no E.164 number: the body is still the customer's.
        {"originationNumber": "555-0199", "messageBody": f"I hate this {MARKER}", "inboundMessageId": "m-1"},
        # A body too long for any SMS.
        {"originationNumber": PHONE, "messageBody": MARKER * 100, "inboundMessageId": "m-2"},
        # No id at all.
        {"originationNumber": PHONE, "messageBody": MARKER},
    ]
    with caplog.at_level(logging.DEBUG):
        for message in messages:
            api.lambda_.invoke("handle_sms_reply", api.events.generate_sns_event(message=json.dumps(message)))
        api.lambda_.invoke("handle_sms_reply", api.events.generate_sns_event(message=f"not json {MARKER} {PHONE}"))
    text = logged(caplog)
    assert "dropped a malformed inbound SMS" in text
    assert MARKER not in text and PHONE not in text and "555-0199" not in text
    # What is logged is enough to tell what was wrong: the fields and pydantic's error types.
    assert "originationNumber" in text and "string_too_long" in text and "missing" in text
    assert "json_invalid" in text


def test_a_reply_that_could_not_be_sent_is_logged_without_the_number(api, stack, caplog):
    from botocore.exceptions import ClientError

    from chalicelib.platform import aws

    def refused(**kwargs):
        raise ClientError({"Error": {"Code": "InvalidParameter",
                                     "Message": f"Invalid parameter: PhoneNumber {PHONE}"}}, "Publish")

    aws.client("sns").meta.events.register("before-call.sns.Publish", refused)
    message_id = str(uuid.uuid4())
    with caplog.at_level(logging.DEBUG):
        sms_in(api, "HELP", message_id=message_id)  # answered with a courtesy reply, best effort
    text = logged(caplog)
    assert f"reply to inbound SMS {message_id} not sent" in text and "InvalidParameter" in text
    assert PHONE not in text and MARKER not in text
