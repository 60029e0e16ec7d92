"""Lazily created, shared boto3 clients.

One botocore session serves every client, and each client is created on first use, so importing
the app stays cheap on a cold start and tests can start their mocks before any client exists.
"""
from __future__ import annotations

import functools

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling and transient errors inside each call.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
# DynamoDB checks every request itself and answers a ValidationException naming the parameter;
# botocore's own check of the same, before sending, took 0.4 ms of each call on the response path
# (make bench: throughput), a tenth of recording a response.
_SERVER_VALIDATES = {"dynamodb"}
# A call whose answer is only a refinement (a model re-tagging a comment, why/models.py): a short
# wait and one retry at most, then the caller falls back to what it has.
QUICK_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=2, read_timeout=5)


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@functools.cache
def client(service: str):
    config = _CLIENT_CONFIG.merge(Config(parameter_validation=False)) if service in _SERVER_VALIDATES else _CLIENT_CONFIG
    return _session().client(service, config=config)


@functools.cache
def quick_client(service: str):
    return _session().client(service, config=QUICK_CONFIG)


def reset_clients() -> None:
    client.cache_clear()
    quick_client.cache_clear()
    _session.cache_clear()
