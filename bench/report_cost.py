"""What a report costs at 1,000 and at 100,000 responses over 90 days (`python -m bench --only reports`).

Recording 100,000 responses through the product (~143 transactions/s on DynamoDB Local) would
take too long, so the counters are loaded the short way: synthetic surveys are generated here,
their counter changes computed with the product's own functions (insight/counters.py: sent_changes,
opened_changes, response_changes), summed per counter item in memory and written with
BatchWriteItem. On the 1,000-response set the same surveys are also written through the real
path (SurveyRepository.create, delivery.mark_sent, surveys.keep_view, count_response) into another table, and the two sets
of counter items must be identical. The 90 days are all closed, so the product's compaction
(insight/compaction.py, as the hourly schedule runs it) folds them, timed and its write units
counted. Then reports.summary is timed on each group_by (reason and theme too: the surveys carry
reasons, comments and answers to "resolved?") and its DynamoDB requests, items and read units are
counted on the client's event hooks.
"""
from __future__ import annotations

import random
import statistics
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterator, Optional

GROUP_BYS = ("all", "day", "agent", "team", "channel", "reason", "theme")
DAYS = 90
RESPONSE_RATE = 0.4
AGENTS = (("agt_1", "billing"), ("agt_2", "billing"), ("agt_3", "technical"), ("agt_4", "technical"),
          ("agt_5", "onboarding"), ("agt_6", "onboarding"))
FIRST_DAY = date(2026, 8, 27)  # the 90 days end on 2026-11-24
_BATCH = 25                    # BatchWriteItem's limit
# Comments the keyword tagger finds themes in (chalicelib/why/themes.py), and none in the last.
COMMENTS = ("I waited a week for my refund", "The agent was rude", "Still broken after the update",
            "Thank you, great help", "Fine")
_WORKERS = 4


@dataclass(frozen=True)
class SyntheticSurvey:
    """One sent survey and what happened to it: its first view by a person, its answers (at, score),
    and with them a comment, the reasons ticked and the answer to "resolved?" (issue 14's why)."""
    survey: object  # chalicelib.surveys.Survey, as mark_sent leaves it
    viewed_at: Optional[datetime]
    answers: tuple[tuple[datetime, int], ...]
    comment: Optional[str] = None
    reasons: tuple[str, ...] = ()
    resolved: Optional[bool] = None


@dataclass
class ReportCost:
    """One group_by's report over the 90 days: median time and what it read."""
    median_ms: float
    requests: int
    items: int
    read_units: float
    groups: int


@dataclass
class Compaction:
    """Folding the 90 closed days (insight/compaction.py), as the schedule would."""
    seconds: float
    groups: int
    shard_items: int
    write_units: float
    items_after: int            # counter items left: the folded ones


@dataclass
class SizeResult:
    responses: int
    surveys: int
    counter_items: int
    load_seconds: float
    costs: dict[str, ReportCost] = field(default_factory=dict)
    compaction: Optional[Compaction] = None


@dataclass
class ReportCostRun:
    sizes: list[SizeResult]
    verified_items: int          # counter items compared on the smallest size
    real_path_seconds: float
    runs: int
    capacity_reported: bool      # DynamoDB Local returned ConsumedCapacity (else computed from sizes)


# --- synthetic surveys --------------------------------------------------------------------------

def synthetic(responses: int, seed: int) -> Iterator[SyntheticSurvey]:
    """Surveys over the 90 days (several agents, teams, both channels) until `responses` answered."""
    from chalicelib.surveys import Agent, Channel, Customer, Survey, SurveyKind, SurveyStatus
    from chalicelib.why import stage_reasons

    rng, why_rng, offered = random.Random(seed), random.Random(seed + 1), stage_reasons()
    answered, n = 0, 0
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=timezone.utc)
    while answered < responses:
        agent, team = rng.choice(AGENTS)
        sent_at = start + timedelta(seconds=rng.randrange(DAYS * 86400))
        survey = Survey(
            survey_id=f"{rng.getrandbits(64):016x}", interaction_id=f"bench-report-{seed}-{n}",
            kind=SurveyKind.CSAT, channel=Channel.SMS if rng.random() < 0.3 else Channel.EMAIL,
            status=SurveyStatus.SENT, customer=Customer(id=f"cus_{n}"), agent=Agent(id=agent), team=team,
            base_url="https://example.com/api", created_at=sent_at, send_at=sent_at, sent_at=sent_at,
            expires_at=sent_at + timedelta(days=28))
        n += 1
        answers: tuple = ()
        if rng.random() < RESPONSE_RATE:
            answered += 1
            first = sent_at + timedelta(minutes=rng.randint(5, 3000))
            answers = ((first, rng.choice((1, 2, 3, 4, 4, 5, 5, 5))),)
            if rng.random() < 0.03:  # a changed score
                answers += ((first + timedelta(hours=2), rng.randint(1, 5)),)
        # Email answers come after a page view (counted as the open); SMS replies open it themselves.
        viewed = survey.channel is Channel.EMAIL and (answers or rng.random() < 0.3)
        why: dict = {}
        if answers:  # drawn apart, so the surveys, views and scores stay those of the earlier figures
            picked = set(why_rng.sample(offered, why_rng.choice((0, 0, 1, 2))))
            why = {"comment": why_rng.choice(COMMENTS) if why_rng.random() < 0.3 else None,
                   "reasons": tuple(key for key in offered if key in picked),
                   "resolved": why_rng.choice((True, True, False, None))}
        yield SyntheticSurvey(survey, sent_at + timedelta(minutes=rng.randint(1, 4)) if viewed else None, answers,
                              **why)


