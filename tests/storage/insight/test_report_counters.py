"""Report counters on DynamoDB Local: they move in the very writes that send, record, change and
withdraw (so they always agree with the surveys), and a report's reads do not grow with responses."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.insight import compaction
from chalicelib.insight import counters as aggregates
from chalicelib.insight import reports
from chalicelib.insight.queries import ReportQuery
from chalicelib.platform import settings as config
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import tokens
from chalicelib.surveys.model import Agent, Channel, Customer, OpenVerdict, Survey, SurveyOpen, SurveyStatus
from chalicelib.surveys.scoring import SurveyKind

T0 = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)
ZONE = "Asia/Kolkata"  # UTC+5:30: send times near midnight UTC fall on the next day there
_numbers = count()


@pytest.fixture
def reporting_zone(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_REPORTING_TIMEZONE", ZONE)
    config.reset_settings()
    yield
    config.reset_settings()


def scheduled(kind=SurveyKind.CSAT, agent="agt_7", team="billing", channel=Channel.EMAIL, followup_id=None,
              at=T0) -> Survey:
    return Survey(survey_id=tokens.new_survey_id(), interaction_id=f"zd-{next(_numbers)}", kind=kind,
                  channel=channel, status=SurveyStatus.SCHEDULED,
                  customer=Customer(id="cus_1", email="ada@example.com", phone="+14155550123"),
                  agent=Agent(id=agent) if agent else None, team=team, base_url="http://127.0.0.1:8000",
                  created_at=at, send_at=at, expires_at=at + timedelta(days=400), followup_id=followup_id)


def send(repos, survey: Survey, at: datetime) -> Survey:
    repos.surveys.create(survey)
    repos.mark_sent(survey.survey_id, at, "msg-1", survey=survey)
    return repos.surveys.get(survey.survey_id)


def respond(repos, survey_id: str, score: int, at: datetime) -> None:
    repos.record_response(repos.surveys.get(survey_id), None, score, None, at)


def withdraw(repos, survey_id: str, at: datetime) -> None:
    survey = repos.surveys.get(survey_id)
    evidence = SurveyOpen(open_id=f"open-{next(_numbers)}", survey_id=survey_id, at=at, method="POST",
                          score=survey.score, verdict=OpenVerdict.AUTOMATED, reason="sweep")
    repos.add_open(evidence)
    repos.withdraw_response(survey, evidence, at)


def view(repos, survey_id: str, at: datetime, user_agent: str = "Mozilla/5.0", automated: bool = False) -> None:
    """A page view, as surveys.view_page keeps it: counted as an open unless judged automated."""
    survey_open = SurveyOpen(open_id=f"open-{next(_numbers)}", survey_id=survey_id, at=at, method="GET",
                             user_agent=user_agent, verdict=OpenVerdict.AUTOMATED if automated else OpenVerdict.PENDING)
    repos.add_open(survey_open, survey=repos.surveys.get(survey_id))


def opened(repos, kind: str, group_by: str, first: date, last: date) -> dict:
    """Group -> (opened, open rate) of a report, groups with anything in them."""
    query = ReportQuery.model_validate({"survey": kind, "from": first.isoformat(), "to": last.isoformat(),
                                        "group_by": group_by})
    return {g["key"]: (g["opened"], g["open_rate"]) for g in reports.summary(query, repos.counters)["groups"]
            if g["sent"] or g["responses"]}


def report(repos, kind: str, group_by: str, first: date, last: date) -> dict:
    query = ReportQuery.model_validate({"survey": kind, "from": first.isoformat(), "to": last.isoformat(),
                                        "group_by": group_by})
    return {g["key"]: (g["sent"], g["responses"], g["distribution"]) for g in reports.summary(query, repos.counters)["groups"]
            if g["sent"] or g["responses"]}


# --- the counters move with the writes ---------------------------------------------------------

def test_a_send_a_response_a_change_and_a_withdrawal(repos, reporting_zone):
    survey = send(repos, scheduled(), T0)
    day = T0.date()
    assert report(repos, "csat", "all", day, day) == {"all": (1, 0, {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0})}
    respond(repos, survey.survey_id, 2, T0 + timedelta(minutes=1))
    respond(repos, survey.survey_id, 5, T0 + timedelta(minutes=2))
    assert report(repos, "csat", "agent", day, day) == {"agt_7": (1, 1, {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1})}
    withdraw(repos, survey.survey_id, T0 + timedelta(minutes=3))
    assert report(repos, "csat", "team", day, day) == {"billing": (1, 0, {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0})}


def test_a_refused_write_moves_no_count(repos, reporting_zone):
    survey = send(repos, scheduled(), T0)
    respond(repos, survey.survey_id, 4, T0 + timedelta(minutes=1))
    with pytest.raises(ConditionFailed):  # a stale read: the response changed meanwhile
        repos.record_response(survey, None, 1, None, T0 + timedelta(minutes=2))
    with pytest.raises(ConditionFailed):  # a second mark of the same send
        repos.mark_sent(survey.survey_id, T0, "msg-2", survey=survey)
    assert report(repos, "csat", "all", T0.date(), T0.date()) == {
        "all": (1, 1, {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0})}


def test_re_surveys_count_nothing(repos, reporting_zone):
    survey = send(repos, scheduled(followup_id="fu_x"), T0)
    respond(repos, survey.survey_id, 5, T0 + timedelta(minutes=1))
    assert report(repos, "csat", "all", T0.date(), T0.date()) == {}


def test_the_first_view_by_a_person_counts_one_open(repos, reporting_zone):
    survey = send(repos, scheduled(), T0)
    day = T0.date()
    view(repos, survey.survey_id, T0 + timedelta(seconds=5), "Mimecast/1.0", automated=True)
    assert opened(repos, "csat", "all", day, day) == {"all": (0, 0.0)}
    view(repos, survey.survey_id, T0 + timedelta(minutes=1))
    view(repos, survey.survey_id, T0 + timedelta(minutes=2))
    respond(repos, survey.survey_id, 5, T0 + timedelta(minutes=3))
    assert opened(repos, "csat", "agent", day, day) == {"agt_7": (1, 1.0)}
    assert repos.surveys.get(survey.survey_id).opened_at == T0 + timedelta(minutes=1)
    assert len(repos.surveys.opens(survey.survey_id)) == 3  # every view is kept as evidence


def test_a_response_without_a_counted_open_counts_as_opened(repos, reporting_zone):
    survey = send(repos, scheduled(channel=Channel.SMS), T0)
    respond(repos, survey.survey_id, 2, T0 + timedelta(minutes=1))  # e.g. a texted reply
    respond(repos, survey.survey_id, 4, T0 + timedelta(minutes=2))
    withdraw(repos, survey.survey_id, T0 + timedelta(minutes=3))  # the open stays counted
    view(repos, survey.survey_id, T0 + timedelta(minutes=4))
    assert opened(repos, "csat", "channel", T0.date(), T0.date()) == {"sms": (1, 1.0)}


def test_views_at_the_same_moment_count_one_open(repos, reporting_zone):
    from concurrent.futures import ThreadPoolExecutor

    survey = send(repos, scheduled(), T0)
    read = repos.surveys.get(survey.survey_id)  # every view read the survey before any counted

    def one_view(n: int) -> None:
        repos.add_open(SurveyOpen(open_id=f"race-{n}", survey_id=survey.survey_id,
                                  at=T0 + timedelta(seconds=n), method="GET", user_agent="Mozilla/5.0"), survey=read)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one_view, range(16)))
    with pytest.raises(ConditionFailed):  # a response read before the open was counted: read again
        repos.record_response(read, None, 5, None, T0 + timedelta(minutes=1))
    respond(repos, survey.survey_id, 5, T0 + timedelta(minutes=1))
    assert opened(repos, "csat", "all", T0.date(), T0.date()) == {"all": (1, 1.0)}
    assert len(repos.surveys.opens(survey.survey_id)) == 16


def test_re_surveys_count_no_open(repos, reporting_zone):
    survey = send(repos, scheduled(followup_id="fu_x"), T0)
    view(repos, survey.survey_id, T0 + timedelta(minutes=1))
    assert opened(repos, "csat", "all", T0.date(), T0.date()) == {}
    assert repos.surveys.get(survey.survey_id).opened_at is None


def test_a_first_view_is_one_transaction_and_later_views_one_put(repos, reporting_zone):
    calls: list[str] = []

    def record(event_name, **_):
        calls.append(event_name.rsplit(".", 1)[-1])

    survey = send(repos, scheduled(), T0)
    first_read = repos.surveys.get(survey.survey_id)
    repos.table.db.meta.events.register("before-call.dynamodb", record)
    try:
        repos.add_open(SurveyOpen(open_id="o-1", survey_id=survey.survey_id, at=T0, method="GET"), survey=first_read)
        second_read = repos.surveys.get(survey.survey_id)
        repos.add_open(SurveyOpen(open_id="o-2", survey_id=survey.survey_id, at=T0, method="GET"), survey=second_read)
    finally:
        repos.table.db.meta.events.unregister("before-call.dynamodb", record)
    assert calls == ["TransactWriteItems", "GetItem", "PutItem"]  # the GetItem is this test's read


def test_sends_and_responses_cost_no_extra_request(repos, reporting_zone):
    calls: list[str] = []

    def record(event_name, **_):
        calls.append(event_name.rsplit(".", 1)[-1])

    survey = scheduled()
    repos.surveys.create(survey)
    repos.table.db.meta.events.register("before-call.dynamodb", record)
    try:
        repos.mark_sent(survey.survey_id, T0, "msg-1", survey=survey)
        respond(repos, survey.survey_id, 3, T0 + timedelta(minutes=1))
    finally:
        repos.table.db.meta.events.unregister("before-call.dynamodb", record)
    assert calls == ["TransactWriteItems", "GetItem", "TransactWriteItems"]  # the GetItem is this test's read
    assert opened(repos, "csat", "all", T0.date(), T0.date()) == {"all": (1, 1.0)}  # counted by that write


# --- an independent count over the stored surveys ----------------------------------------------

def expected_report(repos, kind: str, group_by: str, first: date, last: date) -> dict:
    """The report computed from every stored survey, the slow way (a Scan)."""
    found: dict[str, list] = defaultdict(lambda: [0, Counter()])
    for key, survey in _report_keys(repos, kind, group_by, first, last):
        found[key][0] += 1
        if survey.score is not None:
            found[key][1][survey.score] += 1
    scale = range(1, 6) if kind == "csat" else range(11)
    return {key: (sent, sum(scores.values()), {str(s): scores[s] for s in scale})
            for key, (sent, scores) in found.items() if sent or scores}


def expected_opened(repos, kind: str, group_by: str, first: date, last: date, opened_ids: set[str]) -> dict:
    """Group -> (opened, open rate) from the stored surveys and the test's own record of which
    surveys a person viewed or answered (`opened_ids`), not from `opened_at`."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, survey in _report_keys(repos, kind, group_by, first, last):
        found[key][0] += 1
        found[key][1] += survey.survey_id in opened_ids
    return {key: (n_opened, round(n_opened / sent, 4)) for key, (sent, n_opened) in found.items()}


