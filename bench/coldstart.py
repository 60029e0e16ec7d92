"""Cold start: a fresh Python process imports an app and serves its first request, then exits.

The packaged variant is what Lambda runs: the prod stage's zip as `make package` builds it
(ops/bytecode.py compiles it), unpacked into a read-only folder, with the stage's settings in the
environment; the minimal app gets the same zip's dependencies, compiled the same way.

Measured from spawn to exit with the wall clock, as Lambda's init + first invoke would see it
(minus the runtime's own bootstrap). Two apps, run alternately so drift hits both alike:
- closeloop: /work/main/app.py serving GET /s/{token}/{score} of a real survey (a GetItem,
  a PutItem of the page view, and the landing page rendered with Jinja2);
- minimal: a Chalice app that imports boto3, pydantic's BaseModel and jinja2's Environment and
  does one PutItem per request (written to a temp dir, never into the repo).
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from bench.env import ROOT, child_env, stage_settings
from bench.events import one_click_get

# The child: import the app from `app_dir`, invoke its handler once with the event, check the status,
# and print when it started, had imported the app and had served the request. time.monotonic() is
# CLOCK_MONOTONIC on Linux, one clock for every process, so the parent can place these between its
# own spawn and exit times.
CHILD = """\
import time
started = time.monotonic()
import json, sys
sys.path.insert(0, sys.argv[1])
from app import app
imported = time.monotonic()
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; aws_request_id = "cold-start"
    def get_remaining_time_in_millis(self):
        return 30000
response = app(json.loads(sys.argv[2]), Context())
served = time.monotonic()
if response["statusCode"] != 200:
    sys.exit("status %s: %s" % (response["statusCode"], str(response.get("body"))[:500]))
print(repr(started), repr(imported), repr(served))
"""

MINIMAL_APP = '''\
"""A minimal Chalice app with closeloop's heavy dependencies imported and one PutItem per request."""
import os

import boto3
from chalice import Chalice
from jinja2 import Environment  # noqa: F401 - imported for its cost, as closeloop does
from pydantic import BaseModel  # noqa: F401

app = Chalice(app_name="minimal")
_client = None


@app.route("/s/{token}/{score}", methods=["GET"])
def one_click(token, score):
    global _client
    if _client is None:
        _client = boto3.client("dynamodb")
    _client.put_item(TableName=os.environ["CLOSELOOP_TABLE_NAME"],
                     Item={"pk": {"S": "MINIMAL#" + token}, "sk": {"S": score}})
    return {"ok": True}
