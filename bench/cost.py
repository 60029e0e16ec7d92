"""What 1,000 surveys cost on AWS, from requests counted on a run of the survey loop
(`python -m bench --only cost`).

Each outcome (no response, response, response with a comment, detractor) runs through the real
handlers, once per channel: POST /v1/interactions, the queue's jobs (the send, the reminder), the
customer's page requests, the detractor's follow-up (alert, a lead's claim and resolve, the
re-survey three days later, answered). Time is virtual: the jobs queue is a stand-in that keeps
each message until its delay has passed on chalicelib.platform.clock, and the minute's schedule
runs when a timer (storage/timers.py) is due, so three days pass in seconds and all is counted.

Counted on the botocore session every client is made from: every call per service and operation;
DynamoDB's read and write request units (each call asks ReturnConsumedCapacity=TOTAL of DynamoDB
Local; a write refused by its condition still costs a unit on AWS and is counted as one per item).
SES, SNS and SQS are answered in-process by stand-ins (nothing leaves the machine). Lambda: one
invocation per API request and per job message (batch size 1), its handler time measured here with
perf_counter and billed as Lambda would, rounded up to the millisecond, at the configured memory.
The schedule runs every minute whatever the volume: its share per survey depends on the monthly
volume (--surveys-per-month). A run that fires a survey's timer charges the survey what the timer
added to it (its calls beyond an idle run's, and the run's time), not the invocation.

Then the costs: a mix of the outcomes at 10% and 40% response rates, times bench/prices.json.
"""
from __future__ import annotations

import email
import email.policy
import json
import math
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Optional
from urllib.parse import urlencode

from bench.env import ROOT, stage_settings
from bench.write_units import transaction_units

PRICES = Path(__file__).resolve().parent / "prices.json"
CHANNELS = ("email", "sms")
OUTCOMES = ("no response", "response", "response with comment", "detractor")
RATES = (0.10, 0.40)
# Of the surveys answered: how many were detractors, how many others left a comment. Assumptions,
# not measurements (change them with --detractor-share and --comment-share).
DETRACTOR_SHARE = 0.20
COMMENT_SHARE = 0.20
SCHEDULE_RUNS_PER_MONTH = 365.25 * 24 * 60 / 12  # rate(1 minute)
PUBLIC_URL = "https://survey.example.com"  # a branded domain (api_gateway_custom_domain)
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/closeloop-bench-cost-jobs"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:closeloop-bench-cost-alerts"
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


# --- what one survey uses --------------------------------------------------------------------

@dataclass
class Usage:
    """What one survey (or a share of the schedule) used: the inputs of the cost."""
    api_requests: float = 0
    job_invocations: float = 0
    other_invocations: float = 0      # the schedule
    billed_ms: float = 0              # sum over invocations, each rounded up to 1 ms
    read_units: float = 0
    write_units: float = 0
    dynamodb_calls: float = 0
    sqs_sends: float = 0
    sns_publishes: float = 0          # alerts on the leads' topic
    emails: float = 0
    sms_parts: float = 0
    bytes_out: float = 0              # response bodies served through API Gateway

    @property
    def lambda_invocations(self) -> float:
        return self.api_requests + self.job_invocations + self.other_invocations

    @property
    def sqs_requests(self) -> float:
        # Each job: our SendMessage, then Lambda's poller receives and deletes it (batch size 1).
        return self.sqs_sends + 2 * self.job_invocations

    def plus(self, other: "Usage", weight: float = 1.0) -> "Usage":
        return Usage(**{f.name: getattr(self, f.name) + weight * getattr(other, f.name) for f in fields(Usage)})


def mix(usage: dict[str, Usage], rate: float, detractor_share: float = DETRACTOR_SHARE,
        comment_share: float = COMMENT_SHARE) -> Usage:
    """One average survey at response rate `rate`: the outcomes weighted by how often they happen."""
    weights = {"no response": 1 - rate, "detractor": rate * detractor_share,
               "response with comment": rate * comment_share,
               "response": rate * (1 - detractor_share - comment_share)}
    if min(weights.values()) < 0:
        raise ValueError("shares of detractors and comments must add up to at most 1")
    total = Usage()
    for outcome, weight in weights.items():
        total = total.plus(usage[outcome], weight)
    return total


def load_prices(path: Path = PRICES) -> dict:
    return json.loads(path.read_text())


