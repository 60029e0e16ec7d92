"""The local stack's HTTP servers (the app on :8000, the outbox on :8001) hold a burst of connections.

http.server listens with a backlog of 5: a sixth connection that arrives before the server has
accepted the first ones is dropped, and under 20 simultaneous clients some were reset. Both
servers listen with BACKLOG instead.
"""
from __future__ import annotations

from http.server import ThreadingHTTPServer

BACKLOG = 128


class BurstHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server whose listen backlog takes a burst (the outbox's)."""
    request_queue_size = BACKLOG


def app_server(factory, app, config, host: str, port: int):
    """chalice local's server for `app`, built as `chalice local` builds it, listening with BACKLOG."""
    from chalice import local

    # The class chalice local serves with; its backlog is read when the server starts listening, just below.
    local.ThreadedHTTPServer.request_queue_size = BACKLOG
    return factory.create_local_server(app, config, host, port)
