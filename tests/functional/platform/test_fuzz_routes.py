"""The edge never crashes: every route of the app's route table (so a new route is fuzzed without
being listed here), every method, gets generated requests through chalice's test client (bodies:
random JSON with wrong types in known fields, deep nesting, duplicate keys, huge numbers, invalid
UTF-8, form posts, multipart garbage; query strings; path parameters; headers), with and without
credentials (an API key, a lead's session and its CSRF token, a helpdesk's signature), and never
answers 5xx. A /v1/ refusal is JSON that says what is wrong, naming its fields."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import API_KEY
from tests.functional.followup_helpers import open_followup

# The field and parameter names the app reads, so wrong types land where they are looked at.
NAMES = ["interaction_id", "survey", "channel", "customer", "id", "email", "phone", "name", "locale", "timezone",
         "agent", "team", "properties", "occurred_at", "send_at", "ticket", "helpdesk", "kind", "value", "reason",
         "owner", "note", "status", "due_at", "score", "comment", "resolved", "open_id", "csrf", "action", "tab",
         "next", "from", "to", "days", "group_by", "cursor", "limit", "min_score", "max_score", "detractors",
         "done", "signed_out", "type", "event", "data", "item", "conversation", "created_at", "topic"]
SECRETS = {"zendesk": "dGhpcyBpcyBhIHplbmRlc2sgc2lnbmluZyBzZWNyZXQ=", "intercom": "intercom-client-secret-0123",
           "freshdesk": "fd-shared-secret-9f8e7d6c5b4a"}
SECRET_SETTINGS = {"zendesk": "CLOSELOOP_ZENDESK_WEBHOOK_SECRET", "intercom": "CLOSELOOP_INTERCOM_CLIENT_SECRET",
                   "freshdesk": "CLOSELOOP_FRESHDESK_WEBHOOK_SECRET"}

texts = st.one_of(st.text(max_size=12), st.sampled_from(["", " ", "\x00", "\u202e", "\ud800x", "%zz", "9" * 60,
                                                         "x" * 5000, "2026-13-45", "-1", "🙂", "a\nb"]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    texts)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(NAMES) | texts, inner,
                                                                       max_size=4)), max_leaves=8)
json_bodies = st.dictionaries(st.sampled_from(NAMES), values, max_size=6).map(lambda d: json.dumps(d).encode())
nested = st.builds(lambda n, open_, close: open_ * n + close * n, st.integers(30, 3000),
                   st.sampled_from([b"[", b'{"a":[']), st.sampled_from([b"]", b"]}"]))
ODDITIES = [
    b'{"interaction_id": "a", "interaction_id": "b"}', b'{"score": NaN}', b'{"score": 1e999}', b"[Infinity]",
    b'{"owner": ' + b"9" * 5000 + b"}", b'{"note": "\xff\xfe"}', b'{"note": "\\ud800"}', b"", b"null", b"[]",
    b'"text"', b"\xef\xbb\xbf{}", b"\x00" * 20, b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
    b'--b\r\nContent-Disposition: form-data; name="comment"\r\n'
    b"Content-Type: text/plain; charset=nope\r\n\r\nx\r\n--b--",
    b"score=%zz&comment=%ff%fe&csrf=&csrf=2&email=%00", b"email=" + b"a" * 70000, b"score=5&comment=%ff%fe"]
oddities = st.sampled_from(ODDITIES)


def encoded(pairs: dict) -> str:
    return urlencode(pairs, errors="surrogatepass")  # a lone surrogate goes as its (invalid UTF-8) bytes


forms = st.dictionaries(st.sampled_from(NAMES) | texts, texts, max_size=5).map(lambda d: encoded(d).encode())
bodies = st.one_of(json_bodies, nested, oddities, forms, st.binary(max_size=200))
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
                 "multipart/form-data", "text/plain", "application/json; charset=latin-1", "ünïcode/ωeird"]
queries = st.one_of(st.dictionaries(st.sampled_from(NAMES) | texts, texts, max_size=4).map(encoded),
                    st.sampled_from(["from=%zz&to=%ff", "cursor=%00%01", "days=1&days=2&days=x", "a=" + "b" * 9000,
                                     "limit=99999999999999999999999999999", "%=&&=%", "tab=%E2%80%AE"]))
path_values = st.one_of(texts.map(lambda text: quote(text, safe="", errors="surrogatepass")),
                        st.sampled_from(["%zz", "%", "%c3%28", "%00", "..", "sv_" + "A" * 40, "1"]))
AUTH = st.sampled_from(["none", "key", "session", "signed", "garbage"])
GARBAGE_AUTH = st.sampled_from(["Bearer", "Bearer " + "x" * 9000, "Bearer ключ", "Basic Og==", "bearer  ",
                                "Bearer \x00", "Bearer " + API_KEY + API_KEY])


def routes():
    from app import app

    return [(path, method) for path, methods in app.routes.items() for method in methods]


class Caller:
    """Sends one request to a route, with the credentials asked for: none, the API key, a lead's
    session (and its CSRF token in a form), a helpdesk's signature, or garbage."""

    def __init__(self, api, monkeypatch):
        from chalicelib.leads import add_lead, start_session
        from chalicelib.platform import settings as app_settings

        for product, name in SECRET_SETTINGS.items():
            monkeypatch.setenv(name, SECRETS[product])
        app_settings.reset_settings()
        self.api = api
        self.cookie, self.session = start_session(add_lead("sam@example.com"))
        self.followup_id = open_followup(datetime.now(timezone.utc))

    def send(self, path, method, body, content_type, query="", params=("", "", ""), auth="none", garbage=""):
        from chalicelib.integrations.webhooks import ADAPTERS
        from chalicelib.platform import clock

        headers = {"Content-Type": content_type, "User-Agent": "Mozilla/5.0 " + params[0],
                   "Accept-Language": params[1][:40], "Origin": "null"}
        fields = dict(zip(re.findall(r"{(\w+)}", path), params))
        if auth == "session" and "followup_id" in fields:
            fields["followup_id"] = self.followup_id
        url = re.sub(r"{(\w+)}", lambda m: fields[m.group(1)] or "x", path) + (f"?{query}" if query else "")
        if auth == "key":
            headers["Authorization"] = f"Bearer {API_KEY}"
        elif auth == "session":
            headers["Cookie"] = f"closeloop_session={self.cookie}"
            if content_type.startswith("application/x-www"):
                body = body + b"&csrf=" + self.session.csrf_token.encode()
        elif auth == "signed" and path.startswith("/v1/webhooks/"):
            product = path.rsplit("/", 1)[1]
            headers.update(ADAPTERS[product].signed_headers(SECRETS[product], body, clock.now()))
        elif auth == "garbage":
            headers.update({"Authorization": garbage, "Cookie": "closeloop_session=" + garbage[-50:]})
        response = self.api.http.request(method, url, headers=headers, body=body)
        assert response.status_code < 500, (method, url[:200], auth, body[:200], response.body[:500])
        if path.startswith("/v1/") and response.status_code >= 400:
            assert_says_what_is_wrong(response)
        return response