def price(prices: dict, name: str) -> float:
    """USD per one unit."""
    entry = prices["prices"][name]
    return entry["usd"] / entry["per"]


def cost(usage: Usage, prices: dict, memory_mb: int, sms_usd: float) -> dict[str, float]:
    """USD of one survey's usage, by service (arm64 Lambda at `memory_mb`)."""
    gb_seconds = usage.billed_ms / 1000 * memory_mb / 1024
    return {
        "SES": usage.emails * price(prices, "ses_email"),
        "SMS": usage.sms_parts * sms_usd,
        "DynamoDB": (usage.read_units * price(prices, "dynamodb_read_request_unit")
                     + usage.write_units * price(prices, "dynamodb_write_request_unit")),
        "Lambda": (usage.lambda_invocations * price(prices, "lambda_request")
                   + gb_seconds * price(prices, "lambda_arm64_gb_second")),
        "API Gateway": (usage.api_requests * price(prices, "api_gateway_rest_request")
                        + usage.bytes_out / 1024 ** 3 * price(prices, "data_transfer_out_gb")),
        "SQS": usage.sqs_requests * price(prices, "sqs_request"),
        "SNS": usage.sns_publishes * price(prices, "sns_publish"),
    }


def billed_ms(seconds: float) -> int:
    """Lambda bills each invocation's duration rounded up to the next millisecond (at least 1)."""
    return max(1, math.ceil(seconds * 1000 - 1e-9))


# --- counting ----------------------------------------------------------------------------------

class Meter:
    """Counts every AWS call of the app's clients and answers the non-DynamoDB ones in-process."""

    def __init__(self):
        self.calls: Counter = Counter()
        self.read_units = self.write_units = 0.0
        self.capacity_reported = True
        self.queue: list = []                 # (due, order, body)
        self.order = 0
        self.emails: list[tuple[str, str]] = []   # (survey id, text part)
        self.texts: list[tuple[str, str]] = []    # (phone, message)
        self.publishes: list[dict] = []
        self.messages: list[str] = []             # every survey message's text, in sending order
        self._peek_client = None                  # reads items for transactions' units, unmetered

    def attach(self, events) -> None:
        events.register("provide-client-params.dynamodb", self._ask_capacity)
        events.register("before-parameter-build", self._keep_params)
        events.register("before-call", self._before_call)
        events.register("after-call.dynamodb", self._after_dynamodb)

    @staticmethod
    def _ask_capacity(params, model, **_):
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    @staticmethod
    def _keep_params(params, context, **_):
        context["bench_params"] = dict(params)  # before-call sees only the serialized request

    def _before_call(self, model, context, **_):
        service = model.service_model.service_name
        self.calls[(service, model.name)] += 1
        if service == "dynamodb":
            if model.name == "TransactWriteItems":
                context["bench_before"] = self._peek(context["bench_params"]["TransactItems"])
            return None
        params = context.get("bench_params", {})
        return SimpleNamespace(status_code=200, headers={}), self._answer(service, model.name, params)

    def _answer(self, service: str, operation: str, params: dict) -> dict:
        from chalicelib.platform import clock

        if (service, operation) == ("sqs", "SendMessage"):
            self.order += 1
            due = clock.now() + timedelta(seconds=int(params.get("DelaySeconds", 0)))
            self.queue.append((due, self.order, params["MessageBody"]))
        elif (service, operation) == ("sqs", "SendMessageBatch"):
            for entry in params["Entries"]:
                self.order += 1
                due = clock.now() + timedelta(seconds=int(entry.get("DelaySeconds", 0)))
                self.queue.append((due, self.order, entry["MessageBody"]))
            return {"Successful": [{"Id": e["Id"], "MessageId": str(uuid.uuid4())} for e in params["Entries"]],
                    "Failed": []}
        elif (service, operation) == ("sesv2", "SendEmail"):
            message = email.message_from_bytes(params["Content"]["Raw"]["Data"], policy=email.policy.default)
            self.emails.append((message["X-Closeloop-Survey"], message.get_body(("plain",)).get_content()))
            self.messages.append(self.emails[-1][1])
        elif (service, operation) == ("sns", "Publish"):
            if "PhoneNumber" in params:
                self.texts.append((params["PhoneNumber"], params["Message"]))
                self.messages.append(params["Message"])
            else:
                self.publishes.append(params)
        else:
            raise RuntimeError(f"the cost run has no stand-in for {service}.{operation}")
        return {"MessageId": str(uuid.uuid4())}

    def _after_dynamodb(self, parsed, model, context, **_):
        error = (parsed.get("Error") or {}).get("Code")
        if error:
            # A write refused by its condition consumes write units on AWS but reports none: one
            # unit per item it named (a transaction's items two each, as transactional writes).
            items = len(context.get("bench_params", {}).get("TransactItems", []))
            if error == "ConditionalCheckFailedException" and model.name in _WRITES:
                self.write_units += 1
            elif error == "TransactionCanceledException":
                self.write_units += 2 * items
            return
        if model.name == "TransactWriteItems":  # Local's figure for these is not the bill (bench/write_units.py)
            entries = context["bench_params"]["TransactItems"]
            self.write_units += transaction_units([next(iter(entry)) for entry in entries], context["bench_before"],
                                                  self._peek(entries))
            return
        capacity = parsed.get("ConsumedCapacity")
        if capacity is None:
            if model.name not in ("DescribeTable", "CreateTable", "UpdateTimeToLive", "DescribeTimeToLive"):
                self.capacity_reported = False
            return
        for entry in capacity if isinstance(capacity, list) else [capacity]:
            # The item's units and its index entries' (tests/storage/test_bench_meter.py).
            units = entry.get("CapacityUnits", 0.0)
            if units == 0 and model.name in ("GetItem", "Query", "Scan"):
                # Local reports 0 for a read that found nothing; DynamoDB bills at least half a
                # unit for it (one 4 KB eventually consistent read).
                units = 0.5
            read, write = entry.get("ReadCapacityUnits"), entry.get("WriteCapacityUnits")
            if read is not None or write is not None:
                self.read_units += read or 0.0
                self.write_units += write or 0.0
            elif model.name in _WRITES or model.name.startswith(("BatchWrite", "TransactWrite")):
                self.write_units += units
            else:
                self.read_units += units

    def _peek(self, entries: list[dict]) -> list[Optional[dict]]:
        """The items a transaction names, as they are now (strongly consistent, not counted)."""
        import boto3

        if self._peek_client is None:
            self._peek_client = boto3.session.Session().client("dynamodb", region_name="us-east-1")
        found = []
        for entry in entries:
            (request,) = entry.values()
            item_key = request.get("Key") or {name: request["Item"][name] for name in ("pk", "sk")}
            found.append(self._peek_client.get_item(TableName=request["TableName"], Key=item_key,
                                                    ConsistentRead=True).get("Item"))
        return found

    def snapshot(self) -> tuple:
        return Counter(self.calls), self.read_units, self.write_units, len(self.emails), len(self.texts), \
            len(self.publishes)


