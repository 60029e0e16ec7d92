"""The leads' items on the table.

Items
- lead:         pk=LEAD                        sk=<lowercased email>  (the dashboard's allowed list, listable)
- sign-in link: pk=SIGNIN#<sha256 of the token> sk=SIGNIN  (one-time, `used_at` once consumed; `expires_ttl`)
- sign-in rate: pk=SIGNINRATE#<email>          sk=SIGNINRATE  (when links were asked for lately; `expires_ttl`)
- client rate:  pk=SIGNINCLIENT#<source ip>     sk=SIGNINCLIENT  (when this client asked lately; `expires_ttl`)
- link request: pk=SIGNINREQ#<request id>       sk=SIGNINREQ  (one asked-for link, emailed once; `expires_ttl`)
- session:      pk=SESSION#<sha256 of the cookie value> sk=SESSION  (a lead signed in; `expires_ttl`)
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from chalicelib.leads.model import Lead, SessionRecord, SignInLink
from chalicelib.platform import clock
from chalicelib.storage.repository import Repository
from chalicelib.storage.table import TTL_ATTRIBUTE, ConditionFailed, ItemKey

# How often a sign-in count that lost to a concurrent one is tried.
_COUNT_ATTEMPTS = 10


def _lead_key(email: str) -> ItemKey:
    return ItemKey("LEAD", email.lower())


def lead_key(email: str) -> ItemKey:
    """A lead's item: its weekly digest is a once-only step on it (`digest_<YYYY-Www>`, insight/digest.py)."""
    return _lead_key(email)


def _link_key(token_hash: str) -> ItemKey:
    return ItemKey(f"SIGNIN#{token_hash}", "SIGNIN")


def _session_key(session_hash: str) -> ItemKey:
    return ItemKey(f"SESSION#{session_hash}", "SESSION")


def signin_request_key(request_id: str) -> ItemKey:
    """The item of one asked-for link: its email is a once-only step on it (storage/steps.py)."""
    return ItemKey(f"SIGNINREQ#{request_id}", "SIGNINREQ")


class LeadRepository(Repository):

    # --- the allowed list ---

    def put_lead(self, lead: Lead) -> bool:
        """Put a lead on the allowed list; False (nothing changed) when the address is on it already."""
        return self.table.create({**_lead_key(lead.email)._asdict(), **lead.model_dump(mode="json")})

    def get_lead(self, email: str) -> Optional[Lead]:
        return self._one(_lead_key(email), Lead)

    def list_leads(self) -> list[Lead]:
        return self._all(self.table.query_prefix("LEAD"), Lead)

    def remove_lead(self, email: str) -> Optional[Lead]:
        """Take a lead off the allowed list; the removed lead, or None when it was not on it."""
        old = self.table.delete(_lead_key(email))
        return Lead.model_validate(old) if old else None

    def set_slack_user(self, email: str, slack_user_id: Optional[str]) -> Optional[Lead]:
        """Link (or, with None, unlink) a lead's Slack user id; None when the address is not on the list."""
        expression, values = ("SET slack_user_id = :u", {":u": slack_user_id}) if slack_user_id else (
            "REMOVE slack_user_id", None)
        try:
            item = self.table.update(_lead_key(email), expression, condition="attribute_exists(pk)",
                                     values=values, returns="ALL_NEW")
        except ConditionFailed:
            return None
        return Lead.model_validate(item)

    def set_digest(self, email: str, changes: dict) -> Optional[Lead]:
        """Change a lead's digest fields (Lead.digest_*); None when the address is not on the list."""
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values = {f":v{i}": value for i, value in enumerate(changes.values())}
        try:
            item = self.table.update(_lead_key(email), "SET " + ", ".join(f"{n} = :v{n[2:]}" for n in names),
                                     condition="attribute_exists(pk)", names=names, values=values, returns="ALL_NEW")
        except ConditionFailed:
            return None
        return Lead.model_validate(item)

    # --- sign-in links ---

    def put_link(self, token_hash: str, link: SignInLink) -> None:
        self.table.put({**_link_key(token_hash)._asdict(), **link.model_dump(mode="json"),
                        TTL_ATTRIBUTE: int(link.expires_at.timestamp())}, condition="attribute_not_exists(pk)")

    def get_link(self, token_hash: str) -> Optional[SignInLink]:
        return self._one(_link_key(token_hash), SignInLink, include_expired=True)

    def consume_link(self, token_hash: str, at: datetime) -> Optional[SignInLink]:
        """Mark the link used, if it is unused and unexpired at `at`: one conditional write, so of
        concurrent clicks exactly one gets the link; the others (and any later one) get None."""
        try:
            item = self.table.update(
                _link_key(token_hash), "SET used_at = :at", returns="ALL_NEW",
                condition="attribute_exists(pk) AND attribute_not_exists(used_at) AND expires_at > :at",
                values={":at": clock.iso(at)})
        except ConditionFailed:
            return None
        return SignInLink.model_validate(item)

    def count_address_request(self, email: str, at: datetime, window: timedelta, limit: int) -> Optional[datetime]:
        """Count a link asked for `email` at `at` (see _count)."""
        return self._count(ItemKey(f"SIGNINRATE#{email.lower()}", "SIGNINRATE"), at, window, limit)

    def count_client_request(self, client: str, at: datetime, window: timedelta, limit: int) -> Optional[datetime]:
        """Count a link asked for by `client` (its source IP) at `at` (see _count)."""
        return self._count(ItemKey(f"SIGNINCLIENT#{client}", "SIGNINCLIENT"), at, window, limit)

    def put_request(self, request_id: str, expires_at: datetime) -> None:
        """The item of an asked-for link, once (a duplicate job finds it there and changes nothing)."""
        self.table.create({**signin_request_key(request_id)._asdict(), TTL_ATTRIBUTE: int(expires_at.timestamp())})

    def _count(self, item_key: ItemKey, at: datetime, window: timedelta, limit: int) -> Optional[datetime]:
        """Count a request at `at` unless `limit` were counted within `window` before it (a sliding
        window): None when counted, else when the next one may be. Concurrent callers are counted one
        by one; a refused request is not counted (a flood does not push the moment on)."""
        for _ in range(_COUNT_ATTEMPTS):
            stored = self.table.get(item_key, include_expired=True) or {}
            recent = sorted(sent for sent in stored.get("sent", []) if sent > clock.iso(at - window))
            if len(recent) >= limit:
                return clock.parse_iso(recent[-limit]) + window
            version = stored.get("version", 0)
            try:
                self.table.put({**item_key._asdict(), "sent": recent + [clock.iso(at)], "version": version + 1,
                                TTL_ATTRIBUTE: int((at + window).timestamp())},
                               condition="attribute_not_exists(pk) OR version = :version", values={":version": version})
                return None
            except ConditionFailed:
                continue
        return at + window  # lost every race: as good as over the limit

    # --- sessions ---

    def put_session(self, session_hash: str, record: SessionRecord) -> None:
        self.table.put({**_session_key(session_hash)._asdict(), **record.model_dump(mode="json"),
                        TTL_ATTRIBUTE: int(record.expires_at.timestamp())}, condition="attribute_not_exists(pk)")

    def get_session(self, session_hash: str) -> Optional[SessionRecord]:
        return self._one(_session_key(session_hash), SessionRecord, include_expired=True)

    def delete_session(self, session_hash: str) -> None:
        self.table.delete(_session_key(session_hash))
