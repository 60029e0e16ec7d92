"""The local AWS emulator (moto in server mode) for the bootstrap and teardown of a stage, and a
copy of .chalice/config.json for them to record into: the repository's own is never touched."""
from __future__ import annotations

import logging
import shutil

import pytest
import requests

from ops.bootstrap import Clients
from tests.conftest import REGION, ROOT


@pytest.fixture(scope="session")
def emulator():
    """One moto server for the session; each test starts from an empty account (`aws` resets it)."""
    from moto.server import ThreadedMotoServer

    from devstack.dynamodb_local import free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


class RecordingClients(Clients):
    """The bootstrap's clients, on a session that records every AWS operation they call."""

    def __init__(self):
        import boto3

        session = boto3.session.Session(region_name=REGION)
        self.calls: list[str] = []
        # Registered before any client exists: each client copies the session's hooks when made.
        session.events.register("before-call", self._record)
        super().__init__(session)

    def _record(self, model, **_):
        self.calls.append(f"{model.service_model.service_id}.{model.name}")


def client(service: str):
    """A client for a test's own checks, outside the recording."""
    import boto3

    return boto3.session.Session(region_name=REGION).client(service)


@pytest.fixture
def aws(emulator, monkeypatch):
    requests.post(f"{emulator}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    return RecordingClients()


@pytest.fixture
def config_path(tmp_path):
    path = tmp_path / ".chalice" / "config.json"
    path.parent.mkdir()
    shutil.copy(ROOT / ".chalice" / "config.json", path)
    return path
