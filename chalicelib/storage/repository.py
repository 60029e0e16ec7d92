"""The base of every repository: one aggregate, its key formats, on the shared table helper.

Repositories and the items each owns (the table's whole layout; every key format lives in its
repository and nowhere else):
- surveys/repository.py: survey, page views, interaction, the customer's survey index, throttle
  stamps; surveys/response_index.py: the responses index of counted responses
- followups/repository.py: follow-up (and its followups/due indexes), the customer's open marker
- contacts/repository.py: the suppression ledger, erasure receipts, SMS records (latest SMS, reply
  markers)
- leads/repository.py: the allowed list, sign-in links and their rate, sessions
- apikeys/repository.py: admin API keys
- insight/counters.py: report counters; delivery/send_rate.py: a channel's next send moment
- integrations/webhooks.py: helpdesk delivery markers; storage/named_counters.py: named counters
- events/repository.py: lifecycle events' publish markers
Storage never knows HTTP or the domain's rules: it raises ConditionFailed, and callers decide.
"""
from __future__ import annotations

from typing import Iterable, Optional, TypeVar

from pydantic import BaseModel

from chalicelib.storage.table import ItemKey, Table

M = TypeVar("M", bound=BaseModel)


class Repository:
    """One aggregate's reads and writes; `table` defaults to the stage's."""

    def __init__(self, table: Optional[Table] = None):
        self.table = table or Table()

    def _one(self, item_key: ItemKey, model: type[M], include_expired: bool = False) -> Optional[M]:
        """The item at `item_key` as `model`, or None (absent, or past its expiry unless `include_expired`)."""
        item = self.table.get(item_key, include_expired=include_expired)
        return model.model_validate(item) if item is not None else None

    @staticmethod
    def _all(items: Iterable[dict], model: type[M]) -> list[M]:
        return [model.model_validate(item) for item in items]
