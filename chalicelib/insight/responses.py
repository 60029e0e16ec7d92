"""Survey responses for support leads: the filtered listing (GET /v1/responses) and the CSV export
(GET /v1/responses.csv) of any range, page by page.

Both read the sparse `responses` index (surveys/repository.py), newest first, one month partition after the
other, and go on from an opaque cursor: the index position of the last response handed out (and
the range's start), so filters never shift a page. A CSV page is a whole spreadsheet file (UTF-8
BOM, a header row, RFC 4180 quoting) with every text cell defused against formula injection; it
holds at most `limit` rows and at most MAX_PAGE_BYTES, so it fits a Lambda response.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterator, Optional
from urllib.parse import urlencode

from chalicelib.followups import followup_id_for
from chalicelib.insight.queries import ResponseExportQuery, ResponseQuery
from chalicelib.platform import clock
from chalicelib.platform.errors import bad_field
from chalicelib.platform.validation import decode_cursor, encode_cursor, instant
from chalicelib.surveys import ResponseIndex, Survey, scoring, tokens

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=400)
# A Lambda answer is at most 6 MB of JSON, in which the CSV is a string: its size is counted as
# JSON writes it (non-ASCII escaped as \\uXXXX, up to 12 bytes per character), leaving room.
MAX_PAGE_BYTES = 5_000_000
# How many index queries one page may take: a selective filter over a long range may give a page
# shorter than `limit` (even empty) with a cursor to go on.
_LIST_QUERIES = 20
_EXPORT_QUERIES = 60
_EXPORT_BATCH = 1000
_FILTERED_BATCH = 100

BOM = "\ufeff"
# reasons and themes: one cell each, their keys (why/) space-separated; new columns go last.
COLUMNS = ("responded_at", "survey_id", "interaction_id", "survey", "channel", "score", "detractor", "comment",
           "resolved", "customer_id", "customer_name", "agent_id", "agent_name", "team", "sent_at",
           "response_updated_at", "followup_id", "reasons", "themes")
# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets (OWASP's
# list, and the full-width forms some locales also read as formulas): it gets a leading '.
HEADER = BOM + ",".join(COLUMNS) + "\r\n"  # what starts every page
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_POSITION = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z(?:#(?P<id>.+))?")


@dataclass(frozen=True)
class Range:
    start: datetime
    end: datetime
    position: str   # where the page starts: the end of the range, or the cursor's place


# --- the listing ---------------------------------------------------------------------------

def view(survey: Survey) -> dict:
    """One response as GET /v1/responses lists it (no email or phone: see docs/api.md, "Responses API")."""
    detractor = scoring.is_detractor(survey.kind, survey.score)
    return {
        "survey_id": survey.survey_id, "interaction_id": survey.interaction_id, "survey": survey.kind.value,
        "channel": survey.channel.value, "score": survey.score, "detractor": detractor,
        "comment": survey.comment, "resolved": survey.resolved, "reasons": survey.reasons, "themes": survey.themes,
        "responded_at": _iso(survey.responded_at), "response_updated_at": _iso(survey.response_updated_at),
        "sent_at": _iso(survey.sent_at), "customer_id": survey.customer.id, "customer_name": survey.customer.name,
        "agent": survey.agent.model_dump(exclude_none=True) if survey.agent else None, "team": survey.team,
        "followup_id": followup_of(survey), "resurvey": survey.followup_id is not None,
    }


def followup_of(survey: Survey) -> Optional[str]:
    """The follow-up a response belongs to: the one a re-survey follows up, or the one a detractor
    response opens (after the comment wait)."""
    if survey.followup_id is not None:
        return survey.followup_id
    return followup_id_for(survey.survey_id) if scoring.is_detractor(survey.kind, survey.score) else None


def list_view(query: ResponseQuery, at: datetime) -> dict:
    """One page of GET /v1/responses, newest first; `next_cursor` is null on the last page."""
    window = read_range(query, at)
    batch = max(query.limit + 1, _FILTERED_BATCH) if _filtered(query) else query.limit + 1
    found = _scan(query, window, batch, _LIST_QUERIES)
    items, next_position = [], None
    for survey, position in found:
        if survey is None:  # out of queries: go on from where the scan stopped
            next_position = position
            break
        if len(items) == query.limit:  # one more exists: go on after the last one listed
            break
        items.append(survey)
        next_position = position
    else:
        next_position = None
    return {"responses": [view(s) for s in items], "next_cursor": _cursor(next_position, window)}


# --- the CSV export ------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvPage:
    text: str
    rows: int
    next_cursor: Optional[str]
    file_name: str


def export_page(query: ResponseExportQuery, at: datetime, max_bytes: int = MAX_PAGE_BYTES) -> CsvPage:
    """One page of the export: a complete CSV file of up to `query.limit` rows and `max_bytes`."""
    window = read_range(query, at)
    found = _scan(query, window, _EXPORT_BATCH, _EXPORT_QUERIES)
    out = io.StringIO()
    out.write(HEADER)
    size, rows, next_position = _json_size(HEADER), 0, None
    for survey, position in found:
        if survey is None:
            next_position = position
            break
        line = csv_line(survey)
        if rows == query.limit or size + _json_size(line) > max_bytes:
            break  # next_position stays at the last row written
        out.write(line)
        size, rows, next_position = size + _json_size(line), rows + 1, position
    else:
        next_position = None
    return CsvPage(out.getvalue(), rows, _cursor(next_position, window),
                   f"responses-{window.start:%Y%m%dT%H%M%SZ}-{window.end:%Y%m%dT%H%M%SZ}.csv")


def csv_line(survey: Survey) -> str:
    """One response as a CSV record (CRLF-terminated), every text cell defused."""
    agent = survey.agent
    values = (survey.responded_at, survey.survey_id, survey.interaction_id, survey.kind.value,
              survey.channel.value, survey.score, scoring.is_detractor(survey.kind, survey.score), survey.comment,
              survey.resolved, survey.customer.id, survey.customer.name, agent.id if agent else None,
              agent.name if agent else None, survey.team, survey.sent_at, survey.response_updated_at,
              followup_of(survey), " ".join(survey.reasons), " ".join(survey.themes))
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell(value) for value in values])
    return out.getvalue()


def cell(value: Any) -> str:
    """A spreadsheet-safe cell: a text that a spreadsheet would run as a formula starts with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return clock.iso(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def next_link(base_url: str, params: dict, cursor: str) -> str:
    """The URL of the next page: the same query with the new cursor (for a Link header)."""
    kept = [(name, value) for name, value in (params or {}).items() if name != "cursor"]
    return f"{base_url}/v1/responses.csv?{urlencode(kept + [('cursor', cursor)])}"


# --- range, cursor and filters -------------------------------------------------------------

def read_range(query: ResponseQuery, at: datetime) -> Range:
    """[from, to) from the query (dates are whole UTC days, `to` included), the default being the 30
    days up to `at`; the cursor's place and range start carry on a paging. 400 naming the field."""
    end = instant("to", query.to, day_end=True) if query.to else at
    start = instant("from", query.from_) if query.from_ else end - DEFAULT_WINDOW
    if start > (instant("to", query.to) if query.to else end):  # a `to` date: from its midnight on
        raise bad_field("from", f"must not be after to ({query.to or clock.iso(end)})")
    if end - start > MAX_WINDOW:
        raise bad_field("to" if query.to else "from",
                             f"the range from..to may span at most {MAX_WINDOW.days} days")
    position = clock.iso(end)
    if query.cursor:
        key = decode_cursor(query.cursor, _is_cursor)
        if not query.from_:  # the default start is kept from the first page, not moved with the clock
            start = clock.parse_iso(key["from"])
        position = min(key["before"], position)
    return Range(start, end, position)


def _is_cursor(key: Any) -> bool:
    if not isinstance(key, dict) or set(key) != {"before", "from"}:
        return False
    if not all(isinstance(value, str) for value in key.values()):
        return False
    before, start = _POSITION.fullmatch(key["before"]), _POSITION.fullmatch(key["from"])
    if not before or not start or start.group("id") is not None:
        return False
    if before.group("id") is not None and not tokens.is_survey_id(before.group("id")):
        return False
    try:
        clock.parse_iso(key["before"].partition("#")[0]), clock.parse_iso(key["from"])
    except ValueError:
        return False
    return True


def _cursor(position: Optional[str], window: Range) -> Optional[str]:
    return encode_cursor({"before": position, "from": clock.iso(window.start)}) if position else None


def _filtered(query: ResponseQuery) -> bool:
    return any(value is not None for value in (query.survey, query.channel, query.agent, query.team,
                                               query.min_score, query.max_score, query.has_comment,
                                               query.reason, query.theme, query.resolved))


def _scan(query: ResponseQuery, window: Range, batch: int, max_queries: int) -> Iterator[tuple[Optional[Survey], str]]:
    return ResponseIndex().newest_first(
        window.start, window.position, kind=query.survey.value if query.survey else None,
        channel=query.channel.value if query.channel else None, agent=query.agent, team=query.team,
        min_score=query.min_score, max_score=query.max_score, has_comment=query.has_comment,
        reason=query.reason, theme=query.theme, resolved=query.resolved, batch=batch, max_queries=max_queries)


def _json_size(text: str) -> int:
    return len(json.dumps(text)) - 2


def _iso(value: Optional[datetime]) -> Optional[str]:
    return clock.iso(value) if value else None
