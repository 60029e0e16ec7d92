"""The publish markers: one item per event id (pk=EVENT#<id>, sk=EVENT), which carries the
once-only step "publish" (storage/steps.py). It holds no personal data and expires after
MARKER_DAYS, longer than a job can live on the queue (SQS keeps a message at most 14 days)."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.storage.repository import Repository
from chalicelib.storage.table import ItemKey

MARKER_DAYS = 15


def marker_key(event_id: str) -> ItemKey:
    return ItemKey(f"EVENT#{event_id}", "EVENT")


class EventMarkers(Repository):
    def ensure(self, event_id: str, detail_type: str, at: datetime) -> ItemKey:
        """The event's marker, created unless it exists; its key."""
        item_key = marker_key(event_id)
        self.table.create({"pk": item_key.pk, "sk": item_key.sk, "detail_type": detail_type,
                           "expires_ttl": int((at + timedelta(days=MARKER_DAYS)).timestamp())})
        return item_key
