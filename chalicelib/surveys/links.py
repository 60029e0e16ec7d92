"""The public URLs of a survey. Paths live here only, so messages and routes cannot disagree."""
from __future__ import annotations


def choose_url(base_url: str, token: str) -> str:
    """The page listing every score (the SMS link)."""
    return f"{base_url.rstrip('/')}/s/{token}"


def score_url(base_url: str, token: str, score: int) -> str:
    """One-click link for one score (email buttons)."""
    return f"{choose_url(base_url, token)}/{score}"


def honeypot_url(base_url: str, token: str) -> str:
    """A link hidden from people in the email; only machines follow it."""
    return f"{base_url.rstrip('/')}/h/{token}"


def unsubscribe_url(base_url: str, token: str) -> str:
    """The email's opt-out (List-Unsubscribe, RFC 8058): GET shows a page, POST unsubscribes."""
    return f"{base_url.rstrip('/')}/u/{token}"
