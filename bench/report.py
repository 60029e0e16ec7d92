"""One compact table of figures, then one line per figure saying what was measured."""
from __future__ import annotations

import textwrap

WIDTHS = (42, 12, 12, 8)


def _row(cells, widths=WIDTHS) -> str:
    first, *rest = cells
    return "  " + first.ljust(widths[0]) + "".join(c.rjust(w) for c, w in zip(rest, widths[1:]))


def _table(rows, widths=WIDTHS) -> None:
    print(_row(rows[0], widths))
    print("  " + "-" * sum(widths))
    for row in rows[1:]:
        print(_row(row, widths))


def print_report(*, runs, cold, imports, phases, closeloop_rate, bare_rate, warmup, elapsed, setting,
                 packaged) -> None:
    rows = [("figure", "closeloop", "baseline", "ratio")]
    for label, samples in cold.items():
        rows.append((f"cold start, {label}", f"{samples.median('closeloop'):.0f} ms",
                     f"{samples.median('minimal'):.0f} ms",
                     f"{samples.ratio:.2f}x"))
    packed = cold["packaged zip, read-only"]
    rows.append(("  import of the packaged app", f"{packed.median('closeloop', 'import_ms'):.0f} ms",
                 f"{packed.median('minimal', 'import_ms'):.0f} ms",
                 f"{packed.median('closeloop', 'import_ms') / packed.median('minimal', 'import_ms'):.2f}x"))
    for name in ("first response", "changed response", "page view"):
        rows.append((f"DynamoDB requests per {name}", f"{phases[name].per_item:.2f}", "", ""))
    rows.append(("responses recorded per second", f"{closeloop_rate.per_second:.0f} /s",
                 f"{bare_rate.per_second:.0f} /s", f"{closeloop_rate.per_second / bare_rate.per_second:.2f}x"))
    rows.append(("  median time per call", f"{closeloop_rate.median_ms:.2f} ms", f"{bare_rate.median_ms:.2f} ms",
                 f"{closeloop_rate.median_ms / bare_rate.median_ms:.2f}x"))
    rows.append(("  of it in DynamoDB requests (mean)", f"{closeloop_rate.requests_ms:.2f} ms",
                 f"{bare_rate.requests_ms:.2f} ms", f"{closeloop_rate.requests_ms / bare_rate.requests_ms:.2f}x"))
    rows.append(("  the handler's own work (mean)", f"{closeloop_rate.own_ms:.2f} ms", f"{bare_rate.own_ms:.2f} ms",
                 f"{closeloop_rate.own_ms / bare_rate.own_ms:.2f}x" if bare_rate.own_ms > 0.005 else "-"))

    print(f"closeloop benchmark ({setting})")
    print()
    _table(rows)

    _breakdown(cold, imports)

    spread = "; ".join(f"{label}: closeloop {_span(s.closeloop)}, minimal {_span(s.minimal)}"
                       for label, s in cold.items())
    first, changed, view = phases["first response"], phases["changed response"], phases["page view"]
    lines = [
        f"cold start: median of {runs} runs of wall time from spawning a fresh Python until it exits; it imports "
        "app.py and serves its first GET /s/{token}/4 of a real survey through app.app(event, context) "
        "(GetItem, PutItem of the page view, Jinja2 landing page). Baseline: a minimal Chalice app importing "
        "boto3, pydantic.BaseModel and jinja2.Environment that does one PutItem. The two apps alternate.",
        f"packaged zip, read-only: the prod stage's zip as `make package` builds it ({packaged.zip_bytes / 1e6:.1f} "
        f"MB, {packaged.modules} modules, each with unchecked-hash bytecode, ops/bytecode.py), unpacked into a "
        "folder made read-only as /var/task is, run with the prod stage's settings in the environment; the "
        "baseline app on the same zip's dependencies, compiled the same way (pydantic_core: this machine's "
        "build stands in for the zip's arm64 one, in both). Its import row: `from app import app` alone.",
        "bytecode cached: .pyc for every module, written by an untimed first run. zip without .pyc: "
        "stdlib and boto3/botocore compiled (as the Lambda runtime provides them) but app.py, chalicelib, "
        "chalice, pydantic and jinja2 compiled from source, as a Chalice zip ships no .pyc and /var/task is "
        "read-only. no bytecode at all: a fresh empty PYTHONPYCACHEPREFIX and PYTHONDONTWRITEBYTECODE=1 per "
        "run, so the stdlib is compiled too (an upper bound).",
        f"cold start spread, min-max: {spread}.",
        "DynamoDB requests: botocore calls counted on the shared dynamodb client ('before-call.dynamodb') "
        "around the handler's confirm (POST /s/{token}/{score} with the page view's open_id), over "
        f"{first.count} surveys: first response = CSAT 4 ({first.breakdown()}); changed response = CSAT 5 "
        f"confirmed after a new page view of 5 ({changed.breakdown()}); page view = view_page ({view.breakdown()}).",
        f"throughput: {closeloop_rate.calls} distinct surveys, each confirm a first response through "
        "app.app(event, ctx) (Query + TransactWriteItems), one call after another, after "
        f"{warmup} untimed calls. Baseline: a bare handler function doing one PutItem per call with the same "
        "client in the same loop. Ratio = closeloop/baseline. In DynamoDB requests: the time inside the "
        "client's calls (botocore's serialising and parsing, and DynamoDB Local's answer); the handler's own "
        "work: the rest (chalice's routing, validation, rules, JSON).",
    ]
    print()
    for line in lines:
        print(textwrap.fill(line, width=110, initial_indent="- ", subsequent_indent="  "))
    print()
    print(f"(whole run {elapsed:.0f} s)")


