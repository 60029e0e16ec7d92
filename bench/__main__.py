"""`python -m bench`: start DynamoDB Local, measure, print one table of figures, stop it."""
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
    return parser.parse_args()


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main() -> int:
    args = _arguments()
    from devstack.dynamodb_local import DynamoDBLocal

    from bench import calls, coldstart, report, throughput
    from bench.env import ROOT, TABLE, apply_in_process
    from bench.fixtures import new_survey

    began = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    _progress("starting DynamoDB Local")
    dynamodb = DynamoDBLocal()
    try:
        dynamodb.start()
        apply_in_process(dynamodb.endpoint)
        from app import app
        from chalicelib import aws, storage

        client = aws.client("dynamodb")
        storage.create_table(TABLE, client)
        store = storage.get_store()
        token = new_survey(store, 0).token
        # Also warms DynamoDB Local's JVM before anything is timed.
        _progress(f"preparing {args.warmup + args.surveys} surveys, each with a page view")
        prepared, opened_at = throughput.prepare(store, args.warmup + args.surveys)

        with tempfile.TemporaryDirectory(prefix="bench-minimal-app-") as app_folder, \
                tempfile.TemporaryDirectory(prefix="bench-bytecode-") as cache_folder:
            minimal_dir = coldstart.write_minimal_app(Path(app_folder))
            caches = coldstart.prepare_caches(Path(cache_folder), token, dynamodb.endpoint, minimal_dir)
            variants = {"bytecode cached": caches.everything, "zip without .pyc": caches.runtime_only,
                        "no bytecode at all": None}
            cold, imports = {}, {}
            for label, pycache in variants.items():
                _progress(f"cold start, {label}: {args.runs} runs x 2 apps")
                cold[label] = coldstart.measure(token, dynamodb.endpoint, minimal_dir, args.runs, pycache)
            if args.importtime_runs:
                _progress(f"-X importtime: {args.importtime_runs} runs x 2 apps x {len(variants)} variants")
                for label in variants:
                    for name, app_dir in (("closeloop", ROOT), ("minimal", minimal_dir)):
                        imports[(label, name)] = coldstart.import_breakdown(
                            app_dir, token, dynamodb.endpoint, variants[label], args.importtime_runs)

        _progress(f"counting DynamoDB requests over {args.count_surveys} surveys")
        phases = calls.measure(app, store, client, args.count_surveys)
        _progress(f"throughput: {args.surveys} confirms, then {args.surveys} bare PutItems")
        closeloop_rate, bare_rate = throughput.measure(app, client, prepared, opened_at, args.warmup)
    finally:
        dynamodb.stop()

    report.print_report(
        runs=args.runs, cold=cold, imports=imports, phases=phases, closeloop_rate=closeloop_rate,
        bare_rate=bare_rate, warmup=args.warmup, elapsed=time.perf_counter() - began,
        setting=f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {load_at_start:.2f} at start, "
                "DynamoDB Local on loopback",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