def test_no_route_answers_5xx_to_generated_requests(api, stack, monkeypatch):
    caller, table, seen = Caller(api, monkeypatch), routes(), set()
    assert len(table) > 40

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def every_route(data):
        for path, method in table:  # each route draws its own request: every kind of input reaches every route
            caller.send(path, method, data.draw(bodies), data.draw(st.sampled_from(CONTENT_TYPES)),
                        data.draw(queries), data.draw(st.lists(path_values, min_size=3, max_size=3)),
                        data.draw(AUTH), data.draw(GARBAGE_AUTH))
            seen.add((path, method))

    every_route()
    assert seen == set(table)


def test_no_route_answers_5xx_to_each_known_oddity(api, stack, monkeypatch):
    """Each of the odd bodies above on every route, under each credential: what a bounded random run
    may not draw."""
    caller = Caller(api, monkeypatch)
    for number, body in enumerate(ODDITIES):
        content_type = "multipart/form-data; boundary=b" if body.startswith(b"--b") else (
            "application/x-www-form-urlencoded" if b"=" in body[:8] else "application/json")
        auth = ("key", "session", "signed", "none")[number % 4]
        for path, method in routes():
            caller.send(path, method, body, content_type, auth=auth)


def assert_says_what_is_wrong(response) -> None:
    body = json.loads(response.body)
    assert body.get("message") or body.get("Message"), body  # chalice's own 401/403/415 say it as "Message"
    for field in body.get("fields", []):
        assert field["field"] and field["message"], body
