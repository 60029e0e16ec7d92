"""A helper server in a process of its own on a loopback port (DynamoDB Local, moto's server)."""
from __future__ import annotations

import socket
import subprocess
import time


def wait_until_listening(process: subprocess.Popen, port: int, name: str, seconds: float = 30) -> None:
    """Return once `port` accepts connections; raise (and stop the process) if it exits or times out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{name} did not start within {seconds:g} s")


def stop(process: subprocess.Popen | None) -> None:
    """Terminate, then kill if it does not exit within 5 s."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
