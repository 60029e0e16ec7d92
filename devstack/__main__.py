"""`make run`: the whole product on this machine, no AWS account needed.

- DynamoDB Local (AWS's engine, via Java) holds the table; moto emulates SES, SNS, SQS and
  EventBridge (the lifecycle events' bus).
- The app is served by chalice's local server, stage `local`, on 127.0.0.1:8000.
- A pump runs the queue handler, as Lambda's event source mapping would, and the scheduled
  escalation handler every 2 s (every minute on AWS).
- The outbox on 127.0.0.1:8001 shows every email, SMS, alert, webhook and lifecycle event the app sent.
  POST /sms/inbound there plays a customer texting back (a second pump feeds the SNS handler).
- The helpdesk webhooks get random secrets each start, shown in the banner and written to
  .cache/devstack.json; `python -m devstack.sign` posts a signed fixture with them.
- A fake of each helpdesk's API (devstack/helpdesks.py) takes the ticket write-backs; the outbox
  shows each as channel "helpdesk".
- With --demo (what `make run` passes): 90 days of demo surveys, responses and follow-ups and a
  demo lead, seeded in the background after the banner (devstack/demo.py); nothing is sent.
Ctrl-C stops everything, including the Java process.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from devstack import HELPDESK_SECRETS, LOCAL_SLACK_SECRET, SLACK_SECRET, STATE_FILE
from devstack.servers import app_server

ROOT = Path(__file__).resolve().parent.parent


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the app (chalice local)")
    parser.add_argument("--outbox-port", type=int, default=8001)
    parser.add_argument("--moto-port", type=int, default=0, help="0: any free port")
    parser.add_argument("--dynamodb-port", type=int, default=0, help="0: any free port")
    parser.add_argument("--helpdesks-port", type=int, default=0, help="the fake helpdesk APIs; 0: any free port")
    parser.add_argument("--demo", action="store_true",
                        help="seed 90 days of demo surveys, responses and follow-ups (devstack/demo.py)")
    return parser.parse_args()


def _stage_environment() -> dict:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return {**config.get("environment_variables", {}),
            **config["stages"]["local"].get("environment_variables", {})}


def main() -> int:
    args = _arguments()
    # First of all, so that a Ctrl-C during startup still stops whatever has started.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    # Each detractor decision as it is taken (alerted, still busy, not a detractor, retracted).
    logging.getLogger("chalicelib.followups.detractors").setLevel(logging.INFO)
    from devstack.dynamodb_local import DynamoDBLocal, free_port, java_available

    api_key = os.environ.get("CLOSELOOP_API_KEY") or "local-dev-key"
    moto_port = args.moto_port or free_port()
    moto_url = f"http://127.0.0.1:{moto_port}"
    # Fake credentials and local endpoints for every AWS client of this process.
    os.environ.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=moto_url, AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled")
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)

    from moto.server import ThreadedMotoServer

    stoppers = []
    try:
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        stoppers.append(moto.stop)
        if java_available():
            dynamodb = DynamoDBLocal(args.dynamodb_port or None).start()
            stoppers.append(dynamodb.stop)
            os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb.endpoint
            table_engine = f"DynamoDB Local at {dynamodb.endpoint}"
        else:
            table_engine = "moto (Java not found: install Java 17 to use DynamoDB Local)"
        return _serve(args, api_key, table_engine, stoppers, stop)
    finally:
        for stop in reversed(stoppers):
            try:
                stop()
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass


def _serve(args, api_key: str, table_engine: str, stoppers: list, stop: threading.Event) -> int:
    from devstack import outbox as outbox_module
    from devstack import resources
    from devstack.pump import Pump, Schedule, sns_event

    public_url = f"http://{args.host}:{args.port}"
    environment = _stage_environment()
    os.environ.update(environment)
    created = resources.create(environment["CLOSELOOP_TABLE_NAME"], environment["CLOSELOOP_SENDER_EMAIL"], api_key)
    if args.demo:
        from devstack import demo
        demo.add_demo_lead()  # before the routing's leads: the demo lead holds "sam"
    resources.add_routing_leads()
    os.environ.update(
        CLOSELOOP_JOBS_QUEUE_URL=created.jobs_queue_url, CLOSELOOP_ALERT_TOPIC_ARN=created.alert_topic_arn,
        CLOSELOOP_PUBLIC_URL=public_url,
        CLOSELOOP_ALERT_WEBHOOK_URL=os.environ.get("CLOSELOOP_ALERT_WEBHOOK_URL")
        or f"http://{args.host}:{args.outbox_port}{outbox_module.WEBHOOK_PATH}",
        CLOSELOOP_ESCALATION_TOPIC_ARN=created.escalation_topic_arn,
        CLOSELOOP_EVENT_BUS_NAME=created.event_bus_name,  # lifecycle events: the outbox's channel "event"
        CLOSELOOP_ESCALATION_WEBHOOK_URL=os.environ.get("CLOSELOOP_ESCALATION_WEBHOOK_URL")
        or f"http://{args.host}:{args.outbox_port}{outbox_module.ESCALATION_WEBHOOK_PATH}",
        # Dev only: a fresh secret each start; the outbox shows the signature headers it produces.
        CLOSELOOP_WEBHOOK_SIGNING_SECRET=os.environ.get("CLOSELOOP_WEBHOOK_SIGNING_SECRET")
        or secrets.token_urlsafe(24),
    )
    # The same for the helpdesk webhooks, which answer 404 without one (unless given in the environment).
    os.environ.update({name: os.environ.get(name) or secrets.token_urlsafe(24) for name in HELPDESK_SECRETS.values()})
    os.environ[SLACK_SECRET] = os.environ.get(SLACK_SECRET) or LOCAL_SLACK_SECRET
    from chalicelib.platform import settings

    settings.reset_settings()

    outbox = outbox_module.Outbox(created.alert_topic_arn, created.escalation_topic_arn)
    outbox.sms_replies_topic_arn = created.sms_replies_topic_arn
    outbox.event_queue_url, outbox.event_bus_name = created.event_queue_url, created.event_bus_name
    outbox_server = outbox_module.make_server(outbox, args.host, args.outbox_port)
    threading.Thread(target=outbox_server.serve_forever, daemon=True, name="outbox").start()
    stoppers.append(outbox_server.shutdown)
    helpdesks = _start_fake_helpdesks(outbox, args.host, args.helpdesks_port)
    stoppers.append(helpdesks.stop)

    from chalice.cli.factory import CLIFactory
    from chalice.local import ChaliceRequestHandler

    # Without this every kept-alive request waits ~40 ms (Nagle against delayed ACKs).
    ChaliceRequestHandler.disable_nagle_algorithm = True
    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    chalice_config = factory.create_config_obj(chalice_stage_name="local")
    app = factory.load_chalice_app(environment_variables=chalice_config.environment_variables)
    http_server = app_server(factory, app, chalice_config, args.host, args.port)
    threading.Thread(target=http_server.server.serve_forever, daemon=True, name="chalice-local").start()
    stoppers.append(http_server.shutdown)

    import importlib

    # The module-level handler, the same function Lambda's SQS event source would call.
    app_module = importlib.import_module("app")
    pump = Pump(app_module.handle_job, created.jobs_queue_url).start()
    stoppers.append(pump.stop)
    # Inbound SMS: the replies topic's queue, delivered to the SNS handler as SNS would invoke it.
    sms_pump = Pump(app_module.handle_sms_reply, created.sms_replies_queue_url, workers=1, event=sns_event,
                    name="handle_sms_reply").start()
    stoppers.append(sms_pump.stop)
    # The scheduled handler, as its EventBridge rule would invoke it (every minute on AWS).
    schedule = Schedule(app_module.escalate_overdue, "escalate_overdue").start()
    stoppers.append(schedule.stop)

    STATE_FILE.parent.mkdir(exist_ok=True)
    # Lets `python -m ops --stage local ...` reach this stack's emulated AWS, and devstack.sign sign
    # with its secrets; readable by this user only, as it holds them.
    STATE_FILE.touch(mode=0o600)
    STATE_FILE.chmod(0o600)
    STATE_FILE.write_text(json.dumps({"environment": {k: v for k, v in os.environ.items()
                                                      if k.startswith(("AWS_", "CLOSELOOP_"))}}))
    stoppers.append(lambda: STATE_FILE.unlink(missing_ok=True))
    hooks = "\n".join(f"    {product:<10}{os.environ[name]}" for product, name in HELPDESK_SECRETS.items())

    print(f"""
