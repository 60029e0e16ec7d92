"""Jinja2 for emails, SMS and pages, with autoescaping on for HTML.

Templates are found next to the code (templates/ at the project root, shipped as vendor/templates
in the Lambda zip, which unpacks beside chalicelib/), never relative to the working directory.
"""
from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@functools.cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def render(name: str, **context) -> str:
    """Render a template; `_` (an i18n.Translator) is the template's gettext when given."""
    template = environment().get_template(name)
    translate = context.get("_")
    if translate is not None and template.environment.autoescape(name):
        # Messages are ours (like the template itself); the values put in them are escaped.
        context["_"] = lambda message, **values: Markup(translate(message)).format(**values)
    return template.render(**context)
