"""Languages (chalicelib/platform/i18n.py): catalogs complete and consistent, locale fallback, negotiation."""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from jinja2 import nodes

from chalicelib.platform import i18n, rendering
from chalicelib.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ["es", "fr", "de", "pt"]
GETTEXT_NAMES = {"_", "N_", "gettext"}


def _literal_calls_in_python(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        first = node.args[0]
        if name in GETTEXT_NAMES and isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.add(first.value)
    return found


def _literal_calls_in_template(path: Path) -> set[str]:
    tree = rendering.environment().parse(path.read_text("utf-8"))
    return {call.args[0].value for call in tree.find_all(nodes.Call)
            if isinstance(call.node, nodes.Name) and call.node.name in GETTEXT_NAMES
            and call.args and isinstance(call.args[0], nodes.Const)}


def used_messages() -> set[str]:
    """Every English message the code and templates translate (the catalogs' keys)."""
    found = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        found |= _literal_calls_in_python(path)
    for path in rendering.TEMPLATES_DIR.rglob("*"):
        if path.is_file():
            found |= _literal_calls_in_template(path)
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_code_translates_its_customer_facing_text():
    messages = used_messages()
    # One from each place customers read: email, SMS survey, SMS reply, page, score label.
    for message in ("Thanks for contacting {company}.", "Rate your support: {url}",
                    "You will get no more survey texts from us. Reply START to opt back in.",
                    "We couldn't find this survey", "Very unsatisfied"):
        assert message in messages


@pytest.mark.parametrize("language", SHIPPED)
def test_each_shipped_catalog_translates_every_message_and_nothing_else(language):
    catalog = i18n.catalog(language)
    used = used_messages()
    assert sorted(used - catalog.keys()) == [], "untranslated"
    assert sorted(catalog.keys() - used) == [], "no longer used: remove"
    assert all(text.strip() for text in catalog.values())


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_keep_every_placeholder_and_the_sms_keywords(language):
    for message, translated in i18n.catalog(language).items():
        assert placeholders(translated) == placeholders(message), message
        for keyword in ("STOP", "START", "HELP"):
            # Carriers act on these words in English; a translation must not translate them away.
            assert (keyword in translated) == (keyword in message), (message, keyword)


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_differ_from_english(language):
    catalog = i18n.catalog(language)
    same = [m for m, t in catalog.items() if t == m and not re.fullmatch(r"[{}\w:. ]*\{\w+\}[{}\w:. ]*", m)]
    assert len(same) <= len(catalog) // 20, same  # a few words are the same ("No" in Spanish)


@pytest.mark.parametrize("locale,language", [
    ("pt-BR", "pt"), ("pt_BR", "pt"), ("PT", "pt"), ("es-MX", "es"), ("fr-CA", "fr"), ("de-AT", "de"),
    ("en-GB", "en"), ("ja", "en"), (None, "en"), ("", "en"), ("not a tag!", "en"),
])
def test_a_locale_falls_back_to_its_language_then_the_default(locale, language):
    assert i18n.translator(locale).language == language


def test_the_stage_default_language_comes_before_english():
    assert i18n.translator("ja", default_language="de").language == "de"
    assert i18n.translator("pt-BR", default_language="de").chain == ("pt", "de", "en")
    assert i18n.translator(None, default_language="es-ES").language == "es"
    assert i18n.translator("ja", default_language="xx").language == "en"


def test_a_message_missing_from_a_regional_catalog_comes_from_its_language(monkeypatch, tmp_path):
    (tmp_path / "pt.json").write_text('{"Yes": "Sim", "No": "Não"}', "utf-8")
    (tmp_path / "pt-BR.json").write_text('{"No": "Nao (BR)"}', "utf-8")
    monkeypatch.setattr(i18n, "CATALOGS_DIR", tmp_path)
    for cached in (i18n.catalog, i18n._catalog_files, i18n._translator):
        cached.cache_clear()
    try:
        brazil = i18n.translator("pt-BR")
        assert brazil.chain == ("pt-br", "pt", "en")
        assert (brazil("No"), brazil("Yes"), brazil("Maybe")) == ("Nao (BR)", "Sim", "Maybe")
    finally:
        for cached in (i18n.catalog, i18n._catalog_files, i18n._translator):
            cached.cache_clear()


def test_values_fill_placeholders_after_translating():
    spanish = i18n.translator("es")
    assert "Acme" in spanish("Thanks for contacting {company}.", company="Acme")
    assert spanish("Thanks for contacting {company}.", company="Acme") != "Thanks for contacting Acme."
    # A value is never read as a template.
    assert "{url}" in spanish("Thanks for contacting {company}.", company="{url}")


@pytest.mark.parametrize("header,language", [
    ("es-ES,es;q=0.9,en;q=0.8", "es"), ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr"),
    ("ja,de;q=0.5", "de"), ("en;q=0.2,pt-BR;q=0.9", "pt"), ("de;q=0,fr;q=0.1", "fr"), ("", "en"), (None, "en"),
    ("*", "en"), ("es;q=abc,fr", "fr"), (";;;,,,", "en"),
])
def test_a_browser_gets_its_best_language_we_have(header, language):
    assert i18n.from_accept_language(header).language == language


@pytest.mark.parametrize("language", ["en", "es", "pt-BR", "DE", "fr_CA"])
def test_a_stage_may_default_to_any_language_with_a_catalog(language):
    assert Settings(default_language=language).default_language == language


@pytest.mark.parametrize("language", ["xx", "", "ja", "english"])
def test_a_stage_default_language_without_a_catalog_is_a_configuration_error(language):
    with pytest.raises(ValueError, match="default_language"):
        Settings(default_language=language)