def _span(runs) -> str:
    walls = [run.wall_ms for run in runs]
    return f"{min(walls):.0f}-{max(walls):.0f} ms"


SHORT = {"packaged zip, read-only": "packaged", "bytecode cached": "cached", "zip without .pyc": "zip",
         "no bytecode at all": "no .pyc"}


def _breakdown(cold, imports) -> None:
    """Median wall time split into startup, import and first request, the import split by package."""
    columns = [(label, name) for label in cold for name in ("closeloop", "minimal")]
    widths = (32, *([11] * len(columns)))
    print()
    print("  where the cold start goes (ms, medians of the runs above; the import is split by package in")
    print("  proportion to separate -X importtime runs, whose own overhead would inflate it)")
    print(_row(("", *(SHORT.get(label, label) for label, _ in columns)), widths))
    rows = [("", *(name for _, name in columns))]

    def cells(part):
        return tuple(f"{cold[label].median(name, part):.0f}" for label, name in columns)

    rows.append(("python startup", *cells("startup_ms")))
    rows.append(("import app.py", *cells("import_ms")))
    groups = list(next(iter(imports.values()), {}))
    for group in (g for g in groups if g != "all imports"):
        row = []
        for label, name in columns:
            measured = imports.get((label, name))
            if measured is None or not measured["all imports"]:
                row.append("-")
            else:
                share = measured[group] / measured["all imports"]
                row.append(f"{share * cold[label].median(name, 'import_ms'):.0f}")
        rows.append((f"  {group}", *row))
    rows.append(("first request (client+DB+page)", *cells("call_ms")))
    rows.append(("= spawn to response ready", *cells("served_ms")))
    rows.append(("interpreter exit", *cells("exit_ms")))
    rows.append(("= spawn to exit (the figure)", *cells("wall_ms")))
    _table(rows, widths)


