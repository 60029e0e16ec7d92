"""The weekly digest (issue 13 item 4): due at the lead's weekday and hour in their time zone and
not otherwise, once per lead and week whatever the redelivery or the schedule runs, none when
switched off; its figures are the report API's, "not a significant change" when the intervals
overlap, customer text escaped; the ops commands. Issue 14: the week's FCR and its top reasons and
themes against the week before, from one read of each counter dimension."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.functional.followups.test_detractor_alerts import respond
from tests.functional.helpers import deliver, send_email_survey, take_jobs
from tests.storage.insight.test_report_counters import scheduled, send

LEAD = "kim@example.com"
# Wednesday 2 December 2026, 08:00 UTC: 09:00 in Paris (UTC+1 in winter).
WED_9_PARIS = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def lead(api):
    from chalicelib.leads import allowed_list, digests

    allowed_list.add_lead(LEAD, name="Kim Lee", owner="kim")
    return digests.set_digest(LEAD, weekday="wed", hour=9, timezone="Europe/Paris")


@pytest.fixture(autouse=True)
def fresh_container(monkeypatch):
    from chalicelib.insight import digest

    monkeypatch.setattr(digest, "_queued_window", None)


def digest_jobs(stack) -> list:
    return [job for job in take_jobs(stack) if getattr(job, "kind", None) == "send_digest"]


def digests_to(stack, to=LEAD) -> list:
    return [sent for sent in stack.emails() if set(sent.to) == {to} and "digest" in sent.subject]


def the_digest_sent(stack) -> tuple[str, str]:
    """Queue Wednesday 9:00's digests (one is due), deliver it: its text and HTML parts."""
    assert queue(WED_9_PARIS) == 1
    deliver(*digest_jobs(stack))
    (sent,) = digests_to(stack)
    return sent.part("plain"), sent.part("html")


def queue(at: datetime):
    from chalicelib.insight import digest

    digest._queued_window = None  # another hour, or another container
    return digest.queue_due_digests(at)


def test_a_new_lead_has_the_default_schedule_without_migration(api):
    from chalicelib.leads import allowed_list, lead_key
    from chalicelib.storage.table import Table

    allowed_list.add_lead("old@example.com")
    # As stored before the digest existed:
    Table().update(lead_key("old@example.com"), "REMOVE digest_enabled, digest_weekday, digest_hour, digest_timezone")
    lead = allowed_list.get_lead("old@example.com")
    assert (lead.digest_enabled, lead.digest_weekday, lead.digest_hour, lead.digest_timezone) == (True, "mon", 8, None)


def test_due_at_the_leads_weekday_and_hour_in_their_zone_and_not_otherwise(api, stack, lead, clock):
    for not_due in (WED_9_PARIS - timedelta(hours=1), WED_9_PARIS + timedelta(hours=1),
                    WED_9_PARIS - timedelta(days=1), WED_9_PARIS + timedelta(days=7, hours=-9)):
        assert queue(not_due) == 0, not_due
    assert digest_jobs(stack) == []
    assert queue(WED_9_PARIS + timedelta(minutes=59)) == 1
    (job,) = digest_jobs(stack)
    assert (job.email, job.week) == (LEAD, "2026-W49")


def test_once_per_week_under_redelivery_and_two_runs_in_the_same_hour(api, stack, lead, clock):
    from chalicelib.insight import digest

    clock.set(WED_9_PARIS)
    assert queue(WED_9_PARIS) == 1
    assert digest.queue_due_digests(WED_9_PARIS + timedelta(minutes=1)) is None  # same container, same hour
    assert queue(WED_9_PARIS + timedelta(minutes=2)) == 1  # another container in the same hour
    jobs = digest_jobs(stack)
    assert len(jobs) == 2
    for job in jobs + jobs:  # and SQS delivers each at least once
        deliver(job)
    assert len(digests_to(stack)) == 1
    # Next week is another week.
    clock.set(WED_9_PARIS + timedelta(days=7))
    assert queue(WED_9_PARIS + timedelta(days=7)) == 1
    (job,) = digest_jobs(stack)
    assert job.week == "2026-W50"
    deliver(job)
    assert len(digests_to(stack)) == 2


def test_switched_off_none_is_queued_or_sent(api, stack, lead, clock):
    from chalicelib.insight import SendDigest
    from chalicelib.leads import digests

    clock.set(WED_9_PARIS)
    digests.set_digest(LEAD, enabled=False)
    assert queue(WED_9_PARIS) == 0
    deliver(SendDigest(email=LEAD, week="2026-W49"))  # queued before it was switched off
    assert digests_to(stack) == []


def report(api, kind, first, last) -> dict:
    response = api.http.get(f"/v1/reports/summary?survey={kind}&from={first}&to={last}", headers=api.headers)
    (group,) = json.loads(response.body)["groups"]
    return group