@dataclass
class Run:
    """One outcome on one channel: what it used, and a trace of what ran."""
    usage: Usage
    calls: Counter
    api: Counter = field(default_factory=Counter)      # route -> requests
    jobs: Counter = field(default_factory=Counter)     # job kind -> invocations
    handler_ms: list = field(default_factory=list)
    timer_runs: int = 0                                # schedule runs that fired its timers


class Loop:
    """Drives the app's handlers in virtual time and meters one scenario at a time."""

    def __init__(self, meter: Meter, memory_mb: int):
        import app as app_module
        from bench.events import LambdaContext

        self.app = app_module
        self.meter = meter
        self.memory_mb = memory_mb
        self.context = LambdaContext()
        self.run: Optional[Run] = None
        self.idle: Optional[Run] = None  # one schedule run with nothing due (measure_idle)
        self._unmetered = None

    # time
    def now(self) -> datetime:
        from chalicelib.platform import clock
        return clock.now()

    def advance_to(self, moment: datetime) -> None:
        from chalicelib.platform import clock
        if moment > clock.now():
            clock.set_now(moment)

    def _timed(self, call: Callable[[], dict]) -> dict:
        began = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - began
        self.run.handler_ms.append(elapsed * 1000)
        self.run.usage.billed_ms += billed_ms(elapsed)
        return result

    # the API
    def request(self, method: str, resource: str, params: dict, body: Optional[dict] = None,
                form: Optional[dict] = None, principal: Optional[str] = None) -> dict:
        from bench.events import rest_event

        event = rest_event(method, resource, params, body=body)
        if form is not None:
            event["body"] = urlencode(form)
            for headers in (event["headers"],):
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            event["multiValueHeaders"]["Content-Type"] = ["application/x-www-form-urlencoded"]
        if principal:
            event["requestContext"]["authorizer"] = {"principalId": principal}
        response = self._timed(lambda: self.app.app(event, self.context))
        if response["statusCode"] >= 400:
            raise RuntimeError(f"{method} {resource}: {response['statusCode']} {response.get('body')}")
        self.run.usage.api_requests += 1
        self.run.usage.bytes_out += len(response.get("body") or "")
        self.run.api[f"{method} {resource}"] += 1
        return response

    # the queue
    def _next_job(self, until: Optional[datetime]):
        queue = self.meter.queue
        if not queue:
            return None
        queue.sort()
        if until is not None and queue[0][0] > until:
            return None
        return queue.pop(0)

    def run_jobs(self, until: Optional[datetime] = None, stop: Callable[[], bool] = lambda: False,
                 limit: int = 5000) -> None:
        """Deliver due jobs in order of their moments (moving the clock), and run the schedule at
        the minute a timer is due, until `until`, `stop()` or nothing is left; then the clock
        stands at `until`."""
        for _ in range(limit):
            if stop():
                return
            fires_at = self._timers_fire_at()
            queue = sorted(self.meter.queue)
            if fires_at is not None and (until is None or fires_at <= until) and (
                    not queue or fires_at < queue[0][0]):
                self.advance_to(fires_at)
                self.fire_timers()
                continue
            item = self._next_job(until)
            if item is None:
                if until is not None:
                    self.advance_to(until)
                return
            due, _, body = item
            self.advance_to(due)
            event = {"Records": [{"messageId": str(uuid.uuid4()), "receiptHandle": "r", "body": body,
                                  "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                                  "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                                  "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:closeloop-jobs"}]}
            began = self.now()
            self._timed(lambda: self.app.handle_job(event, self.context))
            # Time passes while a handler runs: a job re-queued with no delay (jobs.enqueue rounds
            # a wait under half a second to 0) comes back that much later, as it would on AWS.
            self.advance_to(began + timedelta(milliseconds=self.run.handler_ms[-1]))
            self.run.usage.job_invocations += 1
            self.run.jobs[json.loads(body)["job"]["kind"]] += 1
        raise RuntimeError("jobs kept coming: a job loops")

    def _timers_fire_at(self) -> Optional[datetime]:
        """The minute at which the schedule (rate(1 minute)) finds the earliest timer due, or None;
        looked up on a client outside the meter (the lookup is the bench's, not the app's)."""
        import boto3

        from chalicelib.storage import timers
        from chalicelib.storage.table import Table

        if self._unmetered is None:
            self._unmetered = Table(client=boto3.session.Session().client("dynamodb", region_name="us-east-1"))
        due = timers.next_due(self._unmetered)
        if due is None:
            return None
        minute = due.replace(second=0, microsecond=0)
        return max(self.now(), minute if minute == due else minute + timedelta(minutes=1))

    def fire_timers(self) -> None:
        """The minute's schedule run that finds timers due. It runs every minute anyway (the
        schedule row): the survey is charged its time and what its timers add (measure() takes an
        idle run's calls off), not the invocation."""
        self._without_compaction()
        self._timed(lambda: self.app.escalate_overdue(self._scheduled_event(), self.context))
        self.run.timer_runs += 1

    def _without_compaction(self) -> None:
        """The hour's report compaction (insight/compaction.py) counts as done: it runs hourly
        whatever the surveys, and costs what the closed days' groups cost (the reports section), so
        neither a survey nor the schedule row is charged with it. Virtual time jumps days, so a
        timer's run would otherwise fold every earlier scenario's counters."""
        from chalicelib.insight import compaction
        from chalicelib.platform.settings import get_settings

        compaction._compacted_window = int(self.now().timestamp()) // get_settings().report_compaction_seconds

    def _scheduled_event(self) -> dict:
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                "source": "aws.events", "account": "123456789012", "time": self.now().isoformat(),
                "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/x"],
                "detail": {}}

    def schedule(self) -> None:
        self._without_compaction()
        self._timed(lambda: self.app.escalate_overdue(self._scheduled_event(), self.context))
        self.run.usage.other_invocations += 1

    # one scenario
    def measure(self, scenario: Callable[["Loop"], None]) -> Run:
        self.meter.queue.clear()
        calls0, reads0, writes0, emails0, texts0, alerts0 = self.meter.snapshot()
        self.run = Run(Usage(), Counter())
        scenario(self)
        if self.meter.queue:
            raise RuntimeError("the scenario left jobs on the queue")
        if self.idle is not None and self._timers_fire_at() is not None:
            raise RuntimeError("the scenario left a timer behind")
        calls1, reads1, writes1, emails1, texts1, alerts1 = self.meter.snapshot()
        usage, runs = self.run.usage, self.run.timer_runs
        idle = self.idle.usage if runs else Usage()
        usage.read_units = reads1 - reads0 - runs * idle.read_units
        usage.write_units = writes1 - writes0 - runs * idle.write_units
        usage.emails, usage.sms_parts, usage.sns_publishes = emails1 - emails0, texts1 - texts0, alerts1 - alerts0
        self.run.calls = calls1 - calls0
        for _ in range(runs):
            self.run.calls -= self.idle.calls
        usage.dynamodb_calls = sum(n for (service, _), n in self.run.calls.items() if service == "dynamodb")
        usage.sqs_sends = self.run.calls[("sqs", "SendMessage")] + self.run.calls[("sqs", "SendMessageBatch")]
        return self.run

    def measure_idle(self) -> Run:
        """One schedule run with nothing due: what every minute costs, and what a timer's run is
        charged beyond."""
        self.idle = self.measure(lambda loop: loop.schedule())
        return self.idle