def print_send_rate(run, elapsed: float) -> None:
    """The send-rate section: what went out, how fast, and whether anything was lost or doubled."""
    from bench.send_rate import most_in_one_second

    rows = [("figure", "value", "limit", "ratio")]
    # moto counts recipients, and each survey email names its one recipient twice (Destination, To).
    rows.append(("emails sent (moto's own count)", f"{run.sent} ({run.provider_recipients // 2})", "", ""))
    rows.append(("surveys sent twice", f"{run.duplicates}", "", ""))
    rows.append(("surveys never sent (lost)", f"{run.lost}", "", ""))
    rows.append(("interactions answered 200 (already there)", f"{run.accepted_on_retry}", "", ""))
    rows.append(("most SendEmail requests in one clock second", f"{run.most_in_one_second(sliding=False)}",
                 f"{run.rate:g}", ""))
    rows.append(("most SendEmail requests in any 1 s", f"{run.most_in_one_second(sliding=True)}", f"{run.rate:g}", ""))
    rows.append(("  the same, by SES's answers", f"{run.most_in_one_second(sliding=True, answered=True)}", "", ""))
    rows.append(("achieved rate, first to last request", f"{run.achieved_rate:.2f} /s", f"{run.rate:g} /s",
                 f"{run.achieved_rate / run.rate:.3f}"))
    rows.append(("drain time, handlers start to last request", f"{run.drain_seconds:.0f} s",
                 f"{run.burst / run.rate:.0f} s", ""))
    per_send = len(run.rate_writes) / run.sent if run.sent else 0
    rows.append(("rate item writes (per send)", f"{len(run.rate_writes)} ({per_send:.2f})", "", ""))
    rows.append(("  most in one clock second", f"{most_in_one_second(run.rate_writes, sliding=False)}", "1000", ""))
    rows.append(("jobs that waited on the queue", f"{run.queue_waits}", "", ""))
    rows.append(("handler invocations (per send)", f"{run.deliveries} ({run.deliveries / max(run.sent, 1):.2f})",
                 "", ""))

    print()
    print(f"send rate: a burst of {run.burst} accepted interactions, CLOSELOOP_EMAIL_MAX_PER_SECOND={run.rate:g}, "
          f"{run.workers} concurrent handlers")
    print()
    _table(rows, (46, 14, 10, 8))
    statuses = ", ".join(f"{status} {count}" for status, count in sorted(run.statuses.items()))
    lines = [
        f"burst: {run.burst} POST /v1/interactions through app.app(event, ctx) in {run.accept_seconds:.0f} s, "
        "each a distinct customer (a 200 instead of 202: the interaction was already stored when its write was "
        "tried, i.e. a retried call found its own first attempt; the survey is the same one), before any handler ran, so the whole burst is queued at once. Then "
        f"{run.workers} threads, each a Lambda of the queue handler (batch size 1), drained it in real time "
        "against moto's SES (a server process of its own) and DynamoDB Local; the jobs queue is an "
        "in-process stand-in honouring SQS's whole-second delays (see bench/send_rate.py for why).",
        "sends: every SendEmail SES accepted, with the survey id from its X-Closeloop-Survey header; twice = "
        "sends minus distinct surveys; lost = accepted surveys never sent. Requests are timed as they leave "
        "for SES (what its rate limit counts): in one clock second [s, s+1), and in any window [t, t+1) "
        "wherever it starts; the answers' figure adds the emulator's own jitter. Achieved rate: (sends - 1) / "
        "(last request - first request); ideal drain time: burst/rate.",
        "rate item writes: UpdateItems on the channel's rate item (one per reservation, two when the handler's "
        "guess of idle or busy is wrong, plus conditional retries), against DynamoDB's 1,000 writes/s per key. Jobs that waited on the queue: "
        f"re-queued carrying the moment they reserved. Survey statuses at the end: {statuses}. Jobs left on "
        f"the queue: {run.left_on_queue}; handler errors (redelivered): {run.handler_errors}"
        + ("; the run TIMED OUT before every survey went" if run.timed_out else "") + ".",
    ]
    print()
    for line in lines:
        print(textwrap.fill(line, width=110, initial_indent="- ", subsequent_indent="  "))
    print()
    print(f"(send-rate section {elapsed:.0f} s)")


