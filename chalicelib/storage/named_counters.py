"""Named counters: atomic counts shared by every handler (round-robin owners, suppressed surveys).

Item: pk=COUNTER#<name>, sk=COUNTER, `n` the count. The names are their users' (e.g.
"owners:billing" in followups/routing.py, "suppressed:bounced" in contacts/ledger.py).
"""
from __future__ import annotations

from typing import Sequence

from chalicelib.storage.repository import Repository
from chalicelib.storage.table import ItemKey


def _key(name: str) -> ItemKey:
    return ItemKey(f"COUNTER#{name}", "COUNTER")


class NamedCounters(Repository):

    def next(self, name: str) -> int:
        """0, 1, 2, ... across all callers: one atomic counter per name (a rotation's turn)."""
        return self.add(name) - 1

    def add(self, name: str) -> int:
        """Add one to a counter (atomic, across all callers); returns its new value."""
        updated = self.table.update(_key(name), "ADD #n :one", names={"#n": "n"}, values={":one": 1},
                                    returns="UPDATED_NEW")
        return int(updated["n"])

    def values(self, names: Sequence[str]) -> dict[str, int]:
        """The current values of counters (0 for one never counted), in one BatchGetItem."""
        names = list(dict.fromkeys(names))
        found = {name: 0 for name in names}
        for item in self.table.batch_get([_key(name) for name in names]):
            found[item["pk"].removeprefix("COUNTER#")] = int(item["n"])
        return found
