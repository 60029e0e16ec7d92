"""Admin API keys on the table: pk=APIKEY, sk=<the key's stored hash> (apikeys/keys.py), one
partition, listable; never the key itself."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import BaseModel

from chalicelib.platform import clock
from chalicelib.platform.fields import UtcTime
from chalicelib.storage.repository import Repository
from chalicelib.storage.table import ConditionFailed, ItemKey


class ApiKey(BaseModel):
    key_hash: str
    name: str
    prefix: str
    created_at: UtcTime
    revoked_at: Optional[UtcTime] = None


def _key(key_hash: str) -> ItemKey:
    return ItemKey("APIKEY", key_hash)


class ApiKeyRepository(Repository):

    def put(self, key: ApiKey) -> None:
        self.table.put({**_key(key.key_hash)._asdict(), **key.model_dump(mode="json")},
                       condition="attribute_not_exists(pk)")

    def get(self, key_hash: str) -> Optional[ApiKey]:
        item = self.table.get(_key(key_hash), consistent=False)
        return ApiKey.model_validate(item) if item else None

    def rehash(self, old_hash: str, key: ApiKey) -> bool:
        """Move a live key to a new hash (the API-key pepper changed): the new item and the old
        one's removal in one transaction. False, changing nothing, when the old one was revoked or
        moved meanwhile, or the new one exists already."""
        try:
            self.table.transact([
                self.table.put_write({**_key(key.key_hash)._asdict(), **key.model_dump(mode="json")},
                                     condition="attribute_not_exists(pk)"),
                self.table.delete_write(_key(old_hash), "attribute_exists(pk) AND attribute_not_exists(revoked_at)"),
            ])
        except ConditionFailed:
            return False
        return True

    def list(self) -> list[ApiKey]:
        return self._all(self.table.query_prefix("APIKEY"), ApiKey)

    def revoke(self, key_hash: str, at: datetime) -> None:
        """Revoke a key (the first revocation's time stays); KeyError when there is no such key."""
        try:
            self.table.update(_key(key_hash), "SET revoked_at = if_not_exists(revoked_at, :at)",
                              condition="attribute_exists(pk)", values={":at": clock.iso(at)})
        except ConditionFailed as failure:
            raise KeyError(key_hash) from failure