closeloop is running (stage local)
  app       {public_url}
  outbox    http://{args.host}:{args.outbox_port}/   (JSON: /outbox.json)
  table     {table_engine}
  AWS       moto at {os.environ['AWS_ENDPOINT_URL']} (SES, SNS, SQS, EventBridge)
  API key   {api_key}
  helpdesk webhook secrets (random each start), for {public_url}/v1/webhooks/<helpdesk>:
{hooks}
  helpdesk APIs (fakes; write-backs show in the outbox as "helpdesk"): {os.environ['CLOSELOOP_ZENDESK_API_URL'][:-8]}
  Slack signing secret, for {public_url}/v1/slack/actions: {os.environ[SLACK_SECRET]}

Try it:
  curl -s -X POST {public_url}/v1/interactions \\
    -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json' \\
    -d '{{"interaction_id": "demo-1", "customer": {{"id": "cus_1", "email": "ada@example.com", "name": "Ada"}},
         "agent": {{"id": "agt_7", "name": "Sam"}}, "team": "billing"}}'
Then open the outbox and click a score. Ctrl-C stops everything.
A customer texting back (STOP, HELP, START, a score such as 8):
  curl -s -X POST http://{args.host}:{args.outbox_port}/sms/inbound -d '{{"from": "+14155550123", "body": "8"}}'
