"""Languages: every text a customer reads (emails, SMS, pages) comes from a message catalog.

English is the source language and its text is the key, as in gettext: code and templates say
`_("Thanks for contacting {company}.", company=...)`, and chalicelib/platform/catalogs/<tag>.json maps that
English text to the translation (flat JSON, which translation tools such as Weblate and Crowdin
edit directly). Placeholders are `{name}`, filled after translating, so a translation may move them.

A customer's locale picks the language, most specific first, message by message:
pt-BR → pt → the stage's default language → English. A regional catalog (pt-BR.json) only needs
the messages that differ; an unknown or missing locale falls back and never fails.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

CATALOGS_DIR = Path(__file__).resolve().parent / "catalogs"
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:
    """Marks a message kept in a table for translation later (gettext's gettext_noop)."""
    return message


@functools.cache
def _catalog_files() -> dict[str, Path]:
    """Catalog files by normalized tag: "pt-BR.json" and "pt-br.json" both answer "pt-br"."""
    return {normalize(path.stem): path for path in CATALOGS_DIR.glob("*.json") if normalize(path.stem)}


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The translations of one normalized language tag, empty if there is no catalog for it."""
    path = _catalog_files().get(language)
    return json.loads(path.read_text("utf-8")) if path else {}


def languages() -> frozenset[str]:
    """Every language with a catalog, plus the source language."""
    return frozenset({SOURCE_LANGUAGE} | _catalog_files().keys())


def normalize(tag: Optional[str]) -> str:
    """"pt_BR", "PT-br" → "pt-br"; anything that is no language tag → ""."""
    tag = (tag or "").strip().replace("_", "-").lower()
    return tag if re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{1,8})*", tag) else ""


def _with_parents(tag: str) -> list[str]:
    """"zh-hant-tw" → ["zh-hant-tw", "zh-hant", "zh"]."""
    parts = tag.split("-") if tag else []
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


def has_language(tag: Optional[str]) -> bool:
    """True if texts for `tag` exist (its own catalog or its language's: "de-AT" → de)."""
    return any(candidate in languages() for candidate in _with_parents(normalize(tag)))


@dataclass(frozen=True)
class Translator:
    """Texts in one customer's language; `chain` is where each message is looked up, in order."""
    chain: tuple[str, ...]

    @property
    def language(self) -> str:
        """The language the customer gets (for `lang` attributes and Content-Language)."""
        return self.chain[0]

    def gettext(self, message: str, **values) -> str:
        text = message
        for language in self.chain:
            if language == SOURCE_LANGUAGE:
                break
            translated = catalog(language).get(message)
            if translated:
                text = translated
                break
        return text.format(**values) if values else text

    __call__ = gettext


# English needs no catalog: made directly, it reads no file (scoring uses it at import time).
ENGLISH = Translator((SOURCE_LANGUAGE,))


@functools.lru_cache(maxsize=512)  # locales come from API callers: bounded
def _translator(locale: str, default_language: str) -> Translator:
    wanted = _with_parents(locale) + _with_parents(default_language) + [SOURCE_LANGUAGE]
    chain = tuple(dict.fromkeys(tag for tag in wanted if tag in languages()))
    return Translator(chain)


def translator(locale: Optional[str], default_language: str = SOURCE_LANGUAGE) -> Translator:
    """The texts for a customer's locale (a language tag such as "pt-BR", or None)."""
    return _translator(normalize(locale), normalize(default_language))


def from_accept_language(header: Optional[str], default_language: str = SOURCE_LANGUAGE) -> Translator:
    """For a page with no survey behind it (a broken link): the browser's best language we have."""
    ranked = []
    for position, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = re.fullmatch(r"\s*q\s*=\s*([01](?:\.[0-9]{0,3})?)\s*", params)
        weight = 1.0 if not params.strip() else float(quality.group(1)) if quality else 0.0  # malformed: ignored
        if weight > 0 and normalize(tag):
            ranked.append((-weight, position, normalize(tag)))
    for _, _, tag in sorted(ranked):
        if has_language(tag):
            return translator(tag, default_language)
    return translator(None, default_language)
