"""The sending rate under a burst: interactions accepted all at once, then the jobs queue drained by
concurrent handlers in real time, against emulated SES (moto) and DynamoDB Local.

The handlers are app.handle_job, fed one message at a time as Lambda's event source mapping does
(batch size 1), by one thread per simulated concurrent Lambda. moto's SES runs as a server in a
process of its own, so it does not compete with the handlers for this process's interpreter lock.

The jobs queue is a stand-in in this process: moto's SQS recomputes every queue attribute on each
SendMessage, a scan of all its messages (measured here: 7 ms per send at 500 queued messages, 31
ms at 2,000), so with 10,000 queued jobs the emulator, not closeloop, would set the pace. The
stand-in answers the app's own SendMessage calls (its real jobs.enqueue, through botocore) and
keeps what matters of SQS: whole-second delays up to 15 minutes, honoured in real time (so the
drain takes about burst/rate seconds); a message is invisible while a handler has it, deleted when
the handler returns, visible again after the 30 s visibility timeout when it raised.

Every SendEmail SES accepted is timed twice, when its request left (what SES's rate limit sees)
and when the answer came back, with its survey's id.
"""
from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import SimpleNamespace

from bench.env import TABLE
from bench.events import LambdaContext, rest_event
from devstack import local_process

SENDER = "surveys@example.com"
SURVEY_HEADER = re.compile(rb"^X-Closeloop-Survey: (\S+)\r?$", re.M)
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/closeloop-bench-jobs"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:closeloop-bench-jobs"
VISIBILITY_TIMEOUT = 30


@dataclass(frozen=True)
class Send:
    requested: float  # epoch seconds: the request left for SES
    answered: float   # epoch seconds: SES's answer came back
    survey_id: str


def most_in_one_second(times: list[float], sliding: bool) -> int:
    """Most of `times` in one clock second [s, s+1), or (`sliding`) in any window [t, t+1)."""
    if not sliding:
        return max(Counter(int(at) for at in times).values(), default=0)
    times, best, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - 1:
            first += 1
        best = max(best, last - first + 1)
    return best


@dataclass
class Run:
    burst: int
    rate: float
    workers: int
    accepted: list[str] = field(default_factory=list)
    accept_seconds: float = 0.0
    accepted_on_retry: int = 0       # POSTs answered 200 (the interaction already there) instead of 202
    drain_started: float = 0.0
    sends: list[Send] = field(default_factory=list)
    provider_recipients: int = 0     # moto's SES count: recipients of the messages it accepted
    rate_writes: list[float] = field(default_factory=list)  # epoch of each UpdateItem on the rate item
    queue_waits: int = 0             # jobs re-queued to wait for the moment they reserved
    statuses: Counter = field(default_factory=Counter)
    left_on_queue: int = 0
    deliveries: int = 0              # handler invocations: first deliveries, deferrals and retries
    handler_errors: int = 0
    timed_out: bool = False

    @property
    def sent(self) -> int:
        return len(self.sends)

    @property
    def duplicates(self) -> int:
        return self.sent - len({send.survey_id for send in self.sends})

    @property
    def lost(self) -> int:
        return len(set(self.accepted) - {send.survey_id for send in self.sends})

    def most_in_one_second(self, sliding: bool, answered: bool = False) -> int:
        return most_in_one_second([send.answered if answered else send.requested for send in self.sends], sliding)

    @property
    def achieved_rate(self) -> float:
        """(n - 1) sends over the span from the first request to the last: the rate of an even stream."""
        times = sorted(send.requested for send in self.sends)
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0

    @property
    def drain_seconds(self) -> float:
        return max(send.requested for send in self.sends) - self.drain_started if self.sends else 0.0


class MotoServer:
    """moto's server (here for SES) in a process of its own on a loopback port; stop() ends it."""

    def __init__(self, port: int):
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "MotoServer":
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        local_process.wait_until_listening(self.process, self.port, "moto's server")
        return self

    def stop(self) -> None:
        local_process.stop(self.process)


