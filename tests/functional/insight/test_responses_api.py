"""GET /v1/responses and GET /v1/responses.csv through chalice's test client: newest first, every
filter, cursor paging without duplicates or gaps, bad input naming its parameter, withdrawn and
changed responses, and a CSV a spreadsheet opens safely (BOM, quoting, no formulas), page by page."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Optional
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.functional.followups.test_detractor_alerts import respond
from tests.functional.helpers import confirm, open_page, send_email_survey, survey

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)
ISO = "%Y-%m-%dT%H:%M:%S.000Z"
VIEW_FIELDS = {"survey_id", "interaction_id", "survey", "channel", "score", "detractor", "comment", "resolved",
               "responded_at", "response_updated_at", "sent_at", "customer_id", "customer_name", "agent", "team",
               "followup_id", "resurvey", "reasons", "themes"}
_numbers = count(1000)


def a_response(at: datetime, *, score: int = 4, comment: Optional[str] = None, kind: str = "csat",
               channel: str = "email", agent: Optional[str] = "agt_7", team: Optional[str] = "billing",
               customer_name: Optional[str] = "Ada Lovelace", interaction_id: Optional[str] = None) -> str:
    """A sent survey answered at `at`, written as the app writes a response; returns its id."""
    from chalicelib.surveys import tokens
    from chalicelib.surveys.model import Agent, Channel, Customer, Survey, SurveyStatus
    from chalicelib.surveys.scoring import SurveyKind
    from tests.repos import Repositories

    n = next(_numbers)
    sent = at - timedelta(hours=1)
    survey = Survey(
        survey_id=tokens.new_survey_id(), interaction_id=interaction_id or f"zd-{n}", kind=SurveyKind(kind),
        channel=Channel(channel), status=SurveyStatus.SENT,
        customer=Customer(id=f"cus_{n}", email=f"c{n}@example.com", phone="+14155550123", name=customer_name),
        agent=Agent(id=agent, name="Sam") if agent else None, team=team, base_url="http://127.0.0.1:8000",
        created_at=sent, send_at=sent, sent_at=sent, expires_at=at + timedelta(days=28),
    )
    Repositories().surveys.create(survey)
    Repositories().record_response(survey, None, score, comment, at)
    return survey.survey_id


def iso(at: datetime) -> str:
    return at.strftime(ISO)


def listing(api, **params):
    return api.http.get(f"/v1/responses?{urlencode(params)}", headers=api.headers)


def export(api, **params):
    return api.http.get(f"/v1/responses.csv?{urlencode(params)}", headers=api.headers)


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.body)
    return json.loads(response.body)


def fields_of(response) -> set[str]:
    assert response.status_code == 400, (response.status_code, response.body)
    return {field["field"] for field in json.loads(response.body)["fields"]}


def every_page(api, **params) -> list[list[dict]]:
    pages, cursor = [], None
    for _ in range(100):
        body = ok(listing(api, **params, **({"cursor": cursor} if cursor else {})))
        pages.append(body["responses"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the cursor never ended")


def rows_of(response) -> list[dict]:
    """The CSV as a spreadsheet reads it: BOM first, then records (RFC 4180)."""
    text = response.body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


@pytest.fixture
def now(api, clock):
    clock.set(T0)
    return T0


# --- the listing ---------------------------------------------------------------------------

def test_responses_are_listed_newest_first_with_their_fields(api, now):
    older = a_response(now - timedelta(days=2), score=5, comment="Great")
    newest = a_response(now - timedelta(hours=1), score=1, comment="Nobody read my ticket", team="tech")
    middle = a_response(now - timedelta(days=1), kind="nps", score=9, channel="sms", agent=None, team=None)

    body = ok(listing(api))
    assert [r["survey_id"] for r in body["responses"]] == [newest, middle, older]
    assert body["next_cursor"] is None
    first = body["responses"][0]
    assert set(first) == VIEW_FIELDS
    assert first["survey"] == "csat" and first["channel"] == "email" and first["score"] == 1
    assert first["detractor"] is True and first["followup_id"] == f"fu_{newest}" and first["resurvey"] is False
    assert first["comment"] == "Nobody read my ticket" and first["team"] == "tech"
    assert first["agent"] == {"id": "agt_7", "name": "Sam"} and first["customer_name"] == "Ada Lovelace"
    assert first["customer_id"].startswith("cus_") and "email" not in first and "phone" not in first
    assert first["responded_at"] == iso(now - timedelta(hours=1))
    assert first["sent_at"] == iso(now - timedelta(hours=2))
    second = body["responses"][1]
    assert (second["survey"], second["channel"], second["score"], second["detractor"]) == ("nps", "sms", 9, False)
    assert second["agent"] is None and second["team"] is None and second["followup_id"] is None


def test_a_response_made_on_the_page_is_listed_and_a_changed_score_updates_its_entry(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    respond(api, clock, links[2], comment="Slow")
    (entry,) = ok(listing(api))["responses"]
    assert (entry["survey_id"], entry["score"], entry["comment"]) == (survey_id, 2, "Slow")
    first_responded = entry["responded_at"]

    clock.advance(600)
    respond(api, clock, links[5])  # the customer changed their mind: the last choice counts
    (entry,) = ok(listing(api))["responses"]
    assert (entry["survey_id"], entry["score"], entry["detractor"]) == (survey_id, 5, False)
    assert entry["responded_at"] == first_responded and entry["response_updated_at"] > first_responded
    assert entry["comment"] == "Slow"


def test_a_withdrawn_response_is_not_listed_or_exported(api, stack, clock):
    survey_id, links = send_email_survey(api, stack)
    for score in (1, 2, 3, 4):  # four different scores confirmed within 90 s: a scanner sweep
        page = open_page(api, links[score])
        confirm(api, links[score], page)
        clock.advance(1)
    assert survey(api, survey_id)["score"] is None
    assert ok(listing(api))["responses"] == []
    assert rows_of(export(api)) == []


@pytest.mark.parametrize("params, expected", [
    ({"survey": "nps"}, {"nps-sms"}),
    ({"channel": "sms"}, {"nps-sms"}),
    ({"agent": "agt_9"}, {"agent-9"}),
    ({"team": "tech"}, {"tech"}),
    ({"min_score": "4"}, {"nps-sms", "agent-9", "plain"}),
    ({"max_score": "2"}, {"tech", "commented"}),
    ({"min_score": "2", "max_score": "4"}, {"commented", "agent-9", "plain"}),
    ({"has_comment": "true"}, {"commented"}),
    ({"has_comment": "false"}, {"nps-sms", "agent-9", "tech", "plain"}),
    ({"team": "billing", "has_comment": "false", "max_score": "4"}, {"agent-9", "plain"}),
])
def test_each_filter_keeps_only_matching_responses(api, now, params, expected):
    made = {
        "nps-sms": a_response(now - timedelta(hours=1), kind="nps", channel="sms", score=9),
        "agent-9": a_response(now - timedelta(hours=2), agent="agt_9", score=4),
        "tech": a_response(now - timedelta(hours=3), team="tech", score=1),
        "commented": a_response(now - timedelta(hours=4), score=2, comment="meh"),
        "plain": a_response(now - timedelta(hours=5), score=4),
    }
    names = {survey_id: name for name, survey_id in made.items()}
    listed = [names[r["survey_id"]] for r in ok(listing(api, **params))["responses"]]
    assert set(listed) == expected and len(listed) == len(expected)
    exported = [names[row["survey_id"]] for row in rows_of(export(api, **params))]
    assert exported == listed


def test_the_range_takes_dates_as_whole_utc_days_and_date_times_as_from_inclusive_to_exclusive(api, now):
    day = datetime(2026, 11, 20, tzinfo=timezone.utc)
    at_midnight = a_response(day)
    late = a_response(day + timedelta(hours=23, minutes=59, seconds=59))
    next_day = a_response(day + timedelta(days=1))
    a_response(day - timedelta(milliseconds=1))

    ids = [r["survey_id"] for r in ok(listing(api, **{"from": "2026-11-20", "to": "2026-11-20"}))["responses"]]
    assert ids == [late, at_midnight]
    ids = [r["survey_id"] for r in ok(listing(api, **{"from": iso(day), "to": iso(day + timedelta(days=1))}))[
        "responses"]]
    assert ids == [late, at_midnight]  # `to` as a moment is excluded
    ids = [r["survey_id"] for r in ok(listing(api, **{"from": "2026-11-20T12:00:00+01:00", "to": "2026-11-21"}))[
        "responses"]]
    assert ids == [next_day, late]


def test_without_a_range_the_last_30_days_are_listed(api, now):
    recent = a_response(now - timedelta(days=29))
    a_response(now - timedelta(days=31))
    assert [r["survey_id"] for r in ok(listing(api))["responses"]] == [recent]


def test_paging_across_months_with_filters_has_no_duplicates_or_gaps(api, now):
    made = []
    for i in range(30):  # every 3 days, back across four months; every third one is team tech
        made.append((a_response(now - timedelta(days=3 * i, minutes=i), team="tech" if i % 3 == 0 else "billing"),
                     i % 3 == 0))
    window = {"from": "2026-07-01", "to": "2026-11-30"}
    billing = [survey_id for survey_id, tech in made if not tech]

    pages = every_page(api, **window, team="billing", limit=4)
    assert [r["survey_id"] for page in pages for r in page] == billing
    assert all(len(page) == 4 for page in pages[:-1])
    everything = every_page(api, **window, limit=7)
    assert [r["survey_id"] for page in everything for r in page] == [survey_id for survey_id, _ in made]


def test_a_response_made_while_paging_does_not_shift_later_pages(api, now, clock):
    made = [a_response(now - timedelta(hours=i)) for i in range(1, 6)]
    first = ok(listing(api, limit=2))
    a_response(now + timedelta(minutes=1))  # newer than page one: not repeated, not skipped
    clock.set(now + timedelta(minutes=2))
    second = ok(listing(api, limit=2, cursor=first["next_cursor"]))
    third = ok(listing(api, limit=2, cursor=second["next_cursor"]))
    listed = [r["survey_id"] for body in (first, second, third) for r in body["responses"]]
    assert listed == made and third["next_cursor"] is None


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-13-01"}, "from"),
    ({"from": "2026-02-30"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-11-24T10:00:00"}, "to"),  # no time zone
    ({"to": "24/11/2026"}, "to"),
    ({"from": "2026-11-10", "to": "2026-11-09"}, "from"),
    ({"from": "2025-01-01", "to": "2026-02-05"}, "to"),  # 401 days
    ({"from": "2025-10-01"}, "from"),  # 400+ days up to now
    ({"min_score": "11"}, "min_score"),
    ({"min_score": "4", "max_score": "2"}, "min_score"),
    ({"max_score": "x"}, "max_score"),
    ({"survey": "ces"}, "survey"),
    ({"channel": "fax"}, "channel"),
    ({"has_comment": "maybe"}, "has_comment"),
    ({"agent": "a b"}, "agent"),
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "eyJiZWZvcmUiOiJ4IiwiZnJvbSI6InkifQ"}, "cursor"),  # {"before":"x","from":"y"}
    ({"colour": "red"}, "colour"),
])
def test_bad_input_is_400_naming_the_parameter_on_both_routes(api, now, params, field):
    assert field in fields_of(listing(api, **params))
    export_params = {**params, "limit": "5001"} if field == "limit" and params["limit"] == "201" else params
    assert field in fields_of(export(api, **export_params))


def test_a_range_of_exactly_400_days_is_accepted(api, now):
    assert ok(listing(api, **{"from": "2025-01-01", "to": "2026-02-04"}))["responses"] == []


# --- the CSV export ------------------------------------------------------------------------

def test_the_csv_opens_in_a_spreadsheet_with_bom_header_and_one_row_per_response(api, now):
    survey_id = a_response(now - timedelta(hours=1), score=1, comment="Nobody read my ticket")
    response = export(api)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="responses-')
    assert "X-Next-Cursor" not in response.headers and "Link" not in response.headers
    assert response.body.startswith(b"\xef\xbb\xbfresponded_at,survey_id,")
    assert response.body.endswith(b"\r\n")
    (row,) = rows_of(response)
    assert row["survey_id"] == survey_id and row["score"] == "1" and row["detractor"] == "true"
    assert row["comment"] == "Nobody read my ticket" and row["agent_id"] == "agt_7" and row["team"] == "billing"
    assert row["responded_at"] == iso(now - timedelta(hours=1)) and row["followup_id"] == f"fu_{survey_id}"
    assert row["resolved"] == ""


@pytest.mark.parametrize("comment", ['=HYPERLINK("http://x","click")', "+1+2", "-2+3", "@SUM(A1)",
                                     "=1+2", "\uff1dcmd|' /C calc'!A0"])
def test_a_comment_a_spreadsheet_would_run_as_a_formula_is_defused(api, now, comment):
    a_response(now - timedelta(hours=1), comment=comment)
    (row,) = rows_of(export(api))
    assert row["comment"] == "'" + comment


def test_names_and_ids_are_defused_too(api, now):
    a_response(now - timedelta(hours=1), customer_name="=cmd|'/C calc'!A0", team="@team",
               interaction_id="-1+1")
    (row,) = rows_of(export(api))
    assert (row["customer_name"], row["team"], row["interaction_id"]) == ("'=cmd|'/C calc'!A0", "'@team", "'-1+1")


@pytest.mark.parametrize("comment", ['She said "never again", then left', "line one\r\nline two\nthree",
                                     "a,b;c\td", "Très bien 👍 — 谢谢", "'quoted' and \"double\""])
def test_comments_with_quotes_newlines_commas_and_unicode_round_trip(api, now, comment):
    a_response(now - timedelta(hours=1), comment=comment)
    (row,) = rows_of(export(api))
    assert row["comment"] == comment
    assert json.loads(listing(api).body)["responses"][0]["comment"] == comment


def test_the_export_is_paged_by_link_and_each_page_is_a_whole_file(api, now):
    made = [a_response(now - timedelta(hours=i), score=1 + i % 5) for i in range(1, 12)]
    rows, url, pages = [], f"/v1/responses.csv?{urlencode({'limit': 4, 'min_score': 1})}", 0
    while url:
        response = api.http.get(url, headers=api.headers)
        assert response.status_code == 200
        page_rows = rows_of(response)  # every page starts with the BOM and the header
        rows += page_rows
        pages += 1
        link = response.headers.get("Link")
        if link is None:
            assert "X-Next-Cursor" not in response.headers
            break
        assert len(page_rows) == 4
        target, rel = link.split(";", 1)
        assert rel.strip() == 'rel="next"'
        parsed = urlparse(target.strip().strip("<>"))
        query = parse_qs(parsed.query)
        assert query["cursor"] == [response.headers["X-Next-Cursor"]]
        assert query["limit"] == ["4"] and query["min_score"] == ["1"]
        url = f"{parsed.path}?{parsed.query}"
    assert pages == 3
    assert [row["survey_id"] for row in rows] == made


def test_a_page_stops_at_its_byte_budget_and_the_cursor_goes_on_from_there(api, now):
    from chalicelib.insight import responses
    from chalicelib.insight.queries import ResponseExportQuery
    from chalicelib.platform import clock

    made = [a_response(now - timedelta(hours=i), comment="ü" * 2000) for i in range(1, 6)]
    query = ResponseExportQuery()
    # 2,000 non-ASCII characters weigh 12,000 bytes in a Lambda answer (escaped): two rows fit.
    page = responses.export_page(query, clock.now(), max_bytes=25_000)
    assert page.rows == 2 and page.next_cursor
    rest = responses.export_page(ResponseExportQuery(cursor=page.next_cursor), clock.now())
    ids = [row["survey_id"] for text in (page.text, rest.text)
           for row in csv.DictReader(io.StringIO(text[1:], newline=""))]
    assert ids == made and rest.next_cursor is None


def test_the_worst_case_row_fits_5000_to_a_page_well_inside_lambda_limits():
    """docs/api.md's arithmetic: a typical row is a few hundred bytes; the byte budget bounds the rest."""
    from chalicelib.insight import responses
    from chalicelib.surveys.model import Agent, Channel, Customer, Survey, SurveyStatus
    from chalicelib.surveys.scoring import SurveyKind

    survey = Survey(
        survey_id="0123456789abcdef", interaction_id="zd-48213", kind=SurveyKind.CSAT, channel=Channel.EMAIL,
        status=SurveyStatus.RESPONDED, customer=Customer(id="cus_19", name="Ada Lovelace"),
        agent=Agent(id="agt_7", name="Sam"), team="billing", base_url="http://x", created_at=T0, send_at=T0,
        sent_at=T0, expires_at=T0, score=4, comment="Quick and friendly, thanks!", responded_at=T0,
        response_updated_at=T0)
    typical = len(responses.csv_line(survey).encode())
    assert typical < 300 and 5000 * typical < responses.MAX_PAGE_BYTES


