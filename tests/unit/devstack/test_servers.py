"""The local stack's HTTP servers take a burst: 50 clients connecting at once, before the server
has accepted any of them, are all held in the listen backlog (http.server's default of 5 dropped
all but six), and each then gets its answer."""
from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

CLIENTS = 50


def outbox_server():
    from devstack import outbox

    return outbox.make_server(outbox.Outbox("arn:aws:sns:us-east-1:123456789012:alerts"), "127.0.0.1", 0)


def app_server():
    from chalice import Chalice
    from chalice.cli.factory import CLIFactory
    from chalice.config import Config

    from devstack.servers import app_server
    from tests.conftest import ROOT

    app = Chalice("burst")
    app.route("/health")(lambda: {"status": "ok"})
    return app_server(CLIFactory(project_dir=str(ROOT)), app, Config.create(chalice_app=app), "127.0.0.1", 0).server


def connect_together(port: int) -> list[socket.socket]:
    """CLIENTS connections opened at the same moment; each must complete its handshake within 3 s."""
    barrier = threading.Barrier(CLIENTS)

    def connect(_):
        barrier.wait()
        return socket.create_connection(("127.0.0.1", port), timeout=3)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(connect, range(CLIENTS)))


@pytest.mark.parametrize("make, path", [(outbox_server, "/outbox.json"), (app_server, "/health")])
def test_50_simultaneous_clients_are_all_held_then_answered(make, path):
    server = make()
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    try:
        sockets = connect_together(server.server_address[1])  # nothing accepts yet: all wait in the backlog
        serving.start()
        for sock in sockets:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        for sock in sockets:
            with sock, sock.makefile("rb") as answer:
                assert answer.readline().split()[1] == b"200"
    finally:
        if serving.is_alive():
            server.shutdown()
        server.server_close()


def test_the_outbox_answers_a_deeply_nested_sms_reply_with_400_naming_from():
    import http.client
    import json

    server = outbox_server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        connection.request("POST", "/sms/inbound", body=b"[" * 3000 + b"]" * 3000)
        answer = connection.getresponse()
        assert answer.status == 400 and json.loads(answer.read())["field"] == "from"
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