def test_the_digest_holds_the_report_apis_figures_and_escapes_comments(api, stack, lead, clock):
    from chalicelib.insight import digest

    # The week before: a 4; this week: a 5 with a comment, a 1 with a comment, one not answered.
    clock.set(WED_9_PARIS - timedelta(days=10))
    _, links = send_email_survey(api, stack, interaction_id="zd-1", customer={"id": "c1", "email": "c1@example.com"})
    respond(api, clock, links[4])
    clock.set(WED_9_PARIS - timedelta(days=3))
    for n, score, comment in ((2, 5, f"Lovely help {SCRIPT} from Ada"), (3, 1, "Nobody read it"), (4, None, None)):
        _, links = send_email_survey(api, stack, interaction_id=f"zd-{n}",
                                     customer={"id": f"c{n}", "email": f"c{n}@example.com"})
        if score:
            respond(api, clock, links[score], comment=comment)
    stack.run_jobs()
    clock.set(WED_9_PARIS)

    values = digest.digest_values(WED_9_PARIS)
    assert (values["first"], values["last"]) == ("2026-11-25", "2026-12-01")
    csat = next(s for s in values["scores"] if s["kind"] == "CSAT")
    this_week = report(api, "csat", "2026-11-25", "2026-12-01")
    before = report(api, "csat", "2026-11-18", "2026-11-24")
    assert (csat["score"], csat["ci95"], csat["response_rate"]) == (
        this_week["csat"], this_week["ci95"], this_week["response_rate"])
    assert (csat["previous"], csat["change"]) == (before["csat"], round(this_week["csat"] - before["csat"], 1))
    assert csat["significant"] is False  # a handful of responses: the intervals overlap
    assert values["followups"]["total"] == 1
    assert [c["comment"] for c in values["promoters"]] == [f"Lovely help {SCRIPT} from Ada"]
    assert [c["comment"] for c in values["detractors"]] == ["Nobody read it"]

    text, html = the_digest_sent(stack)
    for part in (text, html):
        assert "not a significant change" in part and "Follow-ups opened" in part
        assert "intervals overlap" in part  # the footnote states the rule
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"Lovely help {SCRIPT} from Ada" in text
    assert "<style" not in html and "display:flex" not in html and "display:grid" not in html


def why_answer(repos, kind, score, resolved, reasons, at, comment=None) -> None:
    """A survey sent at `at` and answered a minute later, through the product's counted write."""
    survey = send(repos, scheduled(kind=kind, at=at), at)
    repos.record_response(survey, None, score, comment, at + timedelta(minutes=1), resolved, reasons)


def digest_section(html: str, heading: str) -> str:
    start = html.index(heading)
    return html[start:html.index("</table>", start)]


@pytest.fixture
def why_week(repos):
    """The week before: four resolved CSAT 5s without reasons; this week: four unresolved CSAT 1s with
    reasons (one a key the stage no longer offers) and comments, and an NPS 9 not asked "resolved?"."""
    from chalicelib.surveys import SurveyKind

    before, during = WED_9_PARIS - timedelta(days=12), WED_9_PARIS - timedelta(days=5)
    for _ in range(4):
        why_answer(repos, SurveyKind.CSAT, 5, True, [], before)
    for reasons, comment in ((["waited", "not_solved"], "I waited a week for my refund"),
                             (["waited", "not_solved"], "Still waiting, nobody answers"),
                             (["waited", "repeated"], "I had to explain it three times"),
                             (["attitude", "<b>legacy</b>"], "The agent was rude")):
        why_answer(repos, SurveyKind.CSAT, 1, False, reasons, during, comment)
    why_answer(repos, SurveyKind.NPS, 9, None, [], during)


