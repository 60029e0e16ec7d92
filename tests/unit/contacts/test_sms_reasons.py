"""Reasons by number in an SMS reply: reading the numbers, and the numbered list fitting its segments
(chalicelib/contacts/sms_replies.py)."""
from __future__ import annotations

import pytest

from chalicelib.contacts.sms_replies import (
    REASON_SEGMENTS, Numbers, Score, Unknown, classify, fit, reasons_question, segment_room,
)
from chalicelib.delivery.sms import septets
from chalicelib.platform import i18n
from chalicelib.why import REASON_LABELS

LANGUAGES = ["en", "de", "es", "fr", "pt"]


@pytest.mark.parametrize("body,values", [("1 3", (1, 3)), ("1,3", (1, 3)), ("1, 3", (1, 3)), (" 2 and 4 ", (2, 4)),
                                         ("2 y 4", (2, 4)), ("2 et 4", (2, 4)), ("2 und 4", (2, 4)),
                                         ("2 e 4", (2, 4)), ("1 & 2 & 6.", (1, 2, 6)), ("1+5", (1, 5)),
                                         ("1;2;3", (1, 2, 3)), ("1 9", (1, 9))])
def test_numbers_joined_in_any_of_our_languages_are_a_list(body, values):
    assert classify(body) == Numbers(values)


@pytest.mark.parametrize("body,reply", [("9/10", Score(9, 10)), ("3", Score(3)), ("1 3 five", Unknown()),
                                        ("1 and", Unknown()), ("1/3", Score(1, 3)), ("123 4", Unknown()),
                                        (" ".join(["1"] * 13), Unknown())])
def test_a_score_stays_a_score_and_anything_else_is_unknown(body, reply):
    assert classify(body) == reply


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_thanks_with_every_six_reasons_fits_two_segments_in_each_language(language):
    _ = i18n.translator(language)
    thanks = _("Thank you! We recorded your score of {score}.", score=10)
    longest = sorted(REASON_LABELS, key=lambda key: len(_(REASON_LABELS[key])), reverse=True)[:6]
    text = fit(_, reasons_question(_, thanks, longest), "Acme Support", REASON_SEGMENTS)
    length = septets(text)
    assert length is not None and length <= segment_room(REASON_SEGMENTS) == 2 * 153, (language, length, text)

