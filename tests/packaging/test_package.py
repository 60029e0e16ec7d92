"""`chalice package`, as `make package` runs it (ops/bytecode.py), builds a Lambda zip that holds the
handlers, templates and message catalogs with every module's bytecode, under 5 MB."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ops.bytecode import NOT_COMPILED
from tests.conftest import ROOT

MAX_ZIP_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run([sys.executable, "-m", "ops.bytecode", "package", "--stage", "dev", str(out)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return out


def unpack(package: Path, into: Path) -> Path:
    """The zip as Lambda unpacks it. Its pydantic_core is built for Lambda's arm64 and cannot load on
    this machine: this interpreter's own (the same version, pinned by pydantic) stands in."""
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(into)
    shutil.rmtree(into / "pydantic_core")
    return into


def test_the_zip_holds_the_app_every_template_and_no_sdk(package):
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        names = set(archive.namelist())
    templates = {str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*") if p.is_file()}
    assert templates and templates <= names, sorted(templates - names)
    catalogs = {str(p.relative_to(ROOT)) for p in (ROOT / "chalicelib" / "platform" / "catalogs").glob("*.json")}
    assert catalogs and catalogs <= names, sorted(catalogs - names)
    assert {"app.py", "chalicelib/surveys/intake.py", "chalicelib/delivery/email.py"} <= names
    assert "chalicelib/VERSION" in names  # GET /health reports it
    # boto3 comes with the Lambda runtime and chalice is a deploy tool: neither belongs in the zip.
    assert not [n for n in names if n.startswith(("boto3/", "botocore/", "chalice/cli/", "moto/"))]


def test_the_zip_stays_under_5_mb(package):
    assert (package / "deployment.zip").stat().st_size < MAX_ZIP_BYTES


def test_the_packaged_app_renders_its_pages_in_any_language_from_anywhere(package, tmp_path):
    unpacked = unpack(package, tmp_path / "task")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    script = ("import app; from chalicelib.platform.rendering import render; "
              "from chalicelib.platform.i18n import translator; "
              "print(render('pages/not_found.html', nonce='n', company='Acme', _=translator('fr'), lang='fr'))")
    result = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(unpacked), "AWS_DEFAULT_REGION": "us-east-1"})
    assert result.returncode == 0, result.stderr
    assert "Nous n'avons pas trouvé cette enquête" in result.stdout


def test_every_module_in_the_zip_has_bytecode_python_trusts_without_its_source(package):
    tag = sys.implementation.cache_tag  # cpython-311: the stage's runtime is this Python's version
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        names = set(archive.namelist())
        sources = [n for n in names if n.endswith(".py") and not n.startswith(NOT_COMPILED)]
        assert {"app.py", "chalicelib/api/events.py", "jinja2/environment.py", "pydantic/main.py"} <= set(sources)
        for source in sources:
            folder, _, module = source.rpartition("/")
            compiled = f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.{tag}.pyc"
            assert compiled in names, source
            flags = int.from_bytes(archive.read(compiled)[4:8], "little")
            assert flags == 0b01, f"{compiled}: not unchecked-hash bytecode (PEP 552 flags {flags:#b})"


def test_the_packaged_app_runs_from_a_read_only_folder_on_its_bytecode_alone(package, tmp_path):
    task = unpack(package, tmp_path / "task")
    # A source changed after compiling: Python loads the bytecode anyway, without comparing (it
    # could not rewrite it on a read-only folder, and an unzipped file keeps no timestamp to trust).
    (task / "chalicelib" / "platform" / "clock.py").write_text("raise SystemExit('the source ran, not the bytecode')\n")
    before = sorted(p.relative_to(task) for p in task.rglob("*"))
    for path in [task, *task.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        script = "import app; from chalicelib.platform import clock; print(clock.now().year > 2000)"
        result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": str(task), "AWS_DEFAULT_REGION": "us-east-1"})
    finally:
        for path in [task, *task.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr[-2000:]
    assert sorted(p.relative_to(task) for p in task.rglob("*")) == before  # nothing written


def test_the_template_wires_the_api_and_the_jobs_queue_handler_with_the_stage_policy(package):
    template = json.loads((package / "sam.json").read_text())
    functions = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    handlers = {f["Properties"]["Handler"] for f in functions.values()}
    assert {"app.app", "app.handle_job"} <= handlers
    events = [e for f in functions.values() for e in f["Properties"].get("Events", {}).values()]
    assert any(e["Type"] == "SQS" for e in events)


def test_the_template_subscribes_the_ses_notices_handler_to_its_topic(package):
    template = json.loads((package / "sam.json").read_text())
    functions = {r["Properties"]["Handler"]: r for r in template["Resources"].values()
                 if r["Type"] == "AWS::Serverless::Function"}
    events = list(functions["app.handle_ses_notice"]["Properties"]["Events"].values())
    assert [e["Type"] for e in events] == ["SNS"]
    assert events[0]["Properties"]["Topic"]["Fn::Sub"].endswith(":closeloop-ses-notices")


def test_the_template_runs_the_escalation_every_minute(package):
    template = json.loads((package / "sam.json").read_text())
    functions = {r["Properties"]["Handler"]: r for r in template["Resources"].values()
                 if r["Type"] == "AWS::Serverless::Function"}
    events = functions["app.escalate_overdue"]["Properties"]["Events"].values()
    assert [e["Properties"]["Schedule"] for e in events if e["Type"] == "Schedule"] == ["rate(1 minute)"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_deployed_stage_has_a_least_privilege_policy(stage):
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    # One policy per function (tests/packaging/test_least_privilege.py proves each against its calls).
    files = [f["iam_policy_file"] for f in config["stages"][stage]["lambda_functions"].values()]
    statements = [s for file in files for s in json.loads((ROOT / ".chalice" / file).read_text())["Statement"]]
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if a == "*" or a.endswith(":*")], "wildcard actions"
    table = config["stages"][stage]["environment_variables"]["CLOSELOOP_TABLE_NAME"]
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    resources = [r for s in dynamodb for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
    assert resources and all(r.endswith((f"table/{table}", f"table/{table}/index/*")) for r in resources)
    # Every DynamoDB call the code makes is granted to some function (a missing one fails only on AWS).
    used = set(re.findall(r"self\.db\.([a-z_]+)\(", (ROOT / "chalicelib" / "storage" / "table.py").read_text()))
    granted = {a.split(":")[1] for s in dynamodb for a in s["Action"]}
    needed = {"".join(w.capitalize() for w in call.split("_")) for call in used} - {"TransactWriteItems"}
    assert needed <= granted, sorted(needed - granted)
    assert sum("logs:PutLogEvents" in s["Action"] for s in statements) == len(files)