def _report_keys(repos, kind: str, group_by: str, first: date, last: date):
    """(group key, survey) of every stored survey a report of `kind` over first..last counts."""
    for survey in _stored_surveys(repos):
        if survey.kind.value != kind or survey.followup_id is not None or survey.sent_at is None:
            continue
        day = survey.sent_at.astimezone(ZoneInfo(ZONE)).date()
        if first <= day <= last:
            yield (day.isoformat() if group_by == "day"
                   else aggregates.groups_of(survey)["all" if group_by == "all" else group_by]), survey


def _stored_surveys(repos):
    kwargs = {"TableName": repos.table.name, "ConsistentRead": True}
    while True:
        page = repos.table.db.scan(**kwargs)
        for item in page["Items"]:
            if item["sk"]["S"] == "SURVEY":
                yield repos.surveys.get(item["pk"]["S"].removeprefix("SURVEY#"))
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def empty(repos) -> None:
    kwargs = {"TableName": repos.table.name, "ConsistentRead": True, "ProjectionExpression": "pk, sk"}
    while True:
        page = repos.table.db.scan(**kwargs)
        for item in page["Items"]:
            repos.table.db.delete_item(TableName=repos.table.name, Key=item)
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


surveys_strategy = st.lists(st.tuples(
    st.sampled_from([SurveyKind.CSAT, SurveyKind.NPS]), st.sampled_from(["agt_1", "agt_2", None]),
    st.sampled_from(["billing", "tech", None]), st.sampled_from([Channel.EMAIL, Channel.SMS]),
    st.integers(min_value=0, max_value=3 * 24 * 60 - 1),  # the send time, in minutes over three days
    st.booleans(),  # a re-survey
), min_size=1, max_size=6)
actions_strategy = st.lists(st.tuples(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=10),
                                      st.sampled_from(["respond", "respond", "withdraw", "view", "scan", "compact"])),
                            max_size=15)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(made=surveys_strategy, actions=actions_strategy)
