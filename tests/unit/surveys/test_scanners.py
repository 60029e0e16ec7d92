"""Person or machine? The rules of chalicelib.scanners, on hand-built page views."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Optional

import pytest

from chalicelib.surveys import scanners
from chalicelib.surveys.model import OpenVerdict, SurveyOpen
from chalicelib.surveys.scanners import HONEYPOT

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
_ids = count()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def page_view(score: Optional[int], opened: float, *, confirmed: Optional[float] = None,
              verdict: Optional[OpenVerdict] = None, user_agent: str = CHROME) -> SurveyOpen:
    """A fetch of a survey link `opened` seconds after T0, confirmed (and counted) at `confirmed`."""
    if verdict is None:
        verdict = OpenVerdict.COUNTED if confirmed is not None else OpenVerdict.PENDING
    return SurveyOpen(open_id=f"open{next(_ids)}", survey_id="0123456789abcdef", at=at(opened), method="GET",
                      score=score, user_agent=user_agent, verdict=verdict,
                      confirmed_at=at(confirmed) if confirmed is not None else None)


def confirm(view: SurveyOpen, others: list[SurveyOpen], now: float, explicit: bool = False,
            user_agent: str = CHROME) -> scanners.Judgement:
    """Judge `view` confirming its score at `now`, with `others` as the survey's other recent views."""
    return scanners.judge_confirmation(view, [view, *others], user_agent, at(now), explicit)


# --- a single fetch ----------------------------------------------------------------------

def test_head_is_automated_even_from_a_browser_user_agent():
    assert scanners.judge_fetch("HEAD", CHROME).automated
    assert scanners.judge_fetch("head", CHROME).automated


@pytest.mark.parametrize("user_agent", ["", "   "])
def test_a_missing_user_agent_is_automated(user_agent):
    assert scanners.judge_fetch("GET", user_agent).automated


@pytest.mark.parametrize("user_agent", [
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Python-urllib/3.11",
    "Wget/1.21.4",
    "Go-http-client/1.1",
    "okhttp/4.12.0",
    "Mozilla/5.0 (compatible; Mimecast URL Protect)",
    "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.23.20.0",
    "Mozilla/5.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; ms-office; MSOffice rmj)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
])
def test_bots_previewers_and_http_libraries_are_automated(user_agent):
    judgement = scanners.judge_fetch("GET", user_agent)
    assert judgement.automated and judgement.reason


@pytest.mark.parametrize("user_agent", [
    CHROME,
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.81 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.51",
    # Acceptance checks drive headless Chromium as "a person".
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.6778.33 Safari/537.36",
])
def test_a_normal_browser_get_is_not_automated(user_agent):
    assert scanners.judge_fetch("GET", user_agent) == scanners.PERSON


# --- a confirmation, against the survey's other page views ---------------------------------

def test_a_single_view_confirmed_by_a_browser_counts():
    view = page_view(4, opened=0)
    assert confirm(view, [], now=4) == scanners.PERSON


def test_a_confirmation_from_a_bot_user_agent_is_refused():
    view = page_view(4, opened=0)
    assert confirm(view, [], now=4, user_agent="python-requests/2.32.3").automated


def test_a_view_already_judged_automated_cannot_be_confirmed_by_a_browser():
    view = page_view(4, opened=0, verdict=OpenVerdict.AUTOMATED)
    assert confirm(view, [], now=4).automated


def test_a_burst_of_different_scores_without_confirmation_is_refused():
    burst = [page_view(s, opened=s * 0.5) for s in (2, 3, 4, 5)]
    view = page_view(1, opened=0)
    judgement = confirm(view, burst, now=5)
    assert judgement.automated and not judgement.sweep
    assert "5 scores" in judgement.reason


def test_two_different_scores_opened_seconds_apart_without_confirmation_are_refused():
    other = page_view(1, opened=0)
    view = page_view(2, opened=3)
    assert confirm(view, [other], now=7).automated


def test_a_person_who_changes_their_score_twenty_seconds_after_confirming_is_counted():
    earlier = page_view(2, opened=0, confirmed=4)
    view = page_view(4, opened=20)
    assert confirm(view, [earlier], now=24) == scanners.PERSON


