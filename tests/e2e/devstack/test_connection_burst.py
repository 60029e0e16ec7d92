"""`make run`'s servers hold a burst: 50 clients that connect at the same moment each get an answer,
none is reset (the app and the outbox listen with a backlog of 128: devstack/servers.py)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

CLIENTS = 50


def burst(url: str) -> list[int]:
    barrier = threading.Barrier(CLIENTS)

    def get(_):
        barrier.wait()
        with requests.Session() as session:  # a connection of its own each
            return session.get(url, timeout=30).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(get, range(CLIENTS)))


def test_50_simultaneous_clients_of_the_app_all_get_an_answer(local_stack):
    assert burst(local_stack.app_url + "/health") == [200] * CLIENTS


def test_50_simultaneous_clients_of_the_outbox_all_get_an_answer(local_stack):
    assert burst(local_stack.outbox_url + "/outbox.json") == [200] * CLIENTS
