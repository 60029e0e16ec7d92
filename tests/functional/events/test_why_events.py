"""Response events carry why: the reasons' and themes' keys and the resolved answer, valid against
the documented schema, whether or not the stage shares comments."""
from __future__ import annotations

import pytest

from tests.functional.events.test_lifecycle_events import assert_valid
from tests.functional.followups.test_why_surfaces import answer_why
from tests.functional.helpers import send_email_survey

pytestmark = pytest.mark.usefixtures("asks_resolved_of_any_owner")


def test_the_changed_response_event_names_reasons_themes_and_resolved_without_the_comment(api, stack, bus, clock):
    _survey_id, links = send_email_survey(api, stack)
    answer_why(api, clock, links[2], ["attitude"], "no", "the agent was rude about my refund")
    stack.run_jobs()

    (recorded,) = bus.of("closeloop.response.recorded")
    assert (recorded["reasons"], recorded["themes"]) == ([], [])  # the score alone, confirmed first
    (changed,) = bus.of("closeloop.response.changed")
    assert (changed["reasons"], changed["themes"], changed["resolved"]) == (["attitude"], ["attitude", "billing"],
                                                                            False)
    assert "comment" not in changed
    for event in bus.published():
        assert_valid(event)