def test_the_digest_gives_the_weeks_fcr_and_top_reasons_and_themes_against_the_week_before(
        api, stack, lead, clock, why_week):
    from chalicelib.insight import digest

    clock.set(WED_9_PARIS)
    values = digest.digest_values(WED_9_PARIS)
    why = {block["kind"]: block for block in values["why"]}
    csat, nps = why["CSAT"], why["NPS"]
    # FCR 0 of 4 against 4 of 4: the intervals [0, 49%] and [51%, 100%] do not overlap.
    week_fcr = report(api, "csat", "2026-11-25", "2026-12-01")["fcr"]
    assert {k: csat["fcr"][k] for k in week_fcr} == week_fcr and week_fcr["answered"] == 4
    assert (csat["fcr"]["change"], csat["fcr"]["significant"]) == (-100.0, True)
    assert nps["fcr"] is None  # nobody answered "resolved?" with an NPS this week
    # The top three reasons: the most given first, then by key ("<b>legacy</b>" sorts before "attitude").
    assert [(r["label"], r["responses"], r["share"]) for r in csat["reason"]] == [
        ("Waited too long", 3, 0.75), ("Problem not solved", 2, 0.5), ("<b>legacy</b>", 1, 0.25)]
    waited = csat["reason"][0]
    assert (waited["change"], waited["significant"]) == (75.0, False)  # 3 of 4 against 0 of 4 overlap
    themes = api.http.get("/v1/reports/summary?survey=csat&from=2026-11-25&to=2026-12-01&group_by=theme",
                          headers=api.headers)
    top = sorted((g for g in json.loads(themes.body)["groups"] if g["responses"]),
                 key=lambda g: (-g["responses"], g["key"]))[:digest.TOP_WHY]
    assert top and [(t["label"], t["share"]) for t in csat["theme"]] == [(g["label"], g["share"]) for g in top]
    assert (nps["reason"], nps["theme"]) == ([], [])

    text, html = the_digest_sent(stack)
    for part in (text, html):
        assert "Resolved at first contact" in part and "0 of 4 who answered" in part
        assert "-100.0 points" in part and "+75.0 points" in part and "Top comment themes" in part
    lines = text.splitlines()  # each figure on its own line (Jinja's trim_blocks once joined them)
    for start in ("CSAT: ", "  change -100.0 against 100.0", "  response rate: 100.0% (4 of 4)", "NPS: ",
                  "Why, CSAT:", "  Resolved at first contact: 0.0%", "  - Waited too long: 75.0%",
                  "Follow-ups opened: "):
        assert any(line.startswith(start) for line in lines), start
    why_csat, why_nps = digest_section(html, "Why, CSAT"), digest_section(html, "Why, NPS")
    fcr_row = why_csat[why_csat.index("Resolved at first contact"):]
    fcr_row = fcr_row[:fcr_row.index("</tr>")]
    assert "0.0% (0.0% to 49.0%)" in fcr_row and "a significant change" in fcr_row and "not a" not in fcr_row
    waited_row = why_csat[why_csat.index("Waited too long"):]
    assert "75.0% (30.1% to 95.4%)" in waited_row[:waited_row.index("</tr>")]
    assert "not a significant change" in waited_row[:waited_row.index("</tr>")]
    assert "Resolved at first contact" not in why_nps and "No reasons given this week." in why_nps
    assert "&lt;b&gt;legacy&lt;/b&gt;" in html and "<b>legacy" not in html  # a stored key, escaped
    assert "<style" not in html and "display:flex" not in html and "display:grid" not in html


def test_the_digest_reads_each_counter_dimension_once_for_both_weeks(api, lead, clock, why_week, monkeypatch):
    from chalicelib.insight import digest
    from chalicelib.insight.counters import ReportCounters

    reads, read = [], ReportCounters.read

    def counted(self, kind, dimension, first_day, last_day):
        reads.append((kind, dimension, first_day.isoformat(), last_day.isoformat()))
        return read(self, kind, dimension, first_day, last_day)

    monkeypatch.setattr(ReportCounters, "read", counted)
    clock.set(WED_9_PARIS)
    digest.digest_values(WED_9_PARIS)
    assert sorted(reads) == sorted((kind, dimension, "2026-11-18", "2026-12-01")
                                   for kind in ("nps", "csat") for dimension in ("all", "reason", "theme"))


def test_the_ops_commands_switch_it_and_send_one_now(api, stack, lead, clock, monkeypatch, capsys):
    import ops.__main__ as ops
    from chalicelib.leads import allowed_list

    monkeypatch.setattr(ops, "_use_stage", lambda stage: None)  # the test's table, not a stage's
    clock.set(WED_9_PARIS)
    assert ops.main(["leads", "digest", LEAD, "--off", "--weekday", "fri", "--hour", "7",
                     "--timezone", "America/New_York"]) == 0
    lead = allowed_list.get_lead(LEAD)
    assert (lead.digest_enabled, lead.digest_weekday, lead.digest_hour, lead.digest_timezone) == (
        False, "fri", 7, "America/New_York")
    with pytest.raises(SystemExit, match="timezone"):
        ops.main(["leads", "digest", LEAD, "--timezone", "Mars/Olympus"])
    with pytest.raises(SystemExit, match="hour"):
        ops.main(["leads", "digest", LEAD, "--hour", "24"])
    with pytest.raises(SystemExit, match="not on the list"):
        ops.main(["leads", "digest", "nobody@example.com", "--on"])
    assert ops.main(["leads", "digest", LEAD, "--on"]) == 0
    assert allowed_list.get_lead(LEAD).digest_enabled is True

    capsys.readouterr()
    assert ops.main(["digest", "--lead", LEAD, "--now"]) == 0
    assert ops.main(["digest", "--lead", LEAD, "--now"]) == 0  # no once-a-week step: one each time
    assert len(digests_to(stack)) == 2
    out = capsys.readouterr().out
    assert f"sent to {LEAD}" in out and "Follow-ups opened" in out
