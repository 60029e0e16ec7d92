"""The demo data of `python -m devstack --demo`, seeded into a table on DynamoDB Local: the reports
read from its counters equal a count over its surveys, and seeding queues and sends nothing."""
from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.insight import counters as aggregates
from chalicelib.insight import reports
from chalicelib.insight.queries import ReportQuery
from chalicelib.platform import settings as config
from chalicelib.storage import schema
from chalicelib.surveys import scoring
from devstack import demo

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)
ROUTING = '{"default": {"owners": [], "sla_hours": 24}, "teams": {"billing": {"owners": ["sam", "kim"], "sla_hours": 8}}}'


@pytest.fixture(scope="module")
def demo_table(dynamodb_local):
    """One table seeded once for the module (seeding takes ~15 s): (its repositories, what seed returned)."""
    import boto3

    from chalicelib.platform import aws
    from chalicelib.storage.table import Table
    from tests.repos import Repositories

    client = boto3.client("dynamodb", endpoint_url=dynamodb_local.endpoint, region_name="us-east-1")

    def dynamodb_only(service, *args, **kwargs):
        if service != "dynamodb":
            raise AssertionError(f"seeding used {service}: it must queue and send nothing")
        return client

    name = f"closeloop-demo-{uuid.uuid4().hex[:12]}"
    schema.create_table(name, client)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws, "client", dynamodb_only)
        patch.setenv("CLOSELOOP_ROUTING", ROUTING)
        patch.setenv("CLOSELOOP_TABLE_NAME", name)
        config.reset_settings()
        yield Repositories(Table(name, client)), demo.seed(NOW)
    config.reset_settings()
    client.delete_table(TableName=name)


@pytest.fixture
def repos(demo_table):
    return demo_table[0]


@pytest.fixture
def seeded(demo_table):
    return demo_table[1]


def stored_surveys(repos) -> list:
    found, kwargs = [], {"TableName": repos.table.name, "ConsistentRead": True}
    while True:
        page = repos.table.db.scan(**kwargs)
        found += [repos.surveys.get(item["pk"]["S"].removeprefix("SURVEY#"))
                  for item in page["Items"] if item["sk"]["S"] == "SURVEY"]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def expected(surveys, kind: str, group_by: str) -> dict:
    """Group -> (sent, opened, responses, distribution), counted over the surveys themselves."""
    zone = ZoneInfo(config.get_settings().reporting_timezone)
    found: dict[str, list] = defaultdict(lambda: [0, 0, Counter()])
    for survey in surveys:
        if survey.kind.value != kind:
            continue
        day = survey.sent_at.astimezone(zone).date().isoformat()
        key = day if group_by == "day" else aggregates.groups_of(survey)["all" if group_by == "all" else group_by]
        found[key][0] += 1
        # Opened: a page view by a person or an answer (the plan has no answer without one or the other).
        found[key][1] += survey.opened_at is not None
        if survey.score is not None:
            found[key][2][survey.score] += 1
    scale = scoring.scale(kind)
    return {key: (sent, opened, sum(scores.values()), {str(s): scores[s] for s in scale})
            for key, (sent, opened, scores) in found.items()}


def report(repos, kind: str, group_by: str) -> dict:
    query = ReportQuery.model_validate({"survey": kind, "from": (NOW - timedelta(days=95)).date().isoformat(),
                                        "to": NOW.date().isoformat(), "group_by": group_by})
    return {g["key"]: (g["sent"], g["opened"], g["responses"], g["distribution"])
            for g in reports.summary(query, repos.counters)["groups"] if g["sent"]}


def test_the_reports_of_the_demo_data_equal_a_count_over_its_surveys(repos, seeded):
    surveys = stored_surveys(repos)
    assert seeded.surveys == len(surveys) >= 1500
    assert all(s.opened_at is not None for s in surveys if s.score is not None)
    for kind in ("csat", "nps"):
        for group_by in ("all", "day", "agent", "team", "channel"):
            assert report(repos, kind, group_by) == expected(surveys, kind, group_by)
    agents = {key: group for key, group in ((g["key"], g) for g in reports.summary(ReportQuery.model_validate(
        {"survey": "csat", "from": "2026-08-20", "to": "2026-11-24", "group_by": "agent"}), repos.counters)["groups"])}
    assert agents["agt_fay"]["low_sample"] is True and agents["agt_ana"]["low_sample"] is False


def test_the_demo_gives_reasons_and_resolved_answers_that_the_reports_count(repos, seeded):
    surveys = [s for s in stored_surveys(repos) if s.score is not None and s.kind.value == "csat"]
    assert any(s.reasons for s in surveys)
    assert not any(s.reasons for s in surveys if scoring.is_promoter(s.kind, s.score))
    assert {True, False, None} == {s.resolved for s in surveys}
    query = {"survey": "csat", "from": (NOW - timedelta(days=95)).date().isoformat(), "to": NOW.date().isoformat()}
    by_reason = reports.summary(ReportQuery.model_validate({**query, "group_by": "reason"}), repos.counters)
    assert by_reason["responses"] == len(surveys)
    assert {g["key"]: g["responses"] for g in by_reason["groups"] if g["responses"]} == dict(
        Counter(reason for s in surveys for reason in s.reasons))
    (total,) = reports.summary(ReportQuery.model_validate(query), repos.counters)["groups"]
    answered = [s for s in surveys if s.resolved is not None]
    assert (total["fcr"]["answered"], total["fcr"]["resolved"]) == (len(answered), sum(s.resolved for s in answered))


def test_the_opens_are_counted_from_people_only(repos, seeded):
    surveys = stored_surveys(repos)
    scanned = [s for s in surveys if any(o.verdict.value == "automated" for o in repos.surveys.opens(s.survey_id))]
    assert scanned and any(s.opened_at is None for s in scanned)  # a scanner's sweep alone opens nothing


def test_follow_ups_in_every_state_and_comments_that_need_escaping(repos, seeded):
    assert {"open (overdue)", "open", "claimed", "contacted", "resolved"} <= set(seeded.followups)
    comments = {s.comment for s in stored_surveys(repos) if s.comment}
    assert any("<b>" in c for c in comments) and any(c.startswith("=SUM") for c in comments)
    assert any("é" in c or "ê" in c for c in comments)


def test_seeding_twice_writes_nothing_more(repos, seeded):
    assert demo.seed(NOW) is None
