"""The whole local stack (`python -m devstack`) on free ports, and headless Chromium to drive it."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
API_KEY = "browser-test-key"


class LocalStack:
    def __init__(self, *arguments: str):
        """`python -m devstack` with `arguments` (e.g. "--demo"), on free ports."""
        from devstack.dynamodb_local import free_port

        self.port, self.outbox_port = free_port(), free_port()
        self.app_url = f"http://127.0.0.1:{self.port}"
        self.outbox_url = f"http://127.0.0.1:{self.outbox_port}"
        self.headers = {"Authorization": f"Bearer {API_KEY}"}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOSELOOP_"))}
        env["CLOSELOOP_API_KEY"] = API_KEY
        # Given rather than read back from .cache/devstack.json, which a `make run` beside the tests
        # would overwrite; random all the same. product -> secret, for signing helpdesk webhooks.
        from devstack import HELPDESK_SECRETS

        self.helpdesk_secrets = {product: secrets.token_urlsafe(24) for product in HELPDESK_SECRETS}
        env.update({HELPDESK_SECRETS[product]: secret for product, secret in self.helpdesk_secrets.items()})
        # A file, not a pipe: nobody reads a pipe while tests run, and a full one would block the stack.
        self.log = tempfile.NamedTemporaryFile("w+", prefix="devstack-", suffix=".log")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "--port", str(self.port), "--outbox-port", str(self.outbox_port), *arguments],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the local stack exited:\n" + self.output())
            try:
                requests.get(self.outbox_url + "/outbox.json", timeout=1).raise_for_status()
                requests.get(self.app_url + "/s/x", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the local stack did not start within 60 s")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def post_interaction(self, **body) -> dict:
        response = requests.post(self.app_url + "/v1/interactions", json=body, headers=self.headers, timeout=10)
        assert response.status_code == 202, response.text
        return response.json()

    def survey(self, survey_id: str) -> dict:
        return requests.get(f"{self.app_url}/v1/surveys/{survey_id}", headers=self.headers, timeout=10).json()

    def outbox(self) -> list[dict]:
        return requests.get(self.outbox_url + "/outbox.json", timeout=10).json()

    def wait_for(self, predicate, timeout: float = 15, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    def message_to(self, address: str, channel: str = "email", timeout: float = 15) -> dict:
        return self.wait_for(lambda: next((m for m in self.outbox() if m["channel"] == channel
                                           and address in m["to"]), None), timeout, f"{channel} to {address}")


@pytest.fixture(scope="session")
def local_stack():
    stack = LocalStack()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()