def test_reports_match_the_stored_surveys(repos, reporting_zone, made, actions):
    empty(repos)  # each example starts from an empty table (the fixture's table outlives examples)
    start = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
    sent = []
    for kind, agent, team, channel, minute, resurvey in made:
        at = start + timedelta(minutes=minute)
        sent.append(send(repos, scheduled(kind=kind, agent=agent, team=team, channel=channel,
                                          followup_id="fu_x" if resurvey else None, at=at), at))
    opened_ids: set[str] = set()  # surveys a person viewed or answered (opened, whatever came after)
    for n, (index, score, action) in enumerate(actions):
        survey = sent[index % len(sent)]
        at = start + timedelta(days=4, seconds=n)
        if action == "compact":  # the days before the n-th of the three fold; later changes still count
            compaction.compact(table=repos.table, before=start.date() + timedelta(days=index % 4))
        elif action == "withdraw":
            if repos.surveys.get(survey.survey_id).score is not None:
                withdraw(repos, survey.survey_id, at)
        elif action in ("view", "scan"):
            view(repos, survey.survey_id, at, automated=action == "scan")
            opened_ids |= {survey.survey_id} if action == "view" else set()
        else:
            respond(repos, survey.survey_id, score % 5 + 1 if survey.kind is SurveyKind.CSAT else score, at)
            opened_ids.add(survey.survey_id)
    first, last = date(2026, 11, 22), date(2026, 11, 27)
    for kind in ("csat", "nps"):
        for group_by in ("all", "day", "agent", "team", "channel"):
            assert report(repos, kind, group_by, first, last) == expected_report(repos, kind, group_by, first, last)
            found = opened(repos, kind, group_by, first, last)
            assert found == expected_opened(repos, kind, group_by, first, last, opened_ids)
            assert all(found[key][0] >= responses for key, (_, responses, _) in
                       report(repos, kind, group_by, first, last).items())