# --- the survey loop -------------------------------------------------------------------------------

_OPEN_ID = re.compile(r'name="open_id" value="([^"]+)"')
_LINK = re.compile(r"/s/([A-Za-z0-9_-]+)(?:/(\d+))?")


def _token_of(text: str) -> str:
    return _LINK.search(text).group(1)


def scenario(channel: str, outcome: str, index: int) -> Callable[[Loop], None]:
    """One survey of `channel` that ends in `outcome`, as a customer and a lead would act."""

    def play(loop: Loop) -> None:
        meter = loop.meter
        sent_before = len(meter.messages)
        customer = {"id": f"cus_cost_{index}", "name": "Ada Lovelace", "locale": "en",
                    "timezone": "America/New_York"}
        customer.update({"email": f"ada{index}@example.com"} if channel == "email" else
                        {"phone": f"+1415555{index:04d}"})
        body = {"interaction_id": f"cost-{uuid.uuid4().hex[:12]}", "survey": "csat", "channel": channel,
                "customer": customer, "agent": {"id": "agt_7", "name": "Sam"}, "team": "billing"}
        response = loop.request("POST", "/v1/interactions", {}, body=body, principal="bench")
        survey_id = json.loads(response["body"])["survey_id"]

        def messages() -> list[str]:
            """The customer's (survey, re-survey): a lead's assignment email goes out too."""
            return [text for text in meter.messages[sent_before:] if _LINK.search(text)]

        loop.run_jobs(stop=lambda: len(messages()) >= 1)
        if outcome != "no response":
            answer(loop, channel, messages()[0], {"response": 4, "response with comment": 5, "detractor": 1}[outcome],
                   comment=None if outcome == "response" else "The agent was quick but the fix did not hold.")
        if outcome == "detractor":
            from chalicelib.followups import FollowUpRepository

            loop.run_jobs(stop=lambda: FollowUpRepository().get(f"fu_{survey_id}") is not None)
            loop.run_jobs(until=loop.now() + timedelta(hours=1))
            loop.request("POST", "/v1/followups/{followup_id}/claim", {"followup_id": f"fu_{survey_id}"},
                         body={"owner": "sam"}, principal="bench")
            loop.request("PATCH", "/v1/followups/{followup_id}", {"followup_id": f"fu_{survey_id}"},
                         body={"status": "resolved", "note": "refund sent"}, principal="bench")
            loop.run_jobs(stop=lambda: len(messages()) >= 2)
            answer(loop, channel, messages()[1], 5, comment=None, resurvey=True)
        loop.run_jobs()

    return play