def counter_changes(item: SyntheticSurvey, timezone_name: str) -> list:
    """The counter changes the product's writes make for this survey, from its own functions."""
    from chalicelib.insight import counters
    from chalicelib.why import tag_comment

    survey = item.survey
    changes = list(counters.sent_changes(survey, survey.sent_at, timezone_name))
    if item.viewed_at:
        changes += counters.opened_changes(survey, timezone_name)
    previous, why = None, counters.Why(item.reasons, tuple(tag_comment(item.comment)), item.resolved)
    for _, score in item.answers:
        changes += counters.response_changes(survey, previous, score, timezone_name,
                                               first_open=previous is None and item.viewed_at is None,
                                               old_why=why, new_why=why)
        previous = score
    return changes


# --- loading --------------------------------------------------------------------------------------

def summed_counters(items: Iterator[SyntheticSurvey], timezone_name: str) -> tuple[dict, int]:
    """(pk, sk) -> attribute -> sum of every change, and how many surveys there were. An attribute
    once touched stays (at 0 too), as DynamoDB's ADD leaves it."""
    counters: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    surveys = 0
    for item in items:
        surveys += 1
        for change in counter_changes(item, timezone_name):
            totals = counters[(change.pk, change.sk)]
            for name, delta in change.deltas.items():
                totals[name] += delta
    return counters, surveys


def batch_write(client, table: str, counters: dict) -> None:
    """Put every summed counter item, 25 to a BatchWriteItem, resending what DynamoDB left unprocessed."""
    puts = [{"PutRequest": {"Item": {"pk": {"S": pk}, "sk": {"S": sk},
                                     **{name: {"N": str(n)} for name, n in totals.items()}}}}
            for (pk, sk), totals in counters.items()]

    def write(batch: list) -> None:
        request = {table: batch}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(_WORKERS) as pool:
        list(pool.map(write, [puts[i:i + _BATCH] for i in range(0, len(puts), _BATCH)]))


def write_through_product(store, items: list[SyntheticSurvey]) -> None:
    """The same surveys through the real record path (`store`: a SurveyRepository): create, mark sent, view, answer."""
    from chalicelib.delivery import mark_sent
    from chalicelib.surveys import SurveyOpen, SurveyStatus, count_response, keep_view

    def one(item: SyntheticSurvey) -> None:
        survey = item.survey
        store.create(survey.model_copy(update={"status": SurveyStatus.SCHEDULED, "sent_at": None}))
        mark_sent(survey, survey.sent_at, "bench", store)
        if item.viewed_at:
            keep_view(survey, SurveyOpen(open_id=f"view-{survey.survey_id}", survey_id=survey.survey_id,
                                         at=item.viewed_at, method="GET", user_agent="Mozilla/5.0"), store)
        for at, score in item.answers:
            count_response(store.get(survey.survey_id), None, score, item.comment, at, item.resolved, store,
                           list(item.reasons))

    with ThreadPoolExecutor(_WORKERS) as pool:
        list(pool.map(one, items))


def counter_items(client, table: str) -> dict:
    """Every counter item of a table: (pk, sk) -> {attribute: n}."""
    found, kwargs = {}, {"TableName": table, "FilterExpression": "begins_with(pk, :agg)",
                         "ExpressionAttributeValues": {":agg": {"S": "AGG#"}}}
    while True:
        page = client.scan(**kwargs)
        for item in page["Items"]:
            found[(item["pk"]["S"], item["sk"]["S"])] = {
                name: int(value["N"]) for name, value in item.items() if name not in ("pk", "sk")}
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def compact(client, table: str) -> Compaction:
    """Run the product's compaction over every loaded day, counting its transactions' write units
    (bench/write_units.py: from each item before and after, as DynamoDB bills them)."""
    from bench.write_units import transaction_units
    from chalicelib.insight import compaction
    from chalicelib.storage.table import Table

    units = []

    def before(params, context, **_):
        context["bench_items"] = list(params["TransactItems"])
        context["bench_before"] = [_peek(client, entry) for entry in params["TransactItems"]]

    def after(parsed, context, **_):
        if "Error" not in parsed:
            items = context["bench_items"]
            units.append(transaction_units([next(iter(entry)) for entry in items], context["bench_before"],
                                           [_peek(client, entry) for entry in items]))

    events = client.meta.events
    hooks = (("before-parameter-build.dynamodb.TransactWriteItems", before, "bench-compaction-before"),
             ("after-call.dynamodb.TransactWriteItems", after, "bench-compaction-after"))
    for name, hook, unique in hooks:
        events.register(name, hook, unique_id=unique)
    try:
        began = time.perf_counter()
        done = compaction.compact(table=Table(table, client), before=FIRST_DAY + timedelta(days=DAYS))
        seconds = time.perf_counter() - began
    finally:
        for name, hook, unique in hooks:
            events.unregister(name, hook, unique_id=unique)
    if not done["finished"] or done["conflicts"]:
        raise RuntimeError(f"compaction did not finish cleanly: {done}")
    return Compaction(seconds, done["groups"], done["shard_items"], sum(units), len(counter_items(client, table)))


