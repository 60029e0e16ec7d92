"""Every repository on one table, for tests that read or write the table beneath the product."""
from __future__ import annotations

from typing import Optional

from chalicelib.apikeys.repository import ApiKeyRepository
from chalicelib.contacts.repository import ErasureReceipts, SmsRecords, SuppressionRepository
from chalicelib.delivery.send_rate import SendMoments
from chalicelib.followups.repository import FollowUpRepository
from chalicelib.insight.counters import ReportCounters
from chalicelib.leads.repository import LeadRepository
from chalicelib.storage.named_counters import NamedCounters
from chalicelib.storage.table import ItemKey, Table
from chalicelib.surveys.repository import SurveyRepository
from chalicelib.surveys.response_index import ResponseIndex


class Repositories:
    """The repositories of `table` (default: the stage's, as the product uses it)."""

    def __init__(self, table: Optional[Table] = None):
        self.table = table or Table()
        self.surveys = SurveyRepository(self.table)
        self.responses = ResponseIndex(self.table)
        self.followups = FollowUpRepository(self.table)
        self.suppressions = SuppressionRepository(self.table)
        self.receipts = ErasureReceipts(self.table)
        self.sms = SmsRecords(self.table)
        self.leads = LeadRepository(self.table)
        self.api_keys = ApiKeyRepository(self.table)
        self.counters = ReportCounters(self.table)
        self.named = NamedCounters(self.table)
        self.moments = SendMoments(self.table)

    # The product's paired writes (a write and the report counters it moves), on this table.

    def add_open(self, view, survey=None) -> None:
        """A page view; with the survey as read, counted as its first open when it is one."""
        from chalicelib.surveys import keep_view

        keep_view(survey, view, self.surveys) if survey is not None else self.surveys.add_open(view)

    def record_response(self, survey, evidence, score, comment, at, resolved=None, reasons=None) -> int:
        from chalicelib.surveys import count_response

        return count_response(survey, evidence, score, comment, at, resolved, self.surveys, reasons)

    def withdraw_response(self, survey, evidence, at) -> None:
        from chalicelib.surveys import withdraw_response

        withdraw_response(survey, evidence, at, self.surveys)

    def mark_sent(self, survey_id, at, message_id, survey=None) -> None:
        """The survey went; with the survey as read, its send is counted in the same write."""
        from chalicelib.delivery import mark_sent

        if survey is None:
            self.surveys.mark_sent(survey_id, at, message_id)
        else:
            mark_sent(survey, at, message_id, self.surveys)

    # Once-only steps and markers on any item, by its key.

    def claim_step(self, pk, sk, step, at, lease_seconds):
        from chalicelib.storage import steps

        return steps.claim(ItemKey(pk, sk), step, at, lease_seconds, self.table)

    def complete_step(self, pk, sk, step, at) -> None:
        from chalicelib.storage import steps

        steps.complete(ItemKey(pk, sk), step, at, self.table)

    def release_step(self, pk, sk, step) -> None:
        from chalicelib.storage import steps

        steps.release(ItemKey(pk, sk), step, self.table)

    def put_marker(self, pk, sk, at, **values) -> bool:
        from chalicelib.platform import clock
        from chalicelib.storage.table import TTL_ATTRIBUTE, expiry_of

        values.setdefault(TTL_ATTRIBUTE, expiry_of(at))
        return self.table.create({"pk": pk, "sk": sk, "at": clock.iso(at), **values})

    def delete_marker(self, pk, sk) -> bool:
        return self.table.delete(ItemKey(pk, sk)) is not None

    def delete_if_for_surveys(self, pk, sk, survey_ids) -> bool:
        return self.table.delete_if_in(ItemKey(pk, sk), "survey_id", survey_ids)