def test_a_person_who_opens_another_score_five_seconds_after_confirming_is_counted():
    earlier = page_view(2, opened=0, confirmed=4)
    view = page_view(4, opened=5)
    assert confirm(view, [earlier], now=9) == scanners.PERSON


def test_a_confirmation_that_came_after_the_other_link_was_opened_does_not_excuse_the_burst():
    earlier = page_view(2, opened=0, confirmed=6)
    view = page_view(4, opened=5)
    assert confirm(view, [earlier], now=9).automated


def test_other_scores_opened_outside_the_burst_window_are_ignored():
    old = page_view(1, opened=0)
    view = page_view(5, opened=scanners.BURST_WINDOW.total_seconds() + 1)
    assert confirm(view, [old], now=30) == scanners.PERSON


def test_the_same_score_opened_twice_is_not_a_burst():
    first = page_view(4, opened=0)
    view = page_view(4, opened=2)
    assert confirm(view, [first], now=6) == scanners.PERSON


def test_the_score_choice_page_opened_alongside_is_not_a_burst():
    choice_page = page_view(None, opened=0)
    view = page_view(4, opened=2)
    assert confirm(view, [choice_page], now=6) == scanners.PERSON


def test_an_explicit_submit_with_two_scores_in_the_burst_is_counted():
    other = page_view(1, opened=0)
    view = page_view(2, opened=3)
    assert confirm(view, [other], now=10, explicit=True) == scanners.PERSON


def test_an_explicit_submit_with_three_scores_in_the_burst_is_refused():
    others = [page_view(1, opened=0), page_view(3, opened=1)]
    view = page_view(2, opened=2)
    assert confirm(view, others, now=10, explicit=True).automated


def test_honeypot_fetched_near_the_time_refuses():
    honeypot = page_view(HONEYPOT, opened=0, verdict=OpenVerdict.AUTOMATED)
    view = page_view(5, opened=30)
    judgement = confirm(view, [honeypot], now=34, explicit=True)
    assert judgement.automated and "hidden link" in judgement.reason


def test_honeypot_fetched_long_before_does_not_refuse():
    honeypot = page_view(HONEYPOT, opened=0, verdict=OpenVerdict.AUTOMATED)
    view = page_view(5, opened=scanners.HONEYPOT_WINDOW.total_seconds() + 60)
    assert confirm(view, [honeypot], now=200) == scanners.PERSON


def test_four_different_scores_confirmed_within_90_seconds_is_a_sweep():
    # Opened 20 s apart (no burst), each confirmed 4 s after it was opened.
    confirmed = [page_view(score, opened=i * 20, confirmed=i * 20 + 4) for i, score in enumerate((1, 2, 3))]
    view = page_view(4, opened=60)
    judgement = confirm(view, confirmed, now=64)
    assert judgement.automated and judgement.sweep


def test_three_different_scores_confirmed_within_90_seconds_is_not_a_sweep():
    confirmed = [page_view(score, opened=i * 20, confirmed=i * 20 + 4) for i, score in enumerate((1, 2))]
    view = page_view(3, opened=40)
    assert confirm(view, confirmed, now=44) == scanners.PERSON


def test_different_scores_confirmed_more_than_90_seconds_ago_are_not_a_sweep():
    confirmed = [page_view(score, opened=i * 20, confirmed=i * 20 + 4) for i, score in enumerate((1, 2, 3))]
    view = page_view(4, opened=200)
    assert confirm(view, confirmed, now=204) == scanners.PERSON


def test_a_page_confirming_itself_before_the_dwell_is_a_script():
    view = SurveyOpen(open_id="o1", survey_id="s", at=T0, method="GET", score=4, user_agent=CHROME)
    dwell = timedelta(seconds=2.4)
    early = scanners.judge_confirmation(view, [view], CHROME, T0 + timedelta(seconds=1), False, dwell)
    assert early.automated and "sooner" in early.reason
    assert not scanners.judge_confirmation(view, [view], CHROME, T0 + timedelta(seconds=3), False, dwell).automated
    # A person's own submit needs no dwell: they clicked.
    assert not scanners.judge_confirmation(view, [view], CHROME, T0 + timedelta(seconds=1), True, dwell).automated
