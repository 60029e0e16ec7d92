"""Chalice, with bytecode in the Lambda zip: `python -m ops.bytecode deploy|package ...` runs
chalice's own command line, its zips carrying compiled `.pyc` files next to every module.

A Chalice zip ships sources only, and Lambda's /var/task is read-only, so every cold start
compiled app.py, chalicelib, pydantic and jinja2 afresh before the first request (make bench:
cold start). Python reads bytecode from a read-only folder, if it can trust it without writing:
each `__pycache__/<module>.cpython-3XX.pyc` here is compiled by this interpreter, which must be
the stage's runtime version (chalice picks the runtime from it, too), with the unchecked-hash
invalidation mode (PEP 552): Python loads it without comparing it with the source's timestamp,
which an unzipped file does not keep. Tracebacks still name the sources, at /var/task.

`make package` and `make deploy` (ops/bootstrap.py) run chalice this way; a bare `chalice deploy`
works too, without the bytecode.
"""
from __future__ import annotations

import compileall
import functools
import os
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

# Where Lambda unpacks a function's zip, and a layer's.
TASK_ROOT, LAYER_ROOT = "/var/task", "/opt"
MARKER = "__pycache__/.closeloop-bytecode"  # a zip that has it was compiled already (chalice reuses zips)
# Shipped but never imported (pydantic's copy of its version 1): no bytecode, to keep the zip small.
NOT_COMPILED = ("pydantic/v1/",)


def runtime_of_this_python() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def add_bytecode(zip_path: str, runtime: str, root: str = TASK_ROOT) -> int:
    """Compile every module in the zip for `runtime` into it; returns how many (0 if done before)."""
    if runtime != runtime_of_this_python():
        raise RuntimeError(f"the stage runs {runtime} but this is {runtime_of_this_python()}: its bytecode would "
                           "not load there; run chalice from a virtualenv of the runtime's Python version")
    recipe = f"compiled for {runtime} by {__name__}, all but {', '.join(NOT_COMPILED)}\n"
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        if MARKER in names and archive.read(MARKER).decode() == recipe:
            return 0
    if any("__pycache__/" in name for name in names):
        _strip_bytecode(zip_path)  # compiled another way before (chalice reuses its zips)
    with zipfile.ZipFile(zip_path) as archive, tempfile.TemporaryDirectory(prefix="closeloop-bytecode-") as folder:
        for name in archive.namelist():
            if name.endswith(".py") and not name.startswith(NOT_COMPILED):
                archive.extract(name, folder)
        compileall.compile_dir(folder, quiet=2, ddir=root, workers=0,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        compiled = sorted(Path(folder).rglob("*.pyc"))
        with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED) as out:
            for path in compiled:
                out.write(path, str(path.relative_to(folder)))
            out.writestr(MARKER, recipe)
    return len(compiled)


def _strip_bytecode(zip_path: str) -> None:
    kept = zip_path + ".tmp"
    with zipfile.ZipFile(zip_path) as archive, zipfile.ZipFile(kept, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in archive.infolist():
            if "__pycache__/" not in entry.filename:
                out.writestr(entry, archive.read(entry.filename))
    os.replace(kept, zip_path)


def _with_bytecode(create, root: str):
    @functools.wraps(create)
    def create_deployment_package(self, project_dir: str, python_version: str) -> str:
        zip_path = create(self, project_dir, python_version)
        added = add_bytecode(zip_path, python_version, root)
        if added:
            self._ui.write(f"Compiled {added} modules into the deployment package.\n")
        return zip_path
    return create_deployment_package


def install() -> None:
    """Make chalice's packagers compile what they zip (function zips, and layers if a stage has one)."""
    from chalice.deploy import packager

    for cls, root in ((packager.LambdaDeploymentPackager, TASK_ROOT),
                      (packager.AppOnlyDeploymentPackager, TASK_ROOT),
                      (packager.LayerDeploymentPackager, LAYER_ROOT)):
        if "create_deployment_package" in vars(cls):
            cls.create_deployment_package = _with_bytecode(vars(cls)["create_deployment_package"], root)


def main(argv: list[str]) -> int:
    from chalice.cli import main as chalice_main

    install()
    sys.argv = ["chalice", *argv]
    return chalice_main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
