"""Jinja2 for emails, SMS and pages, with autoescaping on for HTML and every value made inert
(no control characters: platform/inert.py).

Templates are found next to the code (templates/ at the project root, shipped as vendor/templates
in the Lambda zip, which unpacks beside chalicelib/), never relative to the working directory.
A `Page` is what a page answer holds before the HTTP edge renders it under its headers
(chalicelib/platform/edge.py), so the domain builds pages without knowing about HTTP.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from chalicelib.platform import i18n, inert
from chalicelib.platform.settings import get_settings

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


@functools.cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        finalize=inert.without_controls,  # customer text in any template (platform/inert.py)
    )


def render(name: str, **context) -> str:
    """Render a template; `_` (an i18n.Translator) is the template's gettext when given."""
    template = environment().get_template(name)
    translate = context.get("_")
    if translate is not None and template.environment.autoescape(name):
        # Messages are ours (like the template itself); the values put in them are escaped.
        context["_"] = lambda message, **values: Markup(translate(message)).format(**values)
    return template.render(**context)


@dataclass(frozen=True)
class Page:
    """An HTML page to answer with: its template, status, language (Content-Language) and values."""
    template: str
    status: int = 200
    language: str = "en"
    context: dict = field(default_factory=dict)


def page(template: str, _: i18n.Translator, status: int = 200, **context) -> Page:
    """A page of templates/pages/ in the language `_` speaks (the survey's customer's, or the browser's)."""
    return Page(f"pages/{template}", status, _.language, {"_": _, "lang": _.language, **context})


def browser_page(template: str, accept_language: Optional[str], status: int = 200, **context) -> Page:
    """A page with no survey behind it: in the browser's language (its Accept-Language header)."""
    return page(template, i18n.from_accept_language(accept_language, get_settings().default_language), status,
                **context)
