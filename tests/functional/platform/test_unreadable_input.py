"""Forms and query strings the edge cannot read are refused naming what is wrong (400), never a
5xx and never stored half-read (platform/edge.py: form_fields, query)."""
from __future__ import annotations

import json

import pytest

from tests.functional.helpers import BROWSER, choose_path, send_email_survey, stored_survey

FORM = "application/x-www-form-urlencoded"


def post_page_form(api, path: str, body: bytes, content_type: str = FORM):
    return api.http.post(path, headers={"User-Agent": BROWSER, "Content-Type": content_type}, body=body)


def test_a_survey_form_whose_escapes_are_not_utf8_is_refused_not_stored_garbled(api, stack):
    survey_id, links = send_email_survey(api, stack)
    response = post_page_form(api, choose_path(links[4]), b"score=4&comment=%ff%fe+broken")
    assert response.status_code == 400
    assert "body: must be UTF-8" in response.body.decode()
    assert stored_survey(survey_id).comment is None and stored_survey(survey_id).score is None


def test_a_multipart_survey_form_with_an_unknown_charset_is_refused_as_a_page(api, stack):
    survey_id, links = send_email_survey(api, stack)
    body = (b'--b\r\nContent-Disposition: form-data; name="score"\r\n\r\n4\r\n'
            b'--b\r\nContent-Disposition: form-data; name="comment"\r\nContent-Type: text/plain; charset=nope\r\n\r\n'
            b"x\r\n--b--\r\n")
    response = post_page_form(api, choose_path(links[4]), body, "multipart/form-data; boundary=b")
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/html")
    assert "body: must be a form post" in response.body.decode()
    assert stored_survey(survey_id).score is None


@pytest.mark.parametrize("value, message", [("a\x00b", "must not hold control characters"),
                                            ("x" * 1025, "must be at most 1024 characters")])
def test_a_query_parameter_too_long_or_with_control_characters_is_refused_naming_it(api, value, message):
    from urllib.parse import quote

    response = api.http.get(f"/v1/responses?team={quote(value)}", headers=api.headers)
    assert response.status_code == 400
    assert json.loads(response.body)["fields"] == [{"field": "team", "message": message, "type": "value_error"}]


def test_a_query_parameter_of_1024_characters_reaches_its_model(api):
    response = api.http.get(f"/v1/responses?team={'x' * 1024}", headers=api.headers)
    assert response.status_code == 400
    assert json.loads(response.body)["fields"][0]["type"] == "string_too_long"  # the model's rule, not the edge's