class JobsQueue:
    """The jobs queue (see the module docstring): takes the app's SendMessage calls on the shared
    SQS client, hands due messages to `receive`, forgets them on `delete`."""

    def __init__(self):
        self._due: list[tuple[float, int, str]] = []  # (visible at, order, message id)
        self._bodies: dict[str, str] = {}
        self._order = itertools.count()
        self._ready = threading.Condition()
        self.booked = 0  # messages that carry a reserved moment: jobs waiting for it on the queue

    def attach(self, sqs_client) -> None:
        events = sqs_client.meta.events
        events.register("before-parameter-build.sqs.SendMessage", self._note_params)
        events.register("before-call.sqs.SendMessage", self._send_message)

    @staticmethod
    def _note_params(params, context, **_):
        context["bench_params"] = dict(params)  # validated; before-call sees only the serialized request

    def _send_message(self, context, **_):
        params = context["bench_params"]
        message_id = str(uuid.uuid4())
        self.put(message_id, params["MessageBody"], int(params.get("DelaySeconds", 0)))
        if json.loads(params["MessageBody"])["job"].get("send_slot"):
            self.booked += 1
        # A response short-circuits botocore: the call returns this instead of going out.
        return SimpleNamespace(status_code=200, headers={}), {"MessageId": message_id}

    def put(self, message_id: str, body: str, delay: float) -> None:
        with self._ready:
            self._bodies[message_id] = body
            heapq.heappush(self._due, (time.time() + delay, next(self._order), message_id))
            self._ready.notify()

    def receive(self, wait: float) -> dict | None:
        """A due message (now invisible for the visibility timeout), or None after `wait` seconds."""
        deadline = time.time() + wait
        with self._ready:
            while True:
                now = time.time()
                while self._due and self._due[0][2] not in self._bodies:
                    heapq.heappop(self._due)  # deleted meanwhile
                if self._due and self._due[0][0] <= now:
                    _, _, message_id = heapq.heappop(self._due)
                    heapq.heappush(self._due, (now + VISIBILITY_TIMEOUT, next(self._order), message_id))
                    body = self._bodies[message_id]
                    return {"MessageId": message_id, "ReceiptHandle": message_id, "Body": body,
                            "MD5OfBody": hashlib.md5(body.encode()).hexdigest(), "Attributes": {}}
                if now >= deadline:
                    return None
                self._ready.wait(min(deadline, self._due[0][0] if self._due else deadline) - now)

    def delete(self, receipt_handle: str) -> None:
        with self._ready:
            self._bodies.pop(receipt_handle, None)

    def __len__(self) -> int:
        with self._ready:
            return len(self._bodies)


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _configure(moto_endpoint: str, rate: float, workers: int) -> None:
    """This process's app settings for the run; DynamoDB stays on the bench's DynamoDB Local."""
    from botocore.config import Config

    from chalicelib.platform import aws
    from chalicelib.platform import settings as config

    os.environ.update({
        "AWS_ENDPOINT_URL": moto_endpoint, "CLOSELOOP_TABLE_NAME": f"{TABLE}-send-rate",
        "CLOSELOOP_JOBS_QUEUE_URL": QUEUE_URL,
        "CLOSELOOP_SENDER_EMAIL": SENDER, "CLOSELOOP_POSTAL_ADDRESS": "1 Bench Street, Springfield",
        "CLOSELOOP_SEND_DELAY_SECONDS": "0", "CLOSELOOP_REMINDER_AFTER_SECONDS": "0",
        "CLOSELOOP_EMAIL_MAX_PER_SECOND": str(rate),
    })
    # Each Lambda has clients of its own; here every simulated one shares this process's, whose
    # connection pool must then hold one connection per handler (the default 10 would churn sockets).
    aws._CLIENT_CONFIG = aws._CLIENT_CONFIG.merge(Config(max_pool_connections=workers + 16))
    config.reset_settings()
    aws.reset_clients()


def _accept(app, run: Run, threads: int) -> None:
    """POST /v1/interactions through the Lambda handler, one distinct customer each (the bearer
    authorizer is API Gateway's business, not the handler's)."""
    context = LambdaContext()
    stamp = int(time.time())
    lock = threading.Lock()

    def post(number: int) -> str:
        body = {"interaction_id": f"bench-{stamp}-{number}", "survey": "csat", "channel": "email",
                "customer": {"id": f"cus-{stamp}-{number}", "email": f"customer{number}@example.com", "name": "Ada"},
                "agent": {"id": "agt-7", "name": "Sam"}, "team": "billing"}
        response = app(rest_event("POST", "/v1/interactions", {}, body=body), context)
        if response["statusCode"] == 200:
            # The interaction was already there when its write was tried: a retried call found its
            # own first attempt (seen once under load on DynamoDB Local). The API says so; the survey
            # is the same one, so nothing is lost or doubled. Counted, not hidden.
            with lock:
                run.accepted_on_retry += 1
        elif response["statusCode"] != 202:
            raise RuntimeError(f"an interaction was not accepted: {response['statusCode']} {response['body']}")
        return json.loads(response["body"])["survey_id"]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        run.accepted = list(pool.map(post, range(run.burst)))
    run.accept_seconds = time.perf_counter() - started


