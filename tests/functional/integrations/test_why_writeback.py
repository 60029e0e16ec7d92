"""The helpdesk write-back note names why: the reasons ticked, the "resolved?" answer and the
comment's themes, as labels; the comment stays the customer's text, as it was."""
from __future__ import annotations

import pytest

from tests.functional.followups.test_why_surfaces import answer_why
from tests.functional.helpers import send_email_survey
from tests.functional.integrations.test_ticket_writeback import ZENDESK, notes_for

pytestmark = pytest.mark.usefixtures("asks_resolved_of_any_owner")


def test_the_note_names_the_reasons_resolved_and_themes(api, stack, clock, helpdesks):
    _survey_id, links = send_email_survey(api, stack, ticket=ZENDESK)
    answer_why(api, clock, links[1], ["waited", "other"], "no", "refund <b>please</b>")
    stack.run_jobs()

    text = notes_for(helpdesks, "48213")[-1]["text"]
    assert "Reasons: Waited too long, Other" in text and "Resolved: no" in text
    assert "Themes: Refunds and billing" in text and "Comment: refund <b>please</b>" in text
