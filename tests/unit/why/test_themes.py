"""The keyword tagger and its taxonomy: whole words, case and accents ignored, phrases and
prefixes, the customer's language and English, negation and exclusions for praise; a taxonomy
that cannot work is refused with its place named; a stage's own taxonomy file."""
from __future__ import annotations

import json

import pytest

from chalicelib.platform import settings
from chalicelib.why import TaxonomyError, tag_comment, theme_keys, theme_label
from chalicelib.why.taxonomy import DEFAULT, PACKAGE, load_taxonomy, normalize, parse_taxonomy
from chalicelib.why.themes import reading_languages


def test_case_accents_and_word_boundaries():
    assert tag_comment("ICH WARTE AUF MEINE RÜCKERSTATTUNG", "de") == ["billing", "waiting"]
    assert tag_comment("Très désagréable", "fr") == ["attitude"]
    assert tag_comment("The debugger was unhelpful", "en") == []  # no term inside another word
    assert tag_comment("refunded, eventually", "en") == ["billing"]  # refund* takes the word's endings


def test_phrases_match_across_spaces_and_hyphens_and_apostrophes():
    assert tag_comment("The fix didn’t   help", "en") == ["not_resolved"]
    assert tag_comment("o atendente foi mal-educado", "pt") == ["attitude"]


def test_negated_praise_is_not_praise_and_a_new_clause_ends_the_negation():
    assert tag_comment("Not helpful, not friendly", "en") == ["attitude", "not_resolved"]
    assert tag_comment("Sehr hilfreich", "de") == ["praise"] and tag_comment("Nicht sehr hilfreich", "de") == []
    assert tag_comment("Not bad. Thanks!", "en") == ["praise"]
    assert tag_comment("Thanks for nothing", "en") == [] and tag_comment("Gracias por nada", "es") == []


def test_the_customers_language_and_english_or_every_language_when_unknown():
    assert reading_languages("pt-BR", ("en", "de", "pt")) == ("pt", "en")
    assert reading_languages(None, ("en", "de")) == ("en", "de")
    assert reading_languages("ja", ("en", "de")) == ("en", "de")
    assert tag_comment("Merci, mais j'attends mon refund", "fr") == ["billing", "praise", "waiting"]
    # German's "kaputt" is not read in a Spanish comment; with no locale, every language is.
    assert tag_comment("kaputt", "es") == [] and tag_comment("kaputt", None) == ["product_defect"]


def test_no_comment_no_themes():
    assert tag_comment(None) == [] and tag_comment("   ", "en") == []


def test_keys_and_names_come_from_the_taxonomy():
    assert theme_keys() == ["waiting", "billing", "not_resolved", "repeated_contact", "attitude",
                            "product_defect", "praise"]
    assert theme_label("billing") == "Refunds and billing" and theme_label("gone") == "gone"


def _taxonomy(**theme):
    return {"languages": ["en", "fr"], "themes": [{"key": "billing", "name": "Billing",
                                                   "terms": {"en": ["refund*"]}, **theme}]}


@pytest.mark.parametrize("change, named", [
    ({"patterns": {"en": ["(unclosed"]}}, "patterns.en '(unclosed'"),
    ({"terms": {"xx": ["refund"]}}, "language 'xx' is not in the taxonomy's languages"),
    ({"terms": {"en": ["*"]}}, "term '*'"),
    ({"terms": {"en": "refund"}}, "terms.en: a list of non-empty strings"),
    ({"key": "Billing Team"}, "key must be"),
    ({"colour": "red"}, "an object with"),
])
def test_a_taxonomy_that_cannot_work_is_refused_naming_its_place(change, named):
    with pytest.raises(TaxonomyError, match=named.replace("(", r"\(").replace("*", r"\*")):
        parse_taxonomy(_taxonomy(**change), "acme.json")


def test_an_unknown_language_or_a_repeated_key_is_refused():
    with pytest.raises(TaxonomyError, match="unknown language 'kl'"):
        parse_taxonomy({"languages": ["en", "kl"], "themes": _taxonomy()["themes"]})
    with pytest.raises(TaxonomyError, match="used twice"):
        parse_taxonomy({"languages": ["en"], "themes": _taxonomy()["themes"] * 2})


def test_the_default_taxonomy_is_valid_and_covers_five_languages():
    found = load_taxonomy.__wrapped__("")
    assert found.languages == ("en", "de", "es", "fr", "pt")
    assert all(set(theme.terms) == set(found.languages) for theme in found.themes)


def test_a_stage_names_its_own_taxonomy_under_chalicelib(monkeypatch, tmp_path):
    own = PACKAGE / "why" / "taxonomy-test-stage.json"
    own.write_text(json.dumps({"languages": ["en"], "themes": [
        {"key": "shipping", "name": "Shipping", "terms": {"en": ["parcel", "courier"]}}]}))
    try:
        monkeypatch.setenv("CLOSELOOP_THEMES_TAXONOMY", "why/taxonomy-test-stage.json")
        settings.reset_settings()
        assert theme_keys() == ["shipping"] and theme_label("shipping") == "Shipping"
        assert tag_comment("The courier lost my parcel, refund please", "en") == ["shipping"]
    finally:
        own.unlink()
        load_taxonomy.cache_clear()
        settings.reset_settings()
    with pytest.raises(TaxonomyError, match="under chalicelib"):
        load_taxonomy.__wrapped__("../../etc/x.json")
    assert DEFAULT == "why/taxonomy.json"


def test_normalize_keeps_english_contractions_and_splits_elisions():
    assert normalize("Didn’t l'attente ß É") == "didnt l attente ss e"
