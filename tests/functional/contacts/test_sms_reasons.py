"""Reasons by number in an SMS reply: the thanks of a low score lists the stage's reasons, numbered;
a reply of those numbers stores them with the response (chalicelib/contacts/sms_replies.py)."""
from __future__ import annotations

import json
from pathlib import Path

from tests.functional.contacts.test_sms_replies import nps_sms_survey, sms_in, texts_to
from tests.functional.helpers import stored_survey, survey

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sms"

LIST = ("1 Waited too long\n2 Problem not solved\n3 Had to repeat myself\n4 Agent attitude\n"
        "5 Product or policy\n6 Other")


def last_text(stack) -> str:
    """The last text to the customer, without the "closeloop: " the replies start with where it fits."""
    return texts_to(stack)[-1].removeprefix("closeloop: ")


def test_a_low_score_is_thanked_with_the_numbered_reasons(api, stack):
    nps_sms_survey(api, stack)
    sms_in(api, "3")
    thanks = last_text(stack)
    assert thanks.startswith("Thank you! We recorded your score of 3. What went wrong? Reply with the numbers")
    assert thanks.endswith(LIST)


def test_a_promoter_is_only_thanked(api, stack):
    nps_sms_survey(api, stack)
    sms_in(api, "10")
    assert "What went wrong" not in last_text(stack)


def test_the_recorded_reply_names_reasons_by_number_and_keeps_the_score(api, stack):
    survey_id = nps_sms_survey(api, stack)
    sms_in(api, "3")
    recorded = json.loads((FIXTURES / "reasons.json").read_text())  # "1, 3"
    sms_in(api, recorded["messageBody"], sender=recorded["originationNumber"],
           message_id=recorded["inboundMessageId"])
    state = survey(api, survey_id)
    assert state["score"] == 3 and state["reasons"] == ["waited", "repeated"]
    assert last_text(stack) == "Thank you! We noted: Waited too long, Had to repeat myself."


def test_spaces_and_and_join_numbers_and_a_later_reply_replaces_the_reasons(api, stack):
    survey_id = nps_sms_survey(api, stack)
    sms_in(api, "6")
    sms_in(api, "2 and 4")
    assert survey(api, survey_id)["reasons"] == ["not_solved", "attitude"]
    sms_in(api, "5")  # one number after a low score: a reason, not a score
    state = survey(api, survey_id)
    assert state["reasons"] == ["product"] and state["score"] == 6
    sms_in(api, "4/10")  # a score with its scale is a score
    assert survey(api, survey_id)["score"] == 4
    sms_in(api, "9")  # and so is one number off the list
    assert survey(api, survey_id)["score"] == 9 and survey(api, survey_id)["reasons"] == ["product"]


def test_a_number_off_the_list_gets_a_clear_answer_and_changes_nothing(api, stack):
    survey_id = nps_sms_survey(api, stack)
    sms_in(api, "2")
    sms_in(api, "1 3")
    before = stored_survey(survey_id)
    sms_in(api, "1 9")
    after = stored_survey(survey_id)
    assert after.response_version == before.response_version and after.reasons == ["waited", "repeated"]
    assert last_text(stack) == ("Please reply with numbers from 1 to 6 from the list, e.g. 1 3. "
                                   "Your score is kept.")


def test_a_redelivered_reasons_reply_counts_once(api, stack):
    survey_id = nps_sms_survey(api, stack)
    sms_in(api, "4")
    message_id = sms_in(api, "1 2")
    sms_in(api, "1 2", message_id=message_id)
    assert stored_survey(survey_id).response_version == 2  # the score, then the reasons
    assert len(texts_to(stack)) == 3  # the survey, the thanks with the list, one "we noted"


def test_numbers_before_any_score_are_an_unknown_reply(api, stack):
    survey_id = nps_sms_survey(api, stack)
    sms_in(api, "1 3")
    state = survey(api, survey_id)
    assert state["score"] is None and state["reasons"] == []
    assert last_text(stack).startswith("To rate your support, reply with a number")
