"""The topics' handlers never crash on a message they cannot read: an SMS reply or an SES notice
that is not JSON, nests 3,000 deep, repeats keys, holds huge numbers or lone surrogates, or has
wrong types in the provider's fields is dropped (a crash would make SNS retry it in vain)."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT

FIELDS = ["originationNumber", "destinationNumber", "messageBody", "inboundMessageId", "messageKeyword",
          "notificationType", "eventType", "bounce", "complaint", "mail", "bounceType", "bouncedRecipients",
          "complainedRecipients", "emailAddress", "messageId"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10),
                    st.sampled_from(["+14155550123", "STOP", "9", "Permanent", "Bounce", "Complaint", "\ud800"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3)),
                      max_leaves=8)
messages = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=6).map(json.dumps),
    st.builds(lambda n: "[" * n + "]" * n, st.integers(30, 3000)),
    st.sampled_from(['{"messageBody": "STOP", "messageBody": "START"}', '{"inboundMessageId": NaN}',
                     '{"bounce": ' + "9" * 5000 + "}", '{"mail": "\\ud800"}', "\ud800", "", "null"]),
    st.text(max_size=50))


def test_no_sns_handler_crashes_on_a_generated_message(api, stack):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
        @settings(max_examples=60, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(messages)
        def each(message):
            for handler in ("handle_sms_reply", "handle_ses_notice"):
                # invoke raises what the handler raises
                client.lambda_.invoke(handler, client.events.generate_sns_event(message=message))

        each()
