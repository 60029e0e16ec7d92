"""The survey loop through chalice's test client: interaction in, email out, response, alert."""
from __future__ import annotations

import json
import re

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"


def interaction(**overrides) -> dict:
    body = {
        "interaction_id": "zd-48213", "survey": "csat", "channel": "email",
        "customer": {"id": "cus_19", "email": "ada@example.com", "phone": "+14155550123", "name": "Ada Lovelace",
                     "locale": "en", "timezone": "America/New_York"},
        "agent": {"id": "agt_7", "name": "Sam"}, "team": "billing", "properties": {"plan": "pro"},
        "occurred_at": "2026-11-24T10:00:00Z",
    }
    body.update(overrides)
    return body


def post(api, body):
    return api.http.post("/v1/interactions", headers=api.headers, body=json.dumps(body))


def score_links(text: str) -> dict[int, str]:
    """Score -> link, from the text part's 'N - label: URL' lines."""
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^(\d+) - [^:]+: (\S+)$", text, re.M)}


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def survey(api, survey_id):
    return json.loads(api.http.get(f"/v1/surveys/{survey_id}", headers=api.headers).body)


def open_id_in(html: str) -> str:
    return re.search(r'name="open_id" value="([^"]+)"', html).group(1)


def test_email_survey_is_sent_once_with_a_link_per_score(api, stack):
    response = post(api, interaction())
    assert response.status_code == 202
    body = json.loads(response.body)
    assert body["status"] == "scheduled" and re.fullmatch(r"[0-9a-f]{16}", body["survey_id"])

    again = post(api, interaction())
    assert again.status_code == 200 and json.loads(again.body)["survey_id"] == body["survey_id"]

    stack.run_jobs()
    emails = stack.emails()
    assert len(emails) == 1
    sent = emails[0]
    assert "ada@example.com" in sent.to and sent.message["To"] == "Ada Lovelace <ada@example.com>"
    assert "Ada" in sent.subject and "closeloop" in sent.subject
    text, html = sent.part("plain"), sent.part("html")
    links = score_links(text)
    assert sorted(links) == [1, 2, 3, 4, 5]
    assert len({path_of(u).rsplit("/", 1)[0] for u in links.values()}) == 1  # one token for all links
    for score, url in links.items():
        assert f'href="{url}"' in html
    assert "Sam" in text and "Sam" in html
    assert survey(api, body["survey_id"])["status"] == "sent"


def test_a_person_who_stays_on_the_page_is_counted_and_a_detractor_alerted_once(api, stack):
    survey_id = json.loads(post(api, interaction()).body)["survey_id"]
    stack.run_jobs()
    link = path_of(score_links(stack.emails()[0].part("plain"))[2])

    page = api.http.get(link, headers={"User-Agent": BROWSER})
    assert page.status_code == 200
    assert survey(api, survey_id)["score"] is None  # a GET alone never counts

    confirmed = api.http.post(link, headers={"User-Agent": BROWSER, "Content-Type": "application/json"},
                              body=json.dumps({"open_id": open_id_in(page.body.decode())}))
    assert json.loads(confirmed.body) == {"recorded": True, "score": 2}
    state = survey(api, survey_id)
    assert state["score"] == 2 and state["status"] == "responded"

    stack.run_jobs()
    stack.run_jobs()
    alerts = stack.alerts()
    assert len(alerts) == 1
    assert "zd-48213" in alerts[0]["message"] and "Sam" in alerts[0]["message"] and "billing" in alerts[0]["message"]
