"""A lead switches their weekly digest off, or moves it, from the dashboard's settings page."""
from __future__ import annotations

from tests.functional.insight.test_dashboard import cookie, csrf, get, html, lead, post  # noqa: F401


def stored(email: str):
    from chalicelib.leads import get_lead

    return get_lead(email)


def test_the_settings_page_shows_the_leads_digest_as_it_is(api, cookie):  # noqa: F811
    page = html(get(api, "/dashboard/settings", cookie))
    assert 'name="enabled" value="true" checked' in page and '<option value="mon" selected>' in page
    assert 'name="hour" min="0" max="23" value="8"' in page and 'name="csrf"' in page


def test_a_lead_switches_the_digest_off_and_moves_it(api, lead, cookie):  # noqa: F811
    answer = post(api, "/dashboard/settings", {"csrf": csrf(cookie), "weekday": "fri", "hour": "17",
                                               "timezone": "Europe/Paris"}, cookie)

    assert answer.status_code == 303 and answer.headers["Location"].endswith("/dashboard/settings?saved=1")
    changed = stored(lead.email)
    assert (changed.digest_enabled, changed.digest_weekday, changed.digest_hour, changed.digest_timezone) == (
        False, "fri", 17, "Europe/Paris")
    assert "Saved." in html(get(api, "/dashboard/settings?saved=1", cookie))

    post(api, "/dashboard/settings", {"csrf": csrf(cookie), "enabled": "true", "weekday": "fri", "hour": "17",
                                      "timezone": ""}, cookie)
    assert stored(lead.email).digest_enabled is True and stored(lead.email).digest_timezone == "Europe/Paris"


def test_a_bad_value_is_refused_naming_it_and_changes_nothing(api, lead, cookie):  # noqa: F811
    page = html(post(api, "/dashboard/settings", {"csrf": csrf(cookie), "weekday": "fri", "hour": "25"}, cookie), 400)

    assert "hour" in page
    assert stored(lead.email).digest_hour == 8 and stored(lead.email).digest_enabled is True


def test_without_the_csrf_token_nothing_changes(api, lead, cookie):  # noqa: F811
    answer = post(api, "/dashboard/settings", {"weekday": "fri", "hour": "3"}, cookie)

    assert answer.status_code == 403 and stored(lead.email).digest_hour == 8
