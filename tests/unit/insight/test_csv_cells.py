"""The CSV export's cells: text a spreadsheet would run as a formula is defused, nothing else changes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.insight.responses import cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\uff1d1+1", "\uff20x",
                                  '=HYPERLINK("http://x")'])
def test_a_formula_start_gets_a_leading_quote(text):
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["fine", " =1", "a=b", "1-2", "'=1", "", "é", "👍 +1"])
def test_other_text_is_unchanged(text):
    assert cell(text) == text


def test_numbers_booleans_times_and_missing_values():
    assert (cell(0), cell(10), cell(True), cell(False), cell(None)) == ("0", "10", "true", "false", "")
    assert cell(datetime(2026, 11, 24, 10, tzinfo=timezone.utc)) == "2026-11-24T10:00:00.000Z"
