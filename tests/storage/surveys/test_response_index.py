"""SurveyRepository.responses on DynamoDB Local: the sparse responses index is set by the write that records a
response, kept by a change, removed by a withdrawal; reads go newest first across month partitions,
within the range, and a stop after a query budget goes on exactly where it stopped."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from chalicelib.platform import clock
from chalicelib.storage import schema
from chalicelib.surveys.model import Agent, Channel, Customer, Survey, SurveyOpen, SurveyStatus
from chalicelib.surveys.repository import response_keys
from chalicelib.surveys.scoring import SurveyKind

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)


def a_survey(i: int, at: datetime, team: str = "billing") -> Survey:
    return Survey(
        survey_id=f"{i:016x}", interaction_id=f"zd-{i}", kind=SurveyKind.CSAT, channel=Channel.EMAIL,
        status=SurveyStatus.SENT, customer=Customer(id=f"cus_{i}", email="ada@example.com"),
        agent=Agent(id="agt_7"), team=team, base_url="http://x", created_at=at - timedelta(hours=1),
        send_at=at - timedelta(hours=1), sent_at=at - timedelta(hours=1), expires_at=at + timedelta(days=28))


def responded(repos, i: int, at: datetime, score: int = 4, **fields) -> Survey:
    survey = a_survey(i, at, **fields)
    repos.surveys.create(survey)
    repos.record_response(survey, None, score, None, at)
    return repos.surveys.get(survey.survey_id)


def read_all(repos, start, position, **filters):
    return [(s.survey_id if s else None, key) for s, key in repos.responses.newest_first(start, position, **filters)]


def raw(repos, survey_id: str) -> dict:
    return repos.table.db.get_item(TableName=repos.table.name,
                             Key={"pk": {"S": f"SURVEY#{survey_id}"}, "sk": {"S": "SURVEY"}})["Item"]


def test_only_responded_surveys_are_in_the_index_and_a_change_keeps_their_place(repos):
    unanswered = a_survey(1, T0)
    repos.surveys.create(unanswered)
    survey = responded(repos, 2, T0)
    item = raw(repos, survey.survey_id)
    assert item["rs_pk"]["S"] == "RESPONSE#2026-11" and item["rs_sk"]["S"] == f"{clock.iso(T0)}#{survey.survey_id}"
    assert "rs_pk" not in raw(repos, unanswered.survey_id)

    repos.record_response(survey, None, 1, "changed", T0 + timedelta(hours=2))
    assert raw(repos, survey.survey_id)["rs_sk"]["S"] == f"{clock.iso(T0)}#{survey.survey_id}"
    found = list(repos.responses.newest_first(T0 - timedelta(days=1), clock.iso(T0 + timedelta(days=1))))
    assert [(s.survey_id, s.score, s.comment) for s, _ in found] == [(survey.survey_id, 1, "changed")]


def test_a_withdrawn_response_leaves_the_index(repos):
    survey = responded(repos, 3, T0)
    evidence = SurveyOpen(open_id=secrets.token_urlsafe(12), survey_id=survey.survey_id, at=T0, method="GET")
    repos.add_open(evidence)
    repos.withdraw_response(survey, evidence, T0 + timedelta(seconds=30))
    item = raw(repos, survey.survey_id)
    assert "rs_pk" not in item and "rs_sk" not in item
    assert read_all(repos, T0 - timedelta(days=1), clock.iso(T0 + timedelta(days=1))) == []


def test_newest_first_across_months_within_the_range(repos):
    times = [T0 - timedelta(days=20 * i) for i in range(6)]  # 2026-11 back to 2026-07
    made = [responded(repos, 10 + i, at) for i, at in enumerate(times)]
    start, end = times[4], times[1] + timedelta(seconds=1)
    ids = [survey_id for survey_id, _ in read_all(repos, start, clock.iso(end))]
    assert ids == [s.survey_id for s in made[1:5]]  # the start is included, the end excluded
    # Going on from a key: everything after it, newest first.
    key = response_keys(made[2].survey_id, times[2])["rs_sk"]
    assert [i for i, _ in read_all(repos, start, key)] == [s.survey_id for s in made[3:5]]
    # Going on from the first moment of a month: the months before it.
    assert [i for i, _ in read_all(repos, start, "2026-10-01T00:00:00.000Z")] == [s.survey_id for s in made[3:5]]


def test_a_stop_after_the_query_budget_goes_on_where_it_stopped(repos):
    made = [responded(repos, 20 + i, T0 - timedelta(days=9 * i), team="tech" if i % 4 == 0 else "billing")
            for i in range(12)]
    start, position = T0 - timedelta(days=120), clock.iso(T0 + timedelta(seconds=1))
    seen, stops = [], 0
    for _ in range(100):
        stopped = None
        for survey, key in repos.responses.newest_first(start, position, team="billing", batch=2, max_queries=2):
            if survey is None:
                stopped = key
            else:
                seen.append(survey.survey_id)
        if stopped is None:
            break
        stops += 1
        position = stopped
    assert stops > 3
    assert seen == [s.survey_id for i, s in enumerate(made) if i % 4 != 0]


def test_filters_on_kind_channel_agent_score_and_comment(repos):
    survey = responded(repos, 40, T0, score=2)
    repos.record_response(survey, None, 2, "slow", T0 + timedelta(minutes=1))
    responded(repos, 41, T0 - timedelta(hours=1), score=5)
    window = (T0 - timedelta(days=1), clock.iso(T0 + timedelta(days=1)))
    assert [i for i, _ in read_all(repos, *window, has_comment=True)] == [survey.survey_id]
    assert [i for i, _ in read_all(repos, *window, min_score=3)] == [f"{41:016x}"]
    assert len(read_all(repos, *window, kind="csat", channel="email", agent="agt_7", max_score=5)) == 2
    assert read_all(repos, *window, kind="nps") == [] and read_all(repos, *window, agent="agt_9") == []


def test_create_table_adds_the_index_to_a_table_made_before_it(dynamodb_local):
    import uuid

    import boto3

    from chalicelib.storage.table import Table
    from tests.repos import Repositories

    client = boto3.client("dynamodb", endpoint_url=dynamodb_local.endpoint, region_name="us-east-1")
    name = f"closeloop-old-{uuid.uuid4().hex[:12]}"
    old = {**schema.TABLE_DEFINITION,
           "AttributeDefinitions": [a for a in schema.TABLE_DEFINITION["AttributeDefinitions"]
                                    if not a["AttributeName"].startswith("rs_")],
           "GlobalSecondaryIndexes": [i for i in schema.TABLE_DEFINITION["GlobalSecondaryIndexes"]
                                      if i["IndexName"] != schema.RESPONSES_INDEX]}
    client.create_table(TableName=name, **old)
    try:
        schema.create_table(name, client)
        indexes = client.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
        assert schema.RESPONSES_INDEX in {i["IndexName"] for i in indexes}
        assert schema.add_missing_indexes(name, client) == []
        repos = Repositories(Table(name, client))
        survey = responded(repos, 50, T0)
        found = repos.responses.newest_first(T0, clock.iso(T0 + timedelta(days=1)))
        assert [s.survey_id for s, _ in found] == [survey.survey_id]
    finally:
        client.delete_table(TableName=name)


def test_the_backfill_lists_responses_recorded_before_the_index(repos):
    from chalicelib.surveys.backfills import backfill_response_keys

    survey = responded(repos, 60, T0)
    unanswered = a_survey(61, T0)
    repos.surveys.create(unanswered)
    repos.table.db.update_item(TableName=repos.table.name, Key={"pk": {"S": f"SURVEY#{survey.survey_id}"},
                                                          "sk": {"S": "SURVEY"}},
                         UpdateExpression="REMOVE rs_pk, rs_sk")  # as written before the index existed
    window = (T0 - timedelta(days=1), clock.iso(T0 + timedelta(days=1)))
    assert read_all(repos, *window) == []
    assert backfill_response_keys(repos.table) == 1
    assert [i for i, _ in read_all(repos, *window)] == [survey.survey_id]
    assert backfill_response_keys(repos.table) == 0
    assert "rs_pk" not in raw(repos, unanswered.survey_id)