A helpdesk webhook, signed with the secret above (Zendesk's "ticket solved"):
  .venv/bin/python -m devstack.sign zendesk tests/fixtures/helpdesks/zendesk-solved.json
A lead pressing a button of a detractor's Slack message (the update lands in the outbox):
  .venv/bin/python -m devstack.sign slack FOLLOWUP_ID --action claim
More keys: .venv/bin/python -m ops keys create --name zendesk
Leads sign in at {public_url}/signin (the link arrives in the outbox); add one with
  .venv/bin/python -m ops leads add you@example.com --owner sam
""", flush=True)
    if args.demo:
        _start_demo(public_url)

    stop.wait()
    print("\nstopping closeloop...", flush=True)
    return 0


def _start_fake_helpdesks(outbox, host: str, port: int):
    """The fake helpdesk APIs the ticket write-back writes to (devstack/helpdesks.py); each note shows
    in the outbox as channel "helpdesk". Set before the app loads, so the local stage points at them."""
    from chalicelib.platform import settings
    from devstack.helpdesks import FakeHelpdesks

    def to_outbox(helpdesk: str, ticket: str, text: str, tags: list[str]) -> None:
        outbox.add(f"helpdesk:{secrets.token_hex(8)}", "helpdesk", f"{helpdesk}:{ticket}", text,
                   headers={"tags": " ".join(tags)})

    fakes = FakeHelpdesks(to_outbox, host, port).start()
    local = {"CLOSELOOP_ZENDESK_API_URL": fakes.url("zendesk"), "CLOSELOOP_ZENDESK_EMAIL": "agent@example.com",
             "CLOSELOOP_ZENDESK_API_TOKEN": "local-zendesk-token",
             "CLOSELOOP_FRESHDESK_API_URL": fakes.url("freshdesk"),
             "CLOSELOOP_FRESHDESK_API_KEY": "local-freshdesk-key",
             "CLOSELOOP_INTERCOM_API_URL": fakes.url("intercom"), "CLOSELOOP_INTERCOM_ADMIN_ID": "991267618",
             "CLOSELOOP_INTERCOM_ACCESS_TOKEN": "local-intercom-token"}
    os.environ.update(local)  # always the fakes: a real helpdesk's token must never meet the local stack
    settings.reset_settings()
    return fakes


def _start_demo(public_url: str) -> None:
    """Add the demo lead now and seed the demo data in the background (15-40 s), so the
    app answers at once; the reports fill in when the seeding prints that it is done."""
    from devstack import demo

    email = demo.add_demo_lead()
    print(f"demo lead: {email} — sign in at {public_url}/signin", flush=True)

    def seed() -> None:
        try:
            seeded = demo.seed()
        except Exception as error:  # noqa: BLE001 - the stack keeps running without the demo data
            print(f"demo data: seeding failed: {type(error).__name__}: {error}", flush=True)
            return
        if seeded:
            followups = ", ".join(f"{n} {state}" for state, n in sorted(seeded.followups.items()))
            print(f"demo data: {seeded.surveys} surveys over {demo.DAYS} days, {seeded.responses} responses, "
                  f"follow-ups: {followups} ({seeded.seconds:.1f} s)", flush=True)

    print("demo data: seeding in the background...", flush=True)
    threading.Thread(target=seed, daemon=True, name="demo-seed").start()


if __name__ == "__main__":
    sys.exit(main())