def answer(loop: Loop, channel: str, message: str, score: int, comment: Optional[str],
           resurvey: bool = False) -> None:
    """The customer opens the link 20 minutes later and answers (the email's one-click landing
    confirms itself after the page's dwell; the SMS page is a form)."""
    from chalicelib.platform.settings import get_settings

    token = _token_of(message)
    loop.run_jobs(until=loop.now() + timedelta(minutes=20))
    extra = {"resolved": "true"} if resurvey else {}
    if channel == "email":
        page = loop.request("GET", "/s/{token}/{score}", {"token": token, "score": str(score)})
        open_id = _OPEN_ID.search(page["body"]).group(1)
        loop.run_jobs(until=loop.now() + timedelta(milliseconds=get_settings().confirm_dwell_ms + 200))
        confirmed = loop.request("POST", "/s/{token}/{score}", {"token": token, "score": str(score)},
                                 body={"open_id": open_id})
        if json.loads(confirmed["body"]).get("recorded") is not True:
            raise RuntimeError(f"a confirmation was not recorded: {confirmed['body']}")
        if comment or extra:
            loop.run_jobs(until=loop.now() + timedelta(seconds=40))
            loop.request("POST", "/s/{token}", {"token": token},
                         form={"open_id": open_id, "score": score, **({"comment": comment} if comment else {}),
                               **extra})
    else:
        page = loop.request("GET", "/s/{token}", {"token": token})
        open_id = _OPEN_ID.search(page["body"]).group(1)
        loop.run_jobs(until=loop.now() + timedelta(seconds=8))
        thanks = loop.request("POST", "/s/{token}", {"token": token},
                              form={"open_id": open_id, "score": score, **extra})
        if comment:
            found = _OPEN_ID.search(thanks["body"])
            loop.run_jobs(until=loop.now() + timedelta(seconds=40))
            loop.request("POST", "/s/{token}", {"token": token},
                         form={"open_id": found.group(1) if found else open_id, "score": score, "comment": comment})


