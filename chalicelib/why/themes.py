"""Comment themes: the keyword tagger, which finds the themes of the stage's taxonomy
(why/taxonomy.py) in a comment. It needs no network and no model, so every stage, the local
stack and the tests get it; an opt-in model tagger (why/models.py) refines it later, on a job.

A comment is read in its customer's language and in English (customers mix English words such
as "refund" into their own); with no known language, in every language of the taxonomy. Terms
match whole words, with case and accents ignored. A negatable theme (praise) does not count a
term that follows a negation in the same clause ("not helpful", "pas aimable"), and a theme's
`exclude` terms ("thanks for nothing") never count for it.
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Optional

from chalicelib.platform import i18n
from chalicelib.platform.settings import get_settings
from chalicelib.why.taxonomy import Taxonomy, TaxonomyError, load_taxonomy, normalize, term_regex

log = logging.getLogger(__name__)

NEGATION_WINDOW = 3               # words before a term that a negation may be
_CLAUSE_END = re.compile(r"[.!?;:,\n]")
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class _Compiled:
    find: dict[str, dict[str, re.Pattern]]      # theme -> language -> its terms and patterns
    exclude: dict[str, dict[str, re.Pattern]]   # theme -> language -> its exclude terms
    negatable: frozenset[str]


def taxonomy() -> Taxonomy:
    return load_taxonomy(get_settings().themes_taxonomy)


@functools.cache
def _compiled(name: str) -> _Compiled:
    """One regular expression per theme and language, built at the container's first comment."""
    found = load_taxonomy(name)
    find, exclude = {}, {}
    for theme in found.themes:
        find[theme.key] = {tag: re.compile("|".join([term_regex(term) for term in theme.terms.get(tag, ())]
                                                    + [f"(?:{pattern})" for pattern in theme.patterns.get(tag, ())]))
                           for tag in found.languages if theme.terms.get(tag) or theme.patterns.get(tag)}
        exclude[theme.key] = {tag: re.compile("|".join(term_regex(term) for term in terms))
                              for tag, terms in theme.exclude.items() if terms}
    return _Compiled(find, exclude, frozenset(theme.key for theme in found.themes if theme.negatable))


def reading_languages(locale: Optional[str], languages: tuple[str, ...]) -> tuple[str, ...]:
    """The customer's language, then English; every language when the locale says none we have."""
    own = i18n.normalize(locale).split("-")[0] if locale else ""
    if own not in languages:
        return languages
    return tuple(dict.fromkeys([own] + [tag for tag in (i18n.SOURCE_LANGUAGE,) if tag in languages]))


def tag_comment(comment: Optional[str], locale: Optional[str] = None) -> list[str]:
    """The themes of a comment, sorted; none for no comment. A broken taxonomy (which `make deploy`
    refuses) tags nothing rather than failing the customer's response."""
    if not comment or not comment.strip():
        return []
    name = get_settings().themes_taxonomy
    try:
        found, compiled = load_taxonomy(name), _compiled(name)
    except TaxonomyError:
        log.exception("the stage's theme taxonomy cannot be used: comments are not tagged")
        return []
    languages = reading_languages(locale, found.languages)
    negations = frozenset().union(*(found.negations.get(tag, ()) for tag in languages))
    text = normalize(comment)
    return sorted(key for key, by_language in compiled.find.items()
                  if _speaks_of(_without(text, compiled.exclude[key], languages), by_language, languages,
                                negations if key in compiled.negatable else frozenset()))


def _without(text: str, exclude: dict[str, re.Pattern], languages: tuple[str, ...]) -> str:
    """The text with the theme's excluded terms blanked out (same length: positions hold)."""
    for tag in languages:
        if tag in exclude:
            text = exclude[tag].sub(lambda match: " " * len(match.group()), text)
    return text


def _speaks_of(text: str, by_language: dict[str, re.Pattern], languages: tuple[str, ...],
               negations: frozenset[str]) -> bool:
    for tag in languages:
        pattern = by_language.get(tag)
        if pattern is None:
            continue
        for match in pattern.finditer(text):
            if not negations or not _negated(text, match.start(), negations):
                return True
    return False


def _negated(text: str, start: int, negations: frozenset[str]) -> bool:
    """Whether a negation is among the few words before `start`, in the same clause."""
    clause = _CLAUSE_END.split(text[max(0, start - 60):start])[-1]
    return any(word in negations for word in _WORDS.findall(clause)[-NEGATION_WINDOW:])


def theme_keys() -> list[str]:
    """Every theme of the stage's taxonomy, in its order."""
    return [theme.key for theme in taxonomy().themes]


def theme_label(key: str) -> str:
    """A theme's name as leads read it (a key no longer in the taxonomy shows as itself)."""
    try:
        theme = taxonomy().theme(key)
    except TaxonomyError:
        return key
    return theme.name if theme else key