def _peek(client, entry: dict) -> Optional[dict]:
    (request,) = entry.values()
    item_key = request.get("Key") or {name: request["Item"][name] for name in ("pk", "sk")}
    return client.get_item(TableName=request["TableName"], Key=item_key, ConsistentRead=True).get("Item")


# --- reading --------------------------------------------------------------------------------------

class QueryMeter:
    """Counts the Queries of one client, the items they returned and the read units they consumed
    (asking each Query for ReturnConsumedCapacity=TOTAL)."""

    def __init__(self, client):
        self.client = client
        self.requests = self.items = 0
        self.units = 0.0
        self.capacity_reported = True

    def _ask_capacity(self, params, **_):
        params["ReturnConsumedCapacity"] = "TOTAL"

    def _after(self, parsed, **_):
        self.requests += 1
        self.items += parsed.get("Count", 0)
        capacity = parsed.get("ConsumedCapacity")
        if capacity is None:
            self.capacity_reported = False
        else:
            self.units += capacity.get("CapacityUnits", 0.0)

    def __enter__(self) -> "QueryMeter":
        events = self.client.meta.events
        events.register("provide-client-params.dynamodb.Query", self._ask_capacity, unique_id="bench-rcu")
        events.register("after-call.dynamodb.Query", self._after, unique_id="bench-query-meter")
        return self

    def __exit__(self, *exc) -> None:
        events = self.client.meta.events
        events.unregister("provide-client-params.dynamodb.Query", self._ask_capacity, unique_id="bench-rcu")
        events.unregister("after-call.dynamodb.Query", self._after, unique_id="bench-query-meter")


def report_cost(store, group_by: str, runs: int) -> tuple[ReportCost, bool]:
    """Median wall time of reports.summary over the 90 days, and the reads of one run (`store`: ReportCounters)."""
    from chalicelib.insight import ReportQuery, summary

    query = ReportQuery.model_validate({"survey": "csat", "from": FIRST_DAY.isoformat(),
                                        "to": (FIRST_DAY + timedelta(days=DAYS - 1)).isoformat(),
                                        "group_by": group_by})
    with QueryMeter(store.table.db) as meter:
        groups = len(summary(query, store)["groups"])
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        summary(query, store)
        times.append((time.perf_counter() - began) * 1000)
    return ReportCost(statistics.median(times), meter.requests, meter.items, meter.units, groups), \
        meter.capacity_reported


# --- the section ------------------------------------------------------------------------------------

def measure(sizes: tuple[int, ...], runs: int, progress) -> ReportCostRun:
    from chalicelib.insight.counters import ReportCounters
    from chalicelib.platform import aws
    from chalicelib.platform.settings import get_settings
    from chalicelib.storage.schema import create_table
    from chalicelib.storage.table import Table
    from chalicelib.surveys import SurveyRepository

    client = aws.client("dynamodb")
    zone = get_settings().reporting_timezone
    results, capacity_reported = [], True
    verified, real_seconds = 0, 0.0
    for index, size in enumerate(sizes):
        table = f"closeloop-bench-reports-{size}"
        create_table(table, client)
        progress(f"reports: generating {size:,} responses over {DAYS} days and summing their counter changes")
        began = time.perf_counter()
        counters, surveys = summed_counters(synthetic(size, seed=size), zone)
        batch_write(client, table, counters)
        result = SizeResult(size, surveys, len(counters), time.perf_counter() - began)
        if index == 0:
            progress(f"reports: checking the {size:,}-response load against the real record path ({surveys:,} surveys)")
            real_table = f"{table}-real"
            create_table(real_table, client)
            began = time.perf_counter()
            write_through_product(SurveyRepository(Table(real_table, client)), list(synthetic(size, seed=size)))
            real_seconds = time.perf_counter() - began
            loaded, real = counter_items(client, table), counter_items(client, real_table)
            if loaded != real:
                differing = sum(1 for key in loaded.keys() | real.keys() if loaded.get(key) != real.get(key))
                raise RuntimeError(f"summed counters differ from the real path's in {differing} items")
            verified = len(real)
        progress(f"reports: compacting the {DAYS} closed days of {size:,} responses")
        result.compaction = compact(client, table)
        store = ReportCounters(Table(table, client))
        for group_by in GROUP_BYS:
            progress(f"reports: {size:,} responses, group_by={group_by}, {runs} runs")
            result.costs[group_by], reported = report_cost(store, group_by, runs)
            capacity_reported = capacity_reported and reported
        results.append(result)
    return ReportCostRun(results, verified, real_seconds, runs, capacity_reported)