# --- the section -------------------------------------------------------------------------------------

@dataclass
class CostRun:
    runs: dict                  # (channel, outcome) -> list[Run]
    usage: dict                 # (channel, outcome) -> Usage (mean per survey)
    schedule: Usage             # one schedule run with nothing due
    settings: dict              # the stage settings the loop ran with
    memory_mb: int
    capacity_reported: bool
    sms_parts_checked: int      # SMS texts that were one GSM-7 segment


def memory_mb(stage: str = "prod") -> int:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return int(config["stages"][stage].get("lambda_memory_size") or config.get("lambda_memory_size", 128))


def measure(repeats: int, progress) -> CostRun:
    import os

    from chalicelib.apikeys import clear_cache
    from chalicelib.delivery import send_rate
    from chalicelib.delivery import sms as sms_delivery
    from chalicelib.leads import add_lead
    from chalicelib.platform import aws, clock
    from chalicelib.platform import settings as config
    from chalicelib.storage.schema import create_table

    settings = stage_settings()
    saved_env = dict(os.environ)
    os.environ.update(settings)
    os.environ.update({"CLOSELOOP_TABLE_NAME": "closeloop-bench-cost", "CLOSELOOP_JOBS_QUEUE_URL": QUEUE_URL,
                       "CLOSELOOP_ALERT_TOPIC_ARN": TOPIC_ARN, "CLOSELOOP_PUBLIC_URL": PUBLIC_URL,
                       "CLOSELOOP_SENDER_EMAIL": "surveys@example.com",
                       "CLOSELOOP_POSTAL_ADDRESS": "1 Bench Street, Springfield"})
    os.environ.pop("CLOSELOOP_ALERT_WEBHOOK_URL", None)
    config.reset_settings()
    aws.reset_clients()
    clear_cache()
    meter = Meter()
    meter.attach(aws._session().events)  # before any client exists: every client inherits the hooks
    create_table("closeloop-bench-cost", aws.client("dynamodb"))
    clock.set_now(_next_start(datetime.now(timezone.utc)))
    add_lead("sam@example.com")  # the lead who claims, as an operator adds one (`ops leads add`): owners are leads
    real_sleep = send_rate._sleep
    # A wait for the sending rate's moment passes in virtual time.
    send_rate._sleep = lambda seconds: clock.set_now(clock.now() + timedelta(seconds=seconds))
    loop = Loop(meter, memory_mb())
    runs: dict = {}
    try:
        loop.measure_idle()
        index = 0
        for attempt in range(repeats + 1):  # the first round warms imports and caches: not kept
            for channel in CHANNELS:
                for outcome in OUTCOMES:
                    index += 1
                    run = loop.measure(scenario(channel, outcome, index))
                    if attempt:
                        runs.setdefault((channel, outcome), []).append(run)
                    # Idle between surveys, and each starts at 14:00 UTC (09:00 in New York, the
                    # customers' zone): SMS quiet hours would otherwise add hops by time of day.
                    loop.advance_to(_next_start(loop.now()))
            progress(f"cost: round {attempt + 1}/{repeats + 1} of {len(CHANNELS) * len(OUTCOMES)} scenarios")
        schedules = [loop.measure(lambda lp: lp.schedule()) for _ in range(max(5, repeats))]
    finally:
        send_rate._sleep = real_sleep
        clock.set_now(None)
        # The sections after this one start from the bench's own environment and fresh clients.
        os.environ.clear()
        os.environ.update(saved_env)
        config.reset_settings()
        aws.reset_clients()
    single = sum(1 for _, text in meter.texts if (sms_delivery.septets(text) or 999) <= sms_delivery.SEGMENT_SEPTETS)
    if single != len(meter.texts):
        raise RuntimeError("an SMS took more than one segment")
    usage = {key: _mean([r.usage for r in found]) for key, found in runs.items()}
    return CostRun(runs, usage, _mean([s.usage for s in schedules]), settings, loop.memory_mb,
                   meter.capacity_reported, single)