'''


@dataclass(frozen=True)
class Run:
    wall_ms: float     # spawn to exit: the figure
    startup_ms: float  # spawn until the child's first line runs (interpreter and site startup)
    import_ms: float   # `from app import app` (json and sys included)
    call_ms: float     # the first request: client creation, DynamoDB requests, rendering
    exit_ms: float     # interpreter shutdown after the response (Lambda keeps the process: not paid there)

    @property
    def served_ms(self) -> float:
        """Spawn until the response is ready: what a Lambda cold start would cost of this process."""
        return self.startup_ms + self.import_ms + self.call_ms


@dataclass
class Samples:
    closeloop: list[Run]
    minimal: list[Run]

    def median(self, app: str, part: str = "wall_ms") -> float:
        return statistics.median(getattr(run, part) for run in getattr(self, app))

    @property
    def ratio(self) -> float:
        return self.median("closeloop") / self.median("minimal")


def write_minimal_app(folder: Path) -> Path:
    (folder / "app.py").write_text(MINIMAL_APP)
    return folder


# What a Chalice zip carries, so ships without bytecode: app.py, chalicelib/, the requirements
# (jinja2, pydantic and their dependencies) and chalice's own runtime. boto3 comes with Lambda.
ZIP_PACKAGES = frozenset({"chalice", "jinja2", "markupsafe", "pydantic", "pydantic_core", "typing_extensions",
                          "annotated_types", "typing_inspection"})


# The packaged variant reads the bytecode next to each module (its __pycache__ folders), as Lambda does.
PACKAGED = Path("packaged")


def run_once(app_dir: Path, event: dict, endpoint: str, pycache: Optional[Path] = None, write: bool = False,
             extra_args: tuple = ()) -> tuple[Run, str]:
    """One fresh process; returns its timings and its stderr.

    Bytecode is read from (and, with `write`, written to) the PYTHONPYCACHEPREFIX tree `pycache`;
    None gives each run a fresh empty one, so every module is compiled from source; PACKAGED runs
    an unpacked zip (packaged_apps) with the stage's settings. Nothing is ever written into the
    repository's or the venv's __pycache__ folders.
    """
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as empty:
        if pycache == PACKAGED:
            extra = {**stage_settings("prod"), "PYTHONDONTWRITEBYTECODE": "1"}
        else:
            extra = {"PYTHONPYCACHEPREFIX": str(pycache or empty)}
        if not write:
            extra["PYTHONDONTWRITEBYTECODE"] = "1"
        command = [sys.executable, *extra_args, "-c", CHILD, str(app_dir), json.dumps(event)]
        env = child_env(endpoint, extra)
        spawned = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        ended = time.monotonic()
    if done.returncode != 0:
        raise RuntimeError(f"cold-start child for {app_dir} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    started, imported, served = map(float, done.stdout.split())
    run = Run(wall_ms=(ended - spawned) * 1000, startup_ms=(started - spawned) * 1000,
              import_ms=(imported - started) * 1000, call_ms=(served - imported) * 1000,
              exit_ms=(ended - served) * 1000)
    return run, done.stderr


@dataclass(frozen=True)
class Caches:
    everything: Path    # bytecode of every module both apps import
    runtime_only: Path  # the same minus what a Chalice zip ships: stdlib, boto3 and botocore stay


def prepare_caches(folder: Path, token: str, endpoint: str, minimal_dir: Path) -> Caches:
    """Fill a bytecode tree with untimed runs of both apps, then derive the runtime-only tree."""
    everything, runtime_only = folder / "everything", folder / "runtime-only"
    event = one_click_get(token, 4)
    for app_dir in (ROOT, minimal_dir):
        run_once(app_dir, event, endpoint, everything, write=True)
    shutil.copytree(everything, runtime_only)
    site_packages = Path(sysconfig.get_paths()["purelib"])
    for pyc in list(runtime_only.rglob("*.pyc")):
        if _ships_in_zip(Path("/", pyc.relative_to(runtime_only)), site_packages, minimal_dir):
            pyc.unlink()
    return Caches(everything, runtime_only)


def _ships_in_zip(source: Path, site_packages: Path, minimal_dir: Path) -> bool:
    """Is this module (named by the path of its bytecode in the prefix tree) part of a Chalice zip?"""
    if source.is_relative_to(site_packages):
        return source.relative_to(site_packages).parts[0].split(".")[0] in ZIP_PACKAGES
    if source.parent == ROOT and source.name.startswith("app."):
        return True
    return source.is_relative_to(ROOT / "chalicelib") or source.is_relative_to(minimal_dir)


def measure(token: str, endpoint: str, minimal_dir: Path, runs: int, pycache: Optional[Path],
            closeloop_dir: Path = ROOT) -> Samples:
    """`runs` cold starts of each app, alternating, reading bytecode from `pycache` (None: none)."""
    event = one_click_get(token, 4)
    samples = Samples([], [])
    for _ in range(runs):
        samples.closeloop.append(run_once(closeloop_dir, event, endpoint, pycache)[0])
        samples.minimal.append(run_once(minimal_dir, event, endpoint, pycache)[0])
    return samples


# --- the packaged zip --------------------------------------------------------------------------

@dataclass(frozen=True)
class Packaged:
    closeloop: Path     # the prod zip, unpacked, read-only
    minimal: Path       # the minimal app on the same zip's dependencies, read-only
    zip_bytes: int
    modules: int        # .py files in the zip, each with its bytecode


def packaged_apps(folder: Path) -> Packaged:
    """Build the prod stage's zip as `make package` does and unpack it as Lambda would; the same
    dependencies with the minimal app beside. The zip's pydantic_core is built for Lambda's arm64:
    this machine's own build of the same version stands in (tests/packaging/test_package.py)."""
    import pydantic_core

    from ops.bytecode import add_bytecode, runtime_of_this_python

    out = folder / "dist"
    subprocess.run([sys.executable, "-m", "ops.bytecode", "package", "--stage", "prod", str(out)], cwd=ROOT,
                   env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}, check=True, capture_output=True)
    archive = out / "deployment.zip"
    closeloop, minimal = folder / "task", folder / "minimal-task"
    with zipfile.ZipFile(archive) as unzipped:
        unzipped.extractall(closeloop)
        modules = sum(1 for name in unzipped.namelist() if name.endswith(".py"))
    native = Path(pydantic_core.__file__).parent
    shutil.rmtree(closeloop / "pydantic_core")
    shutil.copytree(native, closeloop / "pydantic_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(closeloop, minimal, ignore=lambda folder, names: _closeloop_own(closeloop, folder, names))
    minimal_zip = folder / "minimal.zip"
    with zipfile.ZipFile(minimal_zip, "w") as built:
        built.writestr("app.py", MINIMAL_APP)
        for source in native.rglob("*.py"):
            built.writestr(f"pydantic_core/{source.relative_to(native)}", source.read_text())
    add_bytecode(str(minimal_zip), runtime_of_this_python())
    with zipfile.ZipFile(minimal_zip) as built:
        built.extractall(minimal)
    # The stand-in pydantic_core's modules compiled as the zip's others are, in both folders.
    with zipfile.ZipFile(minimal_zip) as built:
        for name in built.namelist():
            if name.startswith("pydantic_core/__pycache__/"):
                built.extract(name, closeloop)
    for path in (closeloop, minimal):
        read_only(path)
    return Packaged(closeloop, minimal, archive.stat().st_size, modules)


def _closeloop_own(task: Path, folder: str, names: list[str]) -> set[str]:
    """What of the unpacked zip is closeloop's own (the minimal app's copy leaves it out)."""
    if Path(folder) == task:
        return {"app.py", "chalicelib", "templates"} & set(names)
    if Path(folder) == task / "__pycache__":
        return {name for name in names if name.startswith("app.")}
    return set()


def read_only(path: Path, writable: bool = False) -> None:
    """As /var/task is (or, with `writable`, back again so the folder can be removed)."""
    for item in [path, *path.rglob("*")]:
        mode = item.stat().st_mode
        item.chmod(mode | 0o200 if writable else mode & ~0o222)


# --- where the time goes (-X importtime) ---------------------------------------------------

GROUPS = (("boto3/botocore", ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3")),
          ("pydantic", ("pydantic", "pydantic_core", "typing_extensions", "annotated_types", "typing_inspection")),
          ("jinja2", ("jinja2", "markupsafe")),
          ("chalice", ("chalice",)),
          ("chalicelib + app", ("chalicelib", "app")))


def import_breakdown(app_dir: Path, token: str, endpoint: str, pycache: Optional[Path],
                     runs: int = 3) -> dict[str, float]:
    """Median import ms per group of top-level packages (and "all imports") over -X importtime runs."""
    samples = [_import_groups(app_dir, token, endpoint, pycache) for _ in range(runs)]
    return {group: statistics.median(s[group] for s in samples) for group in samples[0]}


def _import_groups(app_dir: Path, token: str, endpoint: str, pycache: Optional[Path]) -> dict[str, float]:
    _, stderr = run_once(app_dir, one_click_get(token, 4), endpoint, pycache, extra_args=("-X", "importtime"))
    by_top: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, _, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        top = name.strip().split(".")[0]
        by_top[top] = by_top.get(top, 0.0) + int(self_us) / 1000
    groups: dict[str, float] = {}
    claimed = set()
    for label, tops in GROUPS:
        groups[label] = sum(by_top.get(t, 0.0) for t in tops)
        claimed.update(tops)
    groups["stdlib + other"] = sum(ms for top, ms in by_top.items() if top not in claimed)
    groups["all imports"] = sum(by_top.values())
    return groups