def test_the_ops_export_follows_the_cursor_into_one_file_with_one_bom_and_header(api, now, monkeypatch):
    import argparse

    from chalicelib.insight import responses
    from ops.__main__ import _export_responses

    made = [a_response(now - timedelta(hours=i), comment=f"=comment {i}, \"quoted\"") for i in range(1, 8)]
    a_response(now - timedelta(hours=9), team="tech")
    real_page = responses.export_page
    pages = []

    def small_pages(query, at, max_bytes=responses.MAX_PAGE_BYTES):
        pages.append(query.cursor)
        return real_page(query.model_copy(update={"limit": 3}), at, max_bytes)

    monkeypatch.setattr(responses, "export_page", small_pages)
    args = argparse.Namespace(**{"from": "2026-11-01", "to": "2026-11-30", "survey": None, "channel": None,
                                 "agent": None, "team": "billing", "min_score": None, "max_score": None,
                                 "has_comment": None})
    out = io.BytesIO()
    assert _export_responses(args, out) == 0
    text = out.getvalue().decode("utf-8")
    assert len(pages) == 3 and text.count("\ufeff") == 1 and text.count("responded_at,survey_id") == 1
    rows = list(csv.DictReader(io.StringIO(text[1:], newline="")))
    assert [row["survey_id"] for row in rows] == made
    assert rows[0]["comment"] == "'=comment 1, \"quoted\""