def _next_start(after: datetime) -> datetime:
    """14:00 UTC on the day after `after`."""
    return (after + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)


def _mean(usages: list[Usage]) -> Usage:
    total = Usage()
    for usage in usages:
        total = total.plus(usage, 1 / len(usages))
    return total


def per_thousand(run: CostRun, prices: dict, channel: str, rate: float, sms_usd: float,
                 surveys_per_month: int, detractor_share: float, comment_share: float) -> dict[str, float]:
    """USD per 1,000 surveys of `channel` at `rate`, by service, the schedule's share included."""
    usage = mix({o: run.usage[(channel, o)] for o in OUTCOMES}, rate, detractor_share, comment_share)
    usage = usage.plus(run.schedule, SCHEDULE_RUNS_PER_MONTH / surveys_per_month)
    return {service: 1000 * usd for service, usd in cost(usage, prices, run.memory_mb, sms_usd).items()}


# --- printing ------------------------------------------------------------------------------------------

def print_cost(run: CostRun, prices: dict, surveys_per_month: int, detractor_share: float,
               comment_share: float, elapsed: float) -> None:
    countries = prices["sms"]["countries"]
    print()
    print("cost: requests per survey, measured on a run of the survey loop (mean of "
          f"{len(next(iter(run.runs.values())))} runs each)")
    print()
    print("| channel | outcome | API requests | Lambda invocations (API + jobs) | billed Lambda ms | "
          "DynamoDB calls | RRU | WRU | SQS requests | emails | SMS | SNS alerts |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (channel, outcome), u in run.usage.items():
        print(f"| {channel} | {outcome} | {u.api_requests:g} | {u.lambda_invocations:g} "
              f"({u.api_requests:g} + {u.job_invocations:g}) | {u.billed_ms:.0f} | {u.dynamodb_calls:g} | "
              f"{u.read_units:g} | {u.write_units:g} | {u.sqs_requests:g} | {u.emails:g} | {u.sms_parts:g} | "
              f"{u.sns_publishes:g} |")
    s = run.schedule
    print(f"| (schedule) | one run (escalation, timers) | 0 | 1 | {s.billed_ms:.0f} | {s.dynamodb_calls:g} | "
          f"{s.read_units:g} | {s.write_units:g} | 0 | 0 | 0 | 0 |")
    print()
    for (channel, outcome), found in run.runs.items():
        r = found[0]
        jobs = ", ".join(f"{n} {kind}" for kind, n in sorted(r.jobs.items()))
        calls = ", ".join(f"{n} {op}" for (service, op), n in sorted(r.calls.items()) if service == "dynamodb")
        print(f"- {channel}, {outcome}: jobs {jobs}; schedule runs that fired its timers {r.timer_runs}; "
              f"DynamoDB {calls}")
    print()
    us = countries["US"]["usd"]
    print(f"cost per 1,000 surveys, USD, us-east-1 list prices of {prices['taken']} (bench/prices.json), no free "
          f"tiers; SMS at the US price (${us:g}/message, {countries['US']['checked']}); Lambda arm64 "
          f"{run.memory_mb} MB; the every-minute schedule (escalation, timers) shared over {surveys_per_month:,} surveys a month")
    print()
    services = ("SES", "SMS", "DynamoDB", "Lambda", "API Gateway", "SQS", "SNS")
    print("| channel | response rate | " + " | ".join(services) + " | total |")
    print("|---|---:|" + "---:|" * (len(services) + 1))
    for channel in CHANNELS:
        for rate in RATES:
            row = per_thousand(run, prices, channel, rate, us, surveys_per_month, detractor_share, comment_share)
            print(f"| {channel} | {rate:.0%} | " + " | ".join(_usd(row[s]) for s in services)
                  + f" | **{_usd(sum(row.values()))}** |")
    print()
    print("SMS by destination country, USD per 1,000 surveys (everything included):")
    print()
    print("| country | price per SMS | checked | " + " | ".join(f"{r:.0%} response" for r in RATES) + " |")
    print("|---|---:|---|" + "---:|" * len(RATES))
    for code, entry in countries.items():
        totals = [sum(per_thousand(run, prices, "sms", r, entry["usd"], surveys_per_month, detractor_share,
                                   comment_share).values()) for r in RATES]
        print(f"| {code} | ${entry['usd']:g} | {entry['checked']} | " + " | ".join(_usd(t) for t in totals) + " |")
    mixed = {r: mix({o: run.usage[("email", o)] for o in OUTCOMES}, r, detractor_share, comment_share) for r in RATES}
    per_call = {r: 1000 * (mixed[r].dynamodb_calls + mixed[r].sqs_sends + mixed[r].emails + mixed[r].sns_publishes)
                for r in RATES}
    ten_ms = {r: per_call[r] * 0.010 * run.memory_mb / 1024 * price(prices, "lambda_arm64_gb_second") for r in RATES}
    settings = ", ".join(f"{k.removeprefix('CLOSELOOP_')}={v}" for k, v in sorted(run.settings.items())
                         if k.endswith(("SECONDS", "_DAYS")))
    print()
    lines = [
        f"outcomes: of the surveys answered, {detractor_share:.0%} detractors (CSAT 1 with a comment: alert, "
        f"follow-up claimed and resolved by a lead over the API, re-survey 3 days later, answered), "
        f"{comment_share:.0%} with a comment, the rest a score alone; answers come 20 minutes after the send, "
        "before any reminder; non-responders get the one reminder. Those shares are assumptions; the requests "
        "of each outcome are measured.",
        f"settings: the prod stage's ({settings}); survey links on {PUBLIC_URL}. Time is virtual: "
        "each SQS delay (at most 15 minutes) is waited out on the app's clock, and the schedule runs at the minute a "
        "timer is due (the 3-day reminder and re-survey are timers).",
        "Lambda: handler time measured on this machine (x86, in-process, DynamoDB Local on loopback, SES/SNS/SQS "
        "answered in-process with no network), rounded up to 1 ms per invocation. On AWS each SDK call's "
        f"round trip adds to the billed time: at 10 ms a call, about ${ten_ms[RATES[0]]:.4f} (10%) to "
        f"${ten_ms[RATES[1]]:.4f} (40%) more per 1,000 email surveys. Cold starts (INIT) are not included.",
        "DynamoDB: read/write request units as DynamoDB Local reports them with ReturnConsumedCapacity=TOTAL"
        + ("" if run.capacity_reported else " (some calls reported none: counted as 0)")
        + "; transactions computed from their items before and after (Local misreports them; bench/write_units.py): "
        "2 units per KB per item, index entries 1 per KB; a read "
        "that found nothing at least 0.5; writes refused by their condition 1 unit per item. Storage not included.",
        "SQS: our SendMessage calls plus, per job, the Lambda poller's receive and delete; idle long polling "
        "(fixed per month) not included. API Gateway: REST requests plus the pages' bytes out. SNS: alert "
        "publishes only (email subscribers to the topic are billed per delivery). The API key authorizer is "
        "cached 30 s per key at API Gateway (at most ~88,000 invocations a month per key) and not included.",
        "Report compaction (hourly, insight/compaction.py) is left out of the survey and schedule rows: it folds "
        "the closed days' counters whatever the surveys, at a cost set by days x groups (the reports section).",
        f"SMS: every text was one GSM-7 segment ({run.sms_parts_checked} checked). Prices marked unverified in "
        "bench/prices.json are orders of magnitude, not quotes.",
    ]
    import textwrap

    for line in lines:
        print(textwrap.fill(line, width=110, initial_indent="- ", subsequent_indent="  "))
    print()
    print(f"(cost section {elapsed:.0f} s)")


def _usd(value: float) -> str:
    return f"${value:.2f}" if value >= 0.995 else f"${value:.3f}" if value >= 0.0995 else f"${value:.4f}"
