"""The landing form's "why": the reasons a detractor or passive ticks, "Was your issue resolved?",
and the form shown again, with what the person entered, when its reasons cannot be taken."""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

import pytest

from tests.conftest import configure
from tests.functional.helpers import (
    BROWSER, choose_path, open_id_in, open_page, send_email_survey, stored_survey, survey,
)

REASONS = ["waited", "not_solved", "repeated", "attitude", "product", "other"]  # the stage's default


def post_pairs(api, path, pairs: list[tuple[str, str]], encoding: str = "urlencoded"):
    """A browser's form post whose fields may repeat (checkboxes), url-encoded or multipart."""
    if encoding == "urlencoded":
        body, content_type = urlencode(pairs).encode(), "application/x-www-form-urlencoded"
    else:
        boundary = "----closeloop" + uuid.uuid4().hex
        body = ("".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                        for name, value in pairs) + f"--{boundary}--\r\n").encode()
        content_type = f"multipart/form-data; boundary={boundary}"
    return api.http.post(path, headers={"User-Agent": BROWSER, "Content-Type": content_type}, body=body)


def reason_boxes(html: str) -> dict[str, bool]:
    """The reasons' checkboxes on a page: key -> checked."""
    return {m.group(1): " checked" in m.group(0)
            for m in re.finditer(r'<input type="checkbox" name="reason" id="[^"]+" value="([^"]+)"[^>]*>', html)}


def resolved_radios(html: str) -> dict[str, bool]:
    return {m.group(1): " checked" in m.group(0)
            for m in re.finditer(r'<input type="radio" name="resolved" id="[^"]+" value="(yes|no)"[^>]*>', html)}


def fieldset_hidden(html: str) -> bool:
    return bool(re.search(r'<fieldset class="reasons" id="reasons"[^>]* hidden', html))


@pytest.fixture
def stage(api, monkeypatch):
    """Set the stage's settings (CLOSELOOP_*) for one test."""
    return lambda **values: configure(monkeypatch, **{f"CLOSELOOP_{name.upper()}": v for name, v in values.items()})


def opened(api, stack, score: int, **overrides):
    survey_id, links = send_email_survey(api, stack, **overrides)
    page = open_page(api, links[score])
    assert page.status_code == 200
    return survey_id, links, page.body.decode()


# --- what the page shows ---------------------------------------------------------------------

def test_a_low_score_shows_the_stages_reasons_as_checkboxes_with_the_empty_field(api, stack):
    _, _, html = opened(api, stack, 2)
    assert list(reason_boxes(html)) == REASONS and not any(reason_boxes(html).values())
    assert '<input type="hidden" name="reason" value="">' in html
    assert not fieldset_hidden(html) and "<legend>What went wrong?" in html
    assert '<label for="reason-waited">Waited too long</label>' in html
    assert resolved_radios(html) == {}  # the stage does not ask it, nor does the interaction


def test_a_promoter_score_hides_the_reasons_until_the_score_changes(api, stack):
    _, _, html = opened(api, stack, 5)
    assert fieldset_hidden(html) and list(reason_boxes(html)) == REASONS
    assert all(" disabled" in m for m in re.findall(r'<input type="checkbox"[^>]*>', html))
    assert "var promoters = [5];" in html  # the page's script shows them for any other score


def test_the_stage_chooses_the_reasons_and_their_language(api, stack, stage):
    stage(reasons="transferred,unclear,other")
    _, _, html = opened(api, stack, 3, customer={"id": "cus_19", "email": "ada@example.com", "locale": "de"})
    assert list(reason_boxes(html)) == ["transferred", "unclear", "other"]
    assert "Von Person zu Person weitergereicht" in html and "Was lief schief?" in html


@pytest.mark.parametrize("where", ["stage", "interaction"])
def test_resolved_is_asked_when_the_stage_or_the_interaction_asks_it(api, stack, stage, where):
    if where == "stage":
        stage(ask_resolved="true")
        survey_id, links, html = opened(api, stack, 5)
    else:
        survey_id, links, html = opened(api, stack, 5, ask_resolved=True)
    assert resolved_radios(html) == {"yes": False, "no": False}
    choose = open_page(api, choose_path(links[5])).body.decode()
    assert resolved_radios(choose) == {"yes": False, "no": False}  # the score-choice page asks it too
    assert survey(api, survey_id)["ask_resolved"] is True


def test_an_interaction_may_decline_what_the_stage_asks(api, stack, stage):
    stage(ask_resolved="true")
    _, _, html = opened(api, stack, 2, ask_resolved=False)
    assert resolved_radios(html) == {}