def print_report_cost(run, elapsed: float) -> None:
    """The reports section: one row per group_by, each size's figure and the ratio of the largest
    to the smallest."""
    small, large = run.sizes[0], run.sizes[-1]
    units = "read units" if run.capacity_reported else "read units (computed)"
    print()
    print(f"reports: GET /v1/reports/summary over 90 days of CSAT, "
          f"{small.responses:,} vs {large.responses:,} responses")
    print()
    header = ("group_by", "groups", "ms", "", "ratio", "items read", "", "ratio", units, "", "ratio", "requests")
    widths = (10, 8, 9, 9, 7, 11, 9, 7, 11, 9, 7, 10)
    sizes = ("", "", f"{small.responses:,}", f"{large.responses:,}", "", f"{small.responses:,}",
             f"{large.responses:,}", "", f"{small.responses:,}", f"{large.responses:,}", "", "each")
    rows = [header, sizes]
    for group_by, cost in large.costs.items():
        few = small.costs[group_by]
        rows.append((group_by, f"{cost.groups}", f"{few.median_ms:.1f}", f"{cost.median_ms:.1f}",
                     _ratio(cost.median_ms, few.median_ms), f"{few.items:,}", f"{cost.items:,}",
                     _ratio(cost.items, few.items), f"{few.read_units:.1f}", f"{cost.read_units:.1f}",
                     _ratio(cost.read_units, few.read_units),
                     f"{few.requests}" if few.requests == cost.requests else f"{few.requests}/{cost.requests}"))
    _table(rows, widths)
    loads = "; ".join(f"{size.responses:,} responses: {size.surveys:,} surveys, {size.counter_items:,} counter "
                      f"items, loaded in {size.load_seconds:.0f} s" for size in run.sizes)
    folds = "; ".join(f"{size.responses:,} responses: {c.shard_items:,} shard items folded into {c.groups:,} "
                      f"(days x groups, every dimension), {c.write_units:,.0f} write units, {c.seconds:.1f} s"
                      for size in run.sizes if (c := size.compaction))
    lines = [
        f"data: synthetic CSAT surveys sent at random over 90 days by 6 agents in 3 teams, 70% email, 30% SMS, "
        f"about {100 * 0.4:.0f}% answered, 3% of answers changed, email answers after a page view (the open); "
        f"{loads}.",
        f"loading: NOT through the product's writes ({large.surveys:,} send and {large.responses:,} response "
        f"transactions at ~143/s would take ~{(large.surveys + large.responses) / 143 / 60:.0f} minutes): "
        "each survey's counter changes are computed with the product's own functions "
        "(insight/counters.py: sent_changes, opened_changes, response_changes), summed per counter item in "
        "memory and written with BatchWriteItem. Check: the smallest set written through the real path instead "
        "(SurveyRepository.create, delivery.mark_sent, surveys.keep_view, count_response; "
        f"{run.real_path_seconds:.0f} s) gives identical "
        f"counter items ({run.verified_items:,} compared).",
        f"compaction: the 90 days are closed, and the product's compaction (insight/compaction.py, which the "
        f"schedule runs hourly) folds them before the reports are read: {folds}. Write units as DynamoDB bills "
        "them (bench/write_units.py).",
        f"figures: reports.summary(survey=csat, 90 days) on the table, median of {run.runs} runs after one "
        "counted run; items read = the Queries' Count; read units = the Queries' ConsumedCapacity "
        + ("as DynamoDB Local reports it (eventually consistent reads: 0.5 unit per 4 KB, per Query)"
           if run.capacity_reported else "(not reported by this DynamoDB Local; computed from item sizes)")
        + "; requests = DynamoDB calls of one report (one Query for the closed days' folded items and one per "
        "shard for the open days', more when one pages past 1 MB).",
    ]
    print()
    for line in lines:
        print(textwrap.fill(line, width=110, initial_indent="- ", subsequent_indent="  "))
    print()
    print(f"(reports section {elapsed:.0f} s)")


def _ratio(large: float, small: float) -> str:
    return f"{large / small:.1f}x" if small else "-"
