"""`python -m bench`: start DynamoDB Local, measure, print the tables of figures, stop it.

Five sections: responses (cold start, DynamoDB requests per response, responses per second),
reports (what a report costs at 1,000 and at 100,000 responses over 90 days), cost (AWS cost per
1,000 surveys by channel, from the requests a run of the survey loop makes), send rate (a burst
of accepted interactions sent at the configured SES rate) and themes (the keyword tagger's
precision and recall on labelled comments, bench/themes.py; it needs no DynamoDB); `--only` picks one.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="cold starts per app and variant (median; default 7)")
    parser.add_argument("--surveys", type=int, default=300, help="responses timed for throughput (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls before each throughput loop")
    parser.add_argument("--count-surveys", type=int, default=20, help="surveys whose requests are counted")
    parser.add_argument("--importtime-runs", type=int, default=3,
                        help="-X importtime runs per app and variant for the breakdown (0 skips it)")
    parser.add_argument("--only", choices=("responses", "reports", "cost", "send-rate", "themes"),
                        help="run one section (default: all five)")
    parser.add_argument("--cost-runs", type=int, default=3, help="cost: measured runs of each outcome (mean)")
    parser.add_argument("--surveys-per-month", type=int, default=10_000,
                        help="cost: monthly volume the every-minute schedule (escalation, timers) is shared over")
    parser.add_argument("--detractor-share", type=float, default=0.20,
                        help="cost: share of the answered surveys that are detractors (an assumption)")
    parser.add_argument("--comment-share", type=float, default=0.20,
                        help="cost: share of the answered surveys that are not detractors but leave a comment")
    parser.add_argument("--report-sizes", default="1000,100000",
                        help="reports: responses over 90 days, comma-separated (default 1000,100000)")
    parser.add_argument("--report-runs", type=int, default=5, help="reports: timed runs per report (median)")
    parser.add_argument("--burst", type=int, default=10_000,
                        help="send rate: interactions accepted at once (default 10000)")
    parser.add_argument("--send-rate", type=float, default=50,
                        help="send rate: CLOSELOOP_EMAIL_MAX_PER_SECOND for the run (default 50)")
    parser.add_argument("--workers", type=int, default=48,
                        help="send rate: concurrent queue handlers, as Lambda concurrency (default 48); past "
                             "about 2 x the rate, jobs wait for their moments on the queue rather than in a handler")
    return parser.parse_args()


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main() -> int:
    args = _arguments()
    if args.only == "themes":
        return _themes()
    from bench import report, send_rate
    from bench.env import apply_in_process
    from devstack.dynamodb_local import DynamoDBLocal

    began = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    _progress("starting DynamoDB Local")
    dynamodb = DynamoDBLocal()
    responses = run = report_costs = costs = None
    try:
        dynamodb.start()
        apply_in_process(dynamodb.endpoint)
        if args.only in (None, "responses"):
            responses = _responses(args, dynamodb)
        if args.only in (None, "reports"):
            from bench import report_cost

            reports_began = time.perf_counter()
            sizes = tuple(int(size) for size in args.report_sizes.split(","))
            report_costs = report_cost.measure(sizes, args.report_runs, _progress)
            reports_elapsed = time.perf_counter() - reports_began
        if args.only in (None, "cost"):
            from bench import cost

            cost_began = time.perf_counter()
            costs = cost.measure(args.cost_runs, _progress)
            cost_elapsed = time.perf_counter() - cost_began
        if args.only in (None, "send-rate"):
            send_rate_began = time.perf_counter()
            run = send_rate.measure(args.burst, args.send_rate, args.workers)
            send_rate_elapsed = time.perf_counter() - send_rate_began
    finally:
        dynamodb.stop()

    setting = (f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {load_at_start:.2f} at start, "
               "DynamoDB Local on loopback")
    if responses is not None:
        report.print_report(**responses, elapsed=time.perf_counter() - began, setting=setting)
    else:
        print(f"closeloop benchmark ({setting})")
    if report_costs is not None:
        report.print_report_cost(report_costs, reports_elapsed)
    if costs is not None:
        cost.print_cost(costs, cost.load_prices(), args.surveys_per_month, args.detractor_share,
                        args.comment_share, cost_elapsed)
    if run is not None:
        report.print_send_rate(run, send_rate_elapsed)
    if args.only is None:
        _themes()
    return 0


def _themes() -> int:
    from bench import themes

    themes.print_themes(themes.measure())
    return 0


def _responses(args: argparse.Namespace, dynamodb) -> dict:
    """Cold start, DynamoDB requests per response, responses per second: print_report's figures."""
    from app import app
    from bench import calls, coldstart, throughput
    from bench.env import ROOT, TABLE
    from bench.fixtures import new_survey
    from chalicelib.platform import aws
    from chalicelib.storage.schema import create_table
    from chalicelib.surveys import SurveyRepository

    client = aws.client("dynamodb")
    create_table(TABLE, client)
    store = SurveyRepository()
    token = new_survey(store, 0).token
    # Also warms DynamoDB Local's JVM before anything is timed.
    _progress(f"preparing {args.warmup + args.surveys} surveys, each with a page view")
    prepared, opened_at = throughput.prepare(store, args.warmup + args.surveys)

    with tempfile.TemporaryDirectory(prefix="bench-minimal-app-") as app_folder, \
            tempfile.TemporaryDirectory(prefix="bench-bytecode-") as cache_folder:
        minimal_dir = coldstart.write_minimal_app(Path(app_folder))
        caches = coldstart.prepare_caches(Path(cache_folder), token, dynamodb.endpoint, minimal_dir)
        _progress("building the prod zip as `make package` does, unpacked read-only")
        packaged = coldstart.packaged_apps(Path(cache_folder) / "package")
        # label -> (bytecode, closeloop's folder, the minimal app's folder)
        variants = {"packaged zip, read-only": (coldstart.PACKAGED, packaged.closeloop, packaged.minimal),
                    "bytecode cached": (caches.everything, ROOT, minimal_dir),
                    "zip without .pyc": (caches.runtime_only, ROOT, minimal_dir),
                    "no bytecode at all": (None, ROOT, minimal_dir)}
        cold, imports = {}, {}
        try:
            for label, (pycache, closeloop_dir, minimal_app) in variants.items():
                _progress(f"cold start, {label}: {args.runs} runs x 2 apps")
                cold[label] = coldstart.measure(token, dynamodb.endpoint, minimal_app, args.runs, pycache,
                                                closeloop_dir)
            if args.importtime_runs:
                _progress(f"-X importtime: {args.importtime_runs} runs x 2 apps x {len(variants)} variants")
                for label, (pycache, closeloop_dir, minimal_app) in variants.items():
                    for name, app_dir in (("closeloop", closeloop_dir), ("minimal", minimal_app)):
                        imports[(label, name)] = coldstart.import_breakdown(
                            app_dir, token, dynamodb.endpoint, pycache, args.importtime_runs)
        finally:
            coldstart.read_only(packaged.closeloop, writable=True)
            coldstart.read_only(packaged.minimal, writable=True)

    _progress(f"counting DynamoDB requests over {args.count_surveys} surveys")
    phases = calls.measure(app, store, client, args.count_surveys)
    _progress(f"throughput: {args.surveys} confirms, then {args.surveys} bare PutItems")
    closeloop_rate, bare_rate = throughput.measure(app, client, prepared, opened_at, args.warmup)
    return dict(runs=args.runs, cold=cold, imports=imports, phases=phases, closeloop_rate=closeloop_rate,
                bare_rate=bare_rate, warmup=args.warmup, packaged=packaged)


if __name__ == "__main__":
    sys.exit(main())