# --- what the form stores --------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
@pytest.mark.parametrize("answer,stored", [("yes", True), ("no", False), ("", None)])
def test_reasons_and_resolved_are_stored_and_shown_by_the_api(api, stack, clock, encoding, answer, stored):
    survey_id, links, html = opened(api, stack, 2, ask_resolved=True)
    clock.advance(20)
    pairs = [("open_id", open_id_in(html)), ("reason", ""), ("reason", "repeated"), ("reason", "waited"),
             ("resolved", answer), ("comment", "Third call about my refund"), ("score", "2")]
    thanks = post_pairs(api, choose_path(links[2]), pairs, encoding)
    assert thanks.status_code == 200, thanks.body[:300]
    text = thanks.body.decode()
    assert "What went wrong: Waited too long, Had to repeat myself" in text
    state = survey(api, survey_id)
    assert state["reasons"] == ["waited", "repeated"]  # in the stage's order
    assert state["resolved"] is stored and state["comment"] == "Third call about my refund"
    again = open_page(api, links[2]).body.decode()  # the stored reasons come back ticked
    assert [key for key, checked in reason_boxes(again).items() if checked] == ["waited", "repeated"]
    assert resolved_radios(again) == ({"yes": stored is True, "no": stored is False})


def test_resolved_is_ignored_where_it_was_not_asked(api, stack, clock):
    survey_id, links, html = opened(api, stack, 2)
    clock.advance(20)
    post_pairs(api, choose_path(links[2]), [("open_id", open_id_in(html)), ("score", "2"), ("resolved", "no")])
    assert survey(api, survey_id)["resolved"] is None


def test_unticking_every_reason_clears_them_and_a_confirmation_keeps_them(api, stack, clock):
    from tests.functional.helpers import confirm

    survey_id, links, html = opened(api, stack, 1)
    clock.advance(20)
    post_pairs(api, choose_path(links[1]), [("open_id", open_id_in(html)), ("score", "1"), ("reason", ""),
                                            ("reason", "attitude")])
    confirm(api, links[1], open_id=open_id_in(html))  # the page's script posts no reason field
    assert survey(api, survey_id)["reasons"] == ["attitude"]
    post_pairs(api, choose_path(links[1]), [("open_id", open_id_in(html)), ("score", "1"), ("reason", "")])
    assert survey(api, survey_id)["reasons"] == []


# --- reasons the form cannot take ----------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
@pytest.mark.parametrize("bad,error", [
    (["waited", "refund_now"], "Please choose from the reasons listed."),
    (REASONS + ["waited"], "Please choose at most 6 reasons."),
])
def test_bad_reasons_show_the_form_again_with_everything_entered_and_store_nothing(api, stack, clock, encoding,
                                                                                    bad, error):
    survey_id, links, html = opened(api, stack, 2, ask_resolved=True)
    clock.advance(20)
    pairs = [("open_id", open_id_in(html)), ("score", "1"), ("comment", "Nobody <b>called</b> back"),
             ("resolved", "no"), ("reason", "")] + [("reason", value) for value in bad]
    page = post_pairs(api, choose_path(links[2]), pairs, encoding)
    assert page.status_code == 400 and "text/html" in page.headers["Content-Type"]
    text = page.body.decode()
    assert f'<p class="error" id="reason-error" role="alert">{error}</p>' in text
    assert 'id="reasons" aria-describedby="reason-error"' in text
    assert "Nobody &lt;b&gt;called&lt;/b&gt; back</textarea>" in text  # kept, and escaped
    assert [key for key, checked in reason_boxes(text).items() if checked] == [k for k in REASONS if k in bad]
    assert resolved_radios(text) == {"yes": False, "no": True}
    assert 'id="score-1" value="1" checked' in text  # the score chosen in the form
    assert open_id_in(text) == open_id_in(html)
    state = stored_survey(survey_id)
    assert state.score is None and state.response_version == 0 and state.comment is None
    assert state.reasons == [] and state.resolved is None


def test_the_error_speaks_the_customers_language(api, stack, clock):
    _, links, html = opened(api, stack, 2, customer={"id": "cus_19", "email": "ada@example.com", "locale": "fr"})
    clock.advance(20)
    page = post_pairs(api, choose_path(links[2]), [("open_id", open_id_in(html)), ("score", "2"),
                                                   ("reason", "nope")])
    assert page.status_code == 400
    assert "Veuillez choisir parmi les raisons proposées." in page.body.decode()


# --- the score-choice page (an SMS survey's link) --------------------------------------------

def test_a_tap_on_the_choice_page_leads_to_the_comment_and_reasons_form(api, stack):
    survey_id, links = send_email_survey(api, stack)
    choose = open_page(api, choose_path(links[1])).body.decode()
    assert '<input type="hidden" name="step" value="score">' in choose
    tapped = post_pairs(api, choose_path(links[1]), [("open_id", open_id_in(choose)), ("step", "score"),
                                                      ("score", "2")])
    html = tapped.body.decode()
    assert tapped.status_code == 200 and survey(api, survey_id)["score"] == 2
    # The score is saved: the form asks for the rest, and has no script confirming the score again.
    assert "Your answer is saved. Add a comment below if you like." in html and "Saving your answer" not in html
    assert list(reason_boxes(html)) == REASONS and '<textarea id="comment" name="comment"' in html
    sent = post_pairs(api, choose_path(links[1]), [("open_id", open_id_in(html)), ("score", "2"), ("reason", ""),
                                                   ("reason", "waited"), ("comment", "Waited two weeks for a refund")])
    assert sent.status_code == 200 and "Thank you for your feedback!" in sent.body.decode()
    state = survey(api, survey_id)
    assert (state["reasons"], state["comment"], state["themes"]) == (["waited"], "Waited two weeks for a refund",
                                                                     ["billing", "waiting"])
