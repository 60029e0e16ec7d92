"""How a room's `__init__.py` exposes its public names: each is imported from its module on first use.

A room lists what it offers, module by module, and `exports` turns the list into the package's
`__getattr__` and `__all__` (PEP 562, the "lazy loader" of scientific Python's SPEC 1). Importing a
room then costs nothing until a name is used, so a survey page never loads the dashboard, and two
rooms that call each other cannot tie their `__init__`s into an import cycle.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable


def exports(package: str, names: dict[str, tuple[str, ...]], modules: tuple[str, ...] = ()
            ) -> tuple[Callable[[str], Any], list[str]]:
    """(`__getattr__`, `__all__`) for `package`: its public `names` (module -> names defined there)
    and the public `modules` other rooms may use whole (e.g. `scoring`)."""
    owners = {name: module for module, defined in names.items() for name in defined}

    def __getattr__(name: str) -> Any:
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        module = owners.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # found once: later lookups skip this function
        return value

    return __getattr__, sorted([*owners, *modules])
