"""Survey emails go out with the stage's SES configuration set (CLOSELOOP_SES_CONFIGURATION_SET,
recorded by the bootstrap), which publishes their bounces and complaints to the notices topic."""
from __future__ import annotations

import pytest

from chalicelib.delivery import email as survey_email
from chalicelib.platform import aws
from chalicelib.platform.settings import Settings
from tests.unit.delivery.test_email_render import a_survey


class SesV2:
    def __init__(self):
        self.sent: list[dict] = []

    def send_email(self, **kwargs):
        self.sent.append(kwargs)
        return {"MessageId": "m-1"}


@pytest.mark.parametrize("configuration_set, expected", [("closeloop-dev", {"ConfigurationSetName": "closeloop-dev"}),
                                                         ("", {})])
def test_a_survey_email_names_the_configuration_set_when_the_stage_has_one(monkeypatch, configuration_set, expected):
    ses = SesV2()
    monkeypatch.setattr(aws, "client", lambda service: ses if service == "sesv2" else None)
    settings = Settings(sender_email="surveys@example.com", ses_configuration_set=configuration_set)

    survey_email.send(a_survey(), settings, token="t0ken")

    [sent] = ses.sent
    assert {k: v for k, v in sent.items() if k == "ConfigurationSetName"} == expected
    assert sent["FromEmailAddress"] == "surveys@example.com"