# --- what a report reads -----------------------------------------------------------------------

def reads_of_a_report(repos, group_by: str, first: date, last: date) -> tuple[list[str], int]:
    """The DynamoDB requests of one report, and how many items they returned."""
    calls, items = [], []

    def before(event_name, **_):
        calls.append(event_name.rsplit(".", 1)[-1])

    def after(parsed, **_):
        items.append(parsed.get("Count", 0))

    repos.table.db.meta.events.register("before-call.dynamodb", before)
    repos.table.db.meta.events.register("after-call.dynamodb.Query", after)
    try:
        report(repos, "csat", group_by, first, last)
    finally:
        repos.table.db.meta.events.unregister("before-call.dynamodb", before)
        repos.table.db.meta.events.unregister("after-call.dynamodb.Query", after)
    return calls, sum(items)


def test_a_reports_reads_grow_with_days_and_groups_not_with_responses(repos, reporting_zone):
    agents, reasons = ["agt_1", "agt_2", "agt_3"], [["waited"], ["waited", "attitude"], []]
    day = T0.date()
    for n in range(12):
        survey = send(repos, scheduled(agent=agents[n % 3]), T0)
        repos.record_response(survey, None, 5, None, T0 + timedelta(minutes=1), n % 2 == 0, reasons[n % 3])
    few_calls, few_items = reads_of_a_report(repos, "agent", day, day)
    few_by_reason = reads_of_a_report(repos, "reason", day, day)

    for n in range(60):  # five times the responses, same day, agents and reasons
        survey = send(repos, scheduled(agent=agents[n % 3]), T0)
        repos.record_response(survey, None, 1 + n % 5, None, T0 + timedelta(minutes=1), n % 2 == 0, reasons[n % 3])
    many_calls, many_items = reads_of_a_report(repos, "agent", day, day)
    many_by_reason = reads_of_a_report(repos, "reason", day, day)

    # One Query for the closed days and one per shard, whatever the responses; items at most
    # days x groups x shards.
    assert few_calls == many_calls == ["Query"] * (aggregates.SHARDS + 1)
    assert many_items <= 1 * len(agents) * aggregates.SHARDS
    assert many_items == len(_agent_shards(repos))  # one item per agent and shard it was written in
    assert report(repos, "csat", "agent", day, day)["agt_1"][1] == 24

    # By reason: the reason counters and the "all" counters (the shares' base), one read each; items
    # at most (reasons + 1 "all") x shards.
    assert few_by_reason[0] == many_by_reason[0] == ["Query"] * 2 * (aggregates.SHARDS + 1)
    assert many_by_reason[1] <= (2 + 1) * aggregates.SHARDS

    # More days: still one Query per shard (a day range is one key range in each shard).
    calls, _ = reads_of_a_report(repos, "day", day - timedelta(days=29), day)
    assert calls == ["Query"] * (aggregates.SHARDS + 1)
    calls, _ = reads_of_a_report(repos, "theme", day - timedelta(days=29), day)
    assert calls == ["Query"] * 2 * (aggregates.SHARDS + 1)


def _agent_shards(repos) -> set[tuple[str, int]]:
    """(agent, shard) of every stored survey."""
    found, kwargs = set(), {"TableName": repos.table.name, "ConsistentRead": True}
    while True:
        page = repos.table.db.scan(**kwargs)
        for item in page["Items"]:
            if item["sk"]["S"] == "SURVEY":
                survey = repos.surveys.get(item["pk"]["S"].removeprefix("SURVEY#"))
                found.add((survey.agent.id, aggregates.shard_of(survey.survey_id)))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
