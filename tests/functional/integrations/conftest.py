"""The fake helpdesk APIs (devstack/helpdesks.py) on loopback, with the stage pointed at them."""
from __future__ import annotations

import pytest

from tests.conftest import reset_caches


@pytest.fixture
def helpdesks(stack, monkeypatch):
    from devstack.helpdesks import FakeHelpdesks

    fakes = FakeHelpdesks().start()
    env = {"CLOSELOOP_ZENDESK_API_URL": fakes.url("zendesk"), "CLOSELOOP_ZENDESK_EMAIL": "agent@example.com",
           "CLOSELOOP_ZENDESK_API_TOKEN": "zd-token", "CLOSELOOP_FRESHDESK_API_URL": fakes.url("freshdesk"),
           "CLOSELOOP_FRESHDESK_API_KEY": "fd-key", "CLOSELOOP_INTERCOM_API_URL": fakes.url("intercom"),
           "CLOSELOOP_INTERCOM_ADMIN_ID": "991267618", "CLOSELOOP_INTERCOM_ACCESS_TOKEN": "ic-token"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    yield fakes
    fakes.stop()