def _time_sends(run: Run) -> None:
    """Note each SendEmail SES accepted: when its request left and its answer came, and whose
    survey it carried. A handler thread makes one call at a time, so a thread-local carries the
    request's time to its answer (botocore's before-send has no call context)."""
    from chalicelib.platform import aws

    lock, call = threading.Lock(), threading.local()

    def survey_of(params, context, **_):
        found = SURVEY_HEADER.search(params["Content"]["Raw"]["Data"])
        context["closeloop_survey"] = found.group(1).decode() if found else "?"

    def request_leaves(**_):
        call.requested = time.time()  # the last try's, if botocore retried

    def answer_comes(http_response, context, **_):
        if http_response.status_code == 200:
            with lock:
                run.sends.append(Send(call.requested, time.time(), context.get("closeloop_survey", "?")))

    events = aws.client("sesv2").meta.events
    events.register("before-parameter-build.sesv2.SendEmail", survey_of)
    events.register("before-send.sesv2.SendEmail", request_leaves)
    events.register("after-call.sesv2.SendEmail", answer_comes)

    def rate_item_write(params, **_):
        if params.get("Key", {}).get("pk", {}).get("S", "").startswith("SENDRATE#"):
            with lock:
                run.rate_writes.append(time.time())

    aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb.UpdateItem", rate_item_write)


def _drain(run: Run, queue: JobsQueue, timeout: float) -> None:
    """`run.workers` threads, each a Lambda of the queue handler, until every survey went out."""
    import app as app_module

    stopping, lock = threading.Event(), threading.Lock()

    def handler_loop(index: int) -> None:
        context = LambdaContext()
        while not stopping.is_set():
            message = queue.receive(wait=0.5)
            if message is None:
                continue
            event = {"Records": [{
                "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"], "attributes": {}, "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1"}]}
            with lock:
                run.deliveries += 1
            try:
                app_module.handle_job(event, context)
            except Exception as error:  # noqa: BLE001 - like Lambda: the message comes back after the timeout
                with lock:
                    run.handler_errors += 1
                _progress(f"send rate: a handler raised {type(error).__name__}: {error}; redelivered in "
                          f"{VISIBILITY_TIMEOUT} s")
                continue
            queue.delete(message["ReceiptHandle"])

    threads = [threading.Thread(target=handler_loop, args=(i,), daemon=True) for i in range(run.workers)]
    run.drain_started = time.time()
    for thread in threads:
        thread.start()
    deadline, last_report = time.monotonic() + timeout, time.monotonic()
    wanted = set(run.accepted)
    try:
        while not wanted <= {send.survey_id for send in list(run.sends)}:
            if time.monotonic() > deadline:
                run.timed_out = True
                break
            if time.monotonic() - last_report >= 15:
                last_report = time.monotonic()
                _progress(f"send rate: {len(run.sends)}/{run.burst} sent after {time.time() - run.drain_started:.0f} s")
            time.sleep(0.2)
        time.sleep(2)  # anything still in flight (a duplicate would show here)
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=5)
    run.left_on_queue = len(queue)
    run.queue_waits = queue.booked


def _tally(run: Run) -> None:
    from chalicelib.platform import aws
    from chalicelib.platform.settings import get_settings

    run.provider_recipients = int(aws.client("ses").get_send_quota()["SentLast24Hours"])
    db = aws.client("dynamodb")
    kwargs = {"TableName": get_settings().table_name, "ProjectionExpression": "sk, #s",
              "ExpressionAttributeNames": {"#s": "status"}}
    while True:
        page = db.scan(**kwargs)
        for item in page["Items"]:
            if item["sk"]["S"] == "SURVEY":
                run.statuses[item["status"]["S"]] += 1
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def measure(burst: int, rate: float, workers: int, accept_threads: int = 8) -> Run:
    from devstack.dynamodb_local import free_port

    run = Run(burst=burst, rate=rate, workers=workers)
    moto = MotoServer(free_port()).start()
    try:
        _configure(moto.endpoint, rate, workers)
        from app import app
        from chalicelib.platform import aws
        from chalicelib.platform.settings import get_settings
        from chalicelib.storage.schema import create_table

        create_table(get_settings().table_name)
        aws.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        queue = JobsQueue()
        queue.attach(aws.client("sqs"))

        _progress(f"send rate: accepting {burst} interactions ({accept_threads} threads)")
        _accept(app, run, accept_threads)
        _time_sends(run)
        _progress(f"send rate: draining with {workers} concurrent handlers at {rate:g}/s "
                  f"(about {burst / rate:.0f} s)")
        _drain(run, queue, timeout=3 * burst / rate + 120)
        _tally(run)
    finally:
        moto.stop()
    return run
