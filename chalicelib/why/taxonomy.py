"""The stage's theme taxonomy: a JSON file of themes, each with a name and, per language, the
terms (words, phrases, `word*` prefixes) and optional patterns that find it in a comment.

The default is why/taxonomy.json; CLOSELOOP_THEMES_TAXONOMY names a stage's own file, a path
under chalicelib/ so that it ships in the package (docs/themes.md). `load_taxonomy` checks the
whole file (structure, languages, every pattern compiles) and raises TaxonomyError naming what
is wrong: `make deploy` runs it first (ops/checks.py), so a broken file never reaches a request.
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from chalicelib.platform import i18n

PACKAGE = Path(__file__).resolve().parent.parent  # chalicelib/: what the Lambda zip holds
DEFAULT = "why/taxonomy.json"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_THEME_FIELDS = {"key", "name", "terms", "patterns", "exclude", "negatable"}
_TOP_FIELDS = {"languages", "negations", "themes"}
_WORD = re.compile(r"\w[\w-]*\*?")  # a term's word: a `*` alone would match every comment


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used; the message names the file and the place."""


@dataclass(frozen=True)
class Theme:
    key: str
    name: str
    terms: dict[str, tuple[str, ...]]      # language -> terms as written
    patterns: dict[str, tuple[str, ...]]   # language -> regular expressions on normalized text
    exclude: dict[str, tuple[str, ...]]    # language -> terms whose words never count for this theme
    negatable: bool                        # a term after a negation ("not helpful") does not count


@dataclass(frozen=True)
class Taxonomy:
    languages: tuple[str, ...]
    negations: dict[str, frozenset[str]]
    themes: tuple[Theme, ...]

    def theme(self, key: str) -> Optional[Theme]:
        return next((theme for theme in self.themes if theme.key == key), None)


def normalize(text: str) -> str:
    """Lowercase, accents off (ß as ss), English "n't" kept as "nt" (didn't: didnt), any other
    apostrophe a space (l'attente: l attente): comments and terms are compared in this form."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'").replace("\u2018", "'"))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"n't\b", "nt", text).replace("'", " ")


def term_regex(term: str) -> str:
    """A term as a regular expression on normalized text: whole words, `*` a word's ending,
    spaces any run of spaces or hyphens."""
    words = []
    for word in normalize(term).split():
        words.append(re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word))
    return r"(?<!\w)" + r"[\s\-]+".join(words) + r"(?!\w)"


def stage_file(name: str = "") -> Path:
    """The taxonomy file a stage names (relative to chalicelib/; empty: the default)."""
    path = (PACKAGE / (name or DEFAULT)).resolve()
    if PACKAGE not in path.parents or path.suffix != ".json":
        raise TaxonomyError(f"CLOSELOOP_THEMES_TAXONOMY {name!r}: a .json file under chalicelib/, e.g. {DEFAULT}")
    return path


@functools.cache
def load_taxonomy(name: str = "") -> Taxonomy:
    """The checked taxonomy of the file `name` (cached per container: it never changes there)."""
    path = stage_file(name)
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise TaxonomyError(f"{path.name}: cannot read it as JSON: {error}") from error
    return parse_taxonomy(data, path.name)


def parse_taxonomy(data, where: str = "taxonomy") -> Taxonomy:
    """Check a taxonomy's structure and compile every regular expression once to prove it."""
    if not isinstance(data, dict) or set(data) - _TOP_FIELDS or not {"languages", "themes"} <= set(data):
        raise TaxonomyError(f"{where}: an object with languages, themes and optional negations")
    known = {tag.split("-")[0] for tag in i18n.languages()} | {i18n.SOURCE_LANGUAGE}
    languages = data["languages"]
    if not isinstance(languages, list) or not languages or not all(isinstance(tag, str) for tag in languages):
        raise TaxonomyError(f"{where}: languages must be a list of language tags")
    for tag in languages:
        if tag not in known:
            raise TaxonomyError(f"{where}: unknown language {tag!r}; known: {', '.join(sorted(known))}")
    negations = _by_language(data.get("negations", {}), languages, f"{where}: negations")
    themes = data["themes"]
    if not isinstance(themes, list) or not themes:
        raise TaxonomyError(f"{where}: themes must be a non-empty list")
    parsed = tuple(_theme(theme, languages, f"{where}: themes[{index}]") for index, theme in enumerate(themes))
    keys = [theme.key for theme in parsed]
    if len(set(keys)) != len(keys):
        raise TaxonomyError(f"{where}: a theme key is used twice")
    return Taxonomy(tuple(languages), {tag: frozenset(normalize(word) for word in words)
                                       for tag, words in negations.items()}, parsed)


def _theme(theme, languages: list[str], where: str) -> Theme:
    if not isinstance(theme, dict) or set(theme) - _THEME_FIELDS:
        raise TaxonomyError(f"{where}: an object with {', '.join(sorted(_THEME_FIELDS))}")
    key, name = theme.get("key"), theme.get("name")
    if not isinstance(key, str) or not _KEY.match(key):
        raise TaxonomyError(f"{where}: key must be lowercase letters, digits and _ (at most 40)")
    if not isinstance(name, str) or not name.strip() or len(name) > 60:
        raise TaxonomyError(f"{where} ({key}): name must be 1 to 60 characters")
    if not isinstance(theme.get("negatable", False), bool):
        raise TaxonomyError(f"{where} ({key}): negatable must be true or false")
    terms = _by_language(theme.get("terms"), languages, f"{where} ({key}): terms")
    patterns = _by_language(theme.get("patterns", {}), languages, f"{where} ({key}): patterns")
    exclude = _by_language(theme.get("exclude", {}), languages, f"{where} ({key}): exclude")
    for tag, found in list(terms.items()) + list(exclude.items()):
        for term in found:
            if not all(_WORD.fullmatch(word) for word in normalize(term).split()):
                raise TaxonomyError(f"{where} ({key}): term {term!r} ({tag}): words of letters or digits, "
                                    "a `*` only at a word's end")
    for tag, found in patterns.items():
        for pattern in found:
            try:
                re.compile(pattern)
            except re.error as error:
                raise TaxonomyError(f"{where} ({key}): patterns.{tag} {pattern!r}: {error}") from error
    return Theme(key, name.strip(), terms, patterns, exclude, theme.get("negatable", False))


def _by_language(value, languages: list[str], where: str) -> dict[str, tuple[str, ...]]:
    """{language: [non-empty strings]} over the taxonomy's languages only."""
    if not isinstance(value, dict):
        raise TaxonomyError(f"{where}: an object of language -> list of strings")
    for tag, items in value.items():
        if tag not in languages:
            raise TaxonomyError(f"{where}: language {tag!r} is not in the taxonomy's languages")
        if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
            raise TaxonomyError(f"{where}.{tag}: a list of non-empty strings")
    return {tag: tuple(items) for tag, items in value.items()}
