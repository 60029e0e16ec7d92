"""closeloop ops: manage admin API keys, the suppression ledger and the dashboard's leads of a stage.

  python -m ops keys create --name zendesk [--stage dev]
  python -m ops keys list [--stage dev]
  python -m ops keys revoke cl_AbCd [--stage dev]      (key prefix as listed, or its full hash)
  python -m ops suppressions list [--kind email]
  python -m ops suppressions add email ada@example.com  (reason "manual")
  python -m ops suppressions lift phone +14155550123   (kind: customer, email or phone)
  python -m ops responses export --from 2026-01-01 --to 2026-12-31 [--team billing ...] > responses.csv
  python -m ops responses backfill      (index responses recorded before the responses index existed)
  python -m ops customers backfill      (index surveys stored before erasure could find them by customer)
  python -m ops retention backfill      (give items stored before retention their expires_ttl)
  python -m ops themes backfill         (tag the comments of responses recorded before themes existed)
  python -m ops leads add sam@example.com [--name Sam] [--owner sam]   (may sign in to the dashboard)
  python -m ops leads list
  python -m ops leads remove sam@example.com    (their sessions end at once)
  python -m ops leads link-slack sam@example.com U024BE7LH   (their Slack button presses act as them)
  python -m ops leads digest sam@example.com --off|--on [--weekday mon] [--hour 8] [--timezone Europe/Paris]
  python -m ops digest --lead sam@example.com --now   (send the weekly digest at once, printing it)
  python -m ops --stage dev secrets show-status      (which secrets are set, open overlaps; never a value)
  python -m ops --stage dev secrets rotate freshdesk_webhook_secret [--overlap-hours 24] [--value-from-stdin]
  python -m ops --stage dev secrets end-overlap freshdesk_webhook_secret   (refuse the previous value now)
  python -m ops --stage dev bootstrap [--no-deploy]   (create or update the stage's AWS resources, then deploy)
  python -m ops --stage dev destroy [--delete-data]   (chalice delete, then the resources; data only if asked)

--stage local talks to the running `make run` stack; dev and prod use your AWS credentials and
the table named in .chalice/config.json. The key is printed once, at creation; only its hash
is stored.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE = ROOT / ".cache" / "devstack.json"
# The query parameters of GET /v1/responses.csv that `responses export` takes as options.
_EXPORT_FILTERS = ("from", "to", "survey", "channel", "agent", "team", "min_score", "max_score", "has_comment")


def _use_stage(stage: str) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    if stage not in config["stages"]:
        sys.exit(f"unknown stage {stage!r}; stages: {', '.join(config['stages'])}")
    os.environ.update({**config.get("environment_variables", {}),
                       **config["stages"][stage].get("environment_variables", {})})
    if stage == "local":
        if not LOCAL_STATE.exists():
            sys.exit("the local stack is not running: start it with `make run`")
        os.environ.update(json.loads(LOCAL_STATE.read_text())["environment"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="local")
    commands = parser.add_subparsers(dest="area", required=True)
    keys = commands.add_parser("keys", help="admin API keys").add_subparsers(dest="action", required=True)
    keys.add_parser("create").add_argument("--name", required=True, help="who uses the key, e.g. zendesk")
    keys.add_parser("list")
    keys.add_parser("revoke").add_argument("key", help="the key's prefix as listed, or its full hash")
    ledger = commands.add_parser("suppressions", help="the suppression ledger").add_subparsers(
        dest="action", required=True)
    ledger.add_parser("list").add_argument("--kind", choices=["customer", "email", "phone"])
    for action, text in (("add", "suppress a contact (reason: manual)"), ("lift", "lift a suppression")):
        command = ledger.add_parser(action, help=text)
        command.add_argument("kind", choices=["customer", "email", "phone"])
        command.add_argument("value", help="the customer id, email address or E.164 phone number")
    answers = commands.add_parser("responses", help="survey responses").add_subparsers(dest="action", required=True)
    answers.add_parser("backfill", help="add the responses index (if missing) and index older responses")
    export = answers.add_parser("export", help="the responses of a range as one CSV file")
    for name in _EXPORT_FILTERS:
        export.add_argument(f"--{name.replace('_', '-')}", dest=name, help="as in GET /v1/responses.csv")
    allowed = commands.add_parser("leads", help="who may sign in to the dashboard").add_subparsers(
        dest="action", required=True)
    add = allowed.add_parser("add", help="let a support lead sign in (by a one-time link to this address)")
    add.add_argument("email")
    add.add_argument("--name", help="shown on the dashboard (default: the address's local part)")
    add.add_argument("--owner", help="the owner name routing assigns follow-ups to, e.g. sam (default: the address)")
    allowed.add_parser("list")
    allowed.add_parser("remove", help="take a lead off the list; their sessions end").add_argument("email")
    link = allowed.add_parser("link-slack", help="a lead's Slack user id: their presses on Slack alerts act as them")
    link.add_argument("email")
    link.add_argument("slack_user_id", nargs="?", help="e.g. U024BE7LH (Slack: profile, Copy member ID)")
    link.add_argument("--unlink", action="store_true", help="forget the lead's Slack user id")
    digest = allowed.add_parser("digest", help="a lead's weekly digest: on or off, its weekday, hour and time zone")
    digest.add_argument("email")
    switch = digest.add_mutually_exclusive_group()
    switch.add_argument("--on", dest="enabled", action="store_const", const=True)
    switch.add_argument("--off", dest="enabled", action="store_const", const=False)
    digest.add_argument("--weekday", choices=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    digest.add_argument("--hour", type=int, help="0-23, in the lead's time zone (default 8)")
    digest.add_argument("--timezone", help="an IANA time zone (default: the stage's reporting time zone)")
    send_now = commands.add_parser("digest", help="send a lead's weekly digest now")
    send_now.add_argument("--lead", required=True, help="the lead's email address")
    send_now.add_argument("--now", action="store_true", required=True, help="now, whatever the schedule")
    for area, text in (("customers", "index older surveys by customer (for erasure)"),
                       ("retention", "give older personal data its expiry"),
                       ("themes", "tag older comments with themes, and count them in the reports")):
        commands.add_parser(area).add_subparsers(dest="action", required=True).add_parser("backfill", help=text)
    from ops import bootstrap

    bootstrap.add_commands(commands)
    _secret_commands(commands)
    args = parser.parse_args(argv)
    if args.area in ("bootstrap", "destroy"):  # they make the stage's resources: no table to point at yet
        return bootstrap.main(args)
    _use_stage(args.stage)
    if args.area == "secrets":
        return _secrets(args)
    if args.area in ("customers", "retention", "themes"):
        return _backfill(args.area)
    if args.area == "suppressions":
        return _suppressions(args)
    if args.area == "leads":
        return _leads(args)
    if args.area == "digest":
        return _send_digest(args)
    if args.area == "responses" and args.action == "backfill":
        from chalicelib.platform.settings import get_settings
        from chalicelib.storage.schema import add_missing_indexes
        from chalicelib.surveys import backfills

        added = add_missing_indexes(get_settings().table_name)
        print(f"indexed {backfills.backfill_response_keys()} responses"
              + (f" (added the {', '.join(added)} index)" if added else ""))
        return 0
    if args.area == "responses":
        return _export_responses(args)

    from chalicelib import apikeys

    if args.action == "create":
        key, record = apikeys.create_key(args.name)
        print(f"created key {record.prefix}... for {record.name!r}; it is shown only now:\n{key}")
    elif args.action == "list":
        for record in apikeys.list_keys():
            state = f"revoked {record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "active"
            print(f"{record.prefix}...  {record.name:<20} created {record.created_at:%Y-%m-%d %H:%M}  {state}  "
                  f"{record.key_hash}")
    else:
        try:
            record = apikeys.revoke_key(args.key)
        except KeyError as error:
            sys.exit(str(error))
        print(f"revoked {record.prefix}... ({record.name})")
    return 0


def _backfill(area: str) -> int:
    """One Scan of the table: customer index items, `expires_ttl`, or comment themes, for items
    stored before them."""
    from chalicelib.contacts import retention
    from chalicelib.surveys import backfills
    from chalicelib.why import backfill_themes

    if area == "customers":
        print(f"indexed {backfills.backfill_customer_index()} surveys by customer")
    elif area == "themes":
        print(f"tagged {backfill_themes()} comments with their themes")
    else:
        print(f"gave {retention.backfill_retention()} items their expiry")
    return 0


def _suppressions(args) -> int:
    from pydantic import ValidationError

    from chalicelib import contacts
    from chalicelib.surveys import ContactKind

    if args.action == "list":
        entries = contacts.suppressions_view(ContactKind(args.kind) if args.kind else None)["suppressions"]
        for entry in entries:
            print(f"{entry['kind']:<8} {entry['value']:<40} {entry['reason']:<12} {entry['at']}  {entry['source']}")
        print(f"{len(entries)} suppressed")
        return 0
    try:
        key = contacts.SuppressionKey(kind=args.kind, value=args.value)
    except ValidationError as error:
        sys.exit(f"invalid {args.kind}: {error.errors()[0]['msg']}")
    if args.action == "add":
        entry, created = contacts.add_manual(key.kind, key.value, by="ops")
        print(f"suppressed {entry.kind.value} {entry.value}" if created
              else f"{entry.kind.value} {entry.value} was already suppressed ({entry.reason.value}, {entry.at:%Y-%m-%d})")
        return 0
    entry = contacts.lift_suppression(key.kind, key.value)
    if entry is None:
        sys.exit(f"{key.kind.value} {key.value} is not suppressed")
    print(f"lifted {entry.kind.value} {entry.value} ({entry.reason.value} since {entry.at:%Y-%m-%d})")
    return 0


def _leads(args) -> int:
    from pydantic import ValidationError

    from chalicelib import leads

    if args.action == "list":
        listed = leads.list_leads()
        for lead in listed:
            print(f"{lead.email:<40} {lead.name:<24} owner {lead.owner:<24} added {lead.added_at:%Y-%m-%d %H:%M}")
        print(f"{len(listed)} leads")
        return 0
    if args.action == "remove":
        lead = leads.remove_lead(args.email)
        if lead is None:
            sys.exit(f"{args.email} is not on the list")
        print(f"removed {lead.email}; their sessions have ended")
        return 0
    if args.action == "link-slack":
        return _link_slack(args)
    if args.action == "digest":
        return _digest(args)
    existing = leads.get_lead(args.email)
    try:
        lead = leads.add_lead(args.email, name=args.name, owner=args.owner)
    except ValidationError as error:
        first = error.errors()[0]
        sys.exit(f"invalid {'.'.join(map(str, first['loc'])) or 'lead'}: {first['msg']}")
    print(f"{lead.email} was already on the list (owner {lead.owner})" if existing
          else f"added {lead.email} (name {lead.name}, owner {lead.owner}); they sign in at /signin")
    return 0


def _link_slack(args) -> int:
    from chalicelib import leads

    if bool(args.slack_user_id) == args.unlink:
        sys.exit("give either a Slack user id or --unlink")
    try:
        lead = leads.link_slack_user(args.email, None if args.unlink else args.slack_user_id)
    except ValueError as error:
        sys.exit(f"invalid {error}")
    if lead is None:
        sys.exit(f"{args.email} is not on the list: add them with `ops leads add` first")
    print(f"unlinked {lead.email} from Slack" if args.unlink
          else f"linked {lead.email} to Slack user {lead.slack_user_id}: their button presses act as them")
    return 0


def _digest(args) -> int:
    from pydantic import ValidationError

    from chalicelib import leads

    try:
        lead = leads.set_digest(args.email, enabled=args.enabled, weekday=args.weekday, hour=args.hour,
                                timezone=args.timezone)
    except ValidationError as error:
        first = error.errors()[0]
        sys.exit(f"invalid {'.'.join(map(str, first['loc'])).removeprefix('digest_')}: {first['msg']}")
    if lead is None:
        sys.exit(f"{args.email} is not on the list: add them with `ops leads add` first")
    zone = lead.digest_timezone or "the reporting time zone"
    print(f"{lead.email}: weekly digest {'on' if lead.digest_enabled else 'off'}, "
          f"{lead.digest_weekday} at {lead.digest_hour}:00 ({zone})")
    return 0


def _send_digest(args) -> int:
    """The digest at once: no schedule, no once-a-week step (a second call sends another)."""
    from chalicelib import insight, leads
    from chalicelib.platform import clock

    lead = leads.get_lead(args.lead)
    if lead is None:
        sys.exit(f"{args.lead} is not on the list")
    message = insight.send_digest(lead, clock.now())
    print(f"sent to {message['To']}: {message['Subject']}\n")
    print(message.get_body(("plain",)).get_content())
    return 0


def _export_responses(args, out=None) -> int:
    """Every page of the CSV export, following the cursor, as one file: BOM and header once."""
    from chalicelib.insight import ResponseExportQuery
    from chalicelib.insight.responses import HEADER, export_page
    from chalicelib.platform import clock
    from chalicelib.platform.errors import Problem
    from chalicelib.platform.validation import validate

    out = out or sys.stdout.buffer
    params = {name: getattr(args, name) for name in _EXPORT_FILTERS if getattr(args, name) is not None}
    now, cursor, rows = clock.now(), None, 0
    try:
        while True:
            query = validate(ResponseExportQuery, {**params, **({"cursor": cursor} if cursor else {})})
            page = export_page(query, now)
            out.write((page.text if cursor is None else page.text[len(HEADER):]).encode("utf-8"))
            rows += page.rows
            cursor = page.next_cursor
            if cursor is None:
                break
    except Problem as error:
        named = [f"--{field['field'].replace('_', '-')}: {field['message']}" for field in error.fields]
        sys.exit("; ".join(named) or error.message)
    out.flush()
    print(f"{rows} responses", file=sys.stderr)
    return 0


def _secret_commands(commands) -> None:
    from ops.stack import SECRET_NAMES

    vault = commands.add_parser("secrets", help="the stage's secrets (SSM Parameter Store)").add_subparsers(
        dest="action", required=True)
    vault.add_parser("show-status", help="which secrets are set and which overlaps are open; never a value")
    rotate = vault.add_parser("rotate", help="a new current value; the old one stays accepted for the overlap")
    rotate.add_argument("name", choices=SECRET_NAMES)
    rotate.add_argument("--overlap-hours", type=float,
                        help="how long the old value stays accepted (default 24; api_key_pepper 720; 0: not at all)")
    rotate.add_argument("--value-from-stdin", action="store_true",
                        help="the new value from stdin (one the helpdesk generated) instead of a random one")
    rotate.add_argument("--force", action="store_true",
                        help="rotate suppression_hash_key although entries hashed with the old key stop matching")
    vault.add_parser("end-overlap", help="stop accepting the previous value now").add_argument(
        "name", choices=SECRET_NAMES)


# What happens during a rotation's window, by secret (printed after `secrets rotate`).
_ROTATION_NEXT_STEP = {
    "zendesk_webhook_secret": "deliveries Zendesk signs with the old signing secret are accepted until then",
    "intercom_client_secret": "notifications Intercom signs with the old client secret are accepted until then",
    "freshdesk_webhook_secret": "before then, set the X-Closeloop-Freshdesk-Secret header of the Freshdesk "
                                "rules to the new value (read it with `aws ssm get-parameter --with-decryption`)",
    "webhook_signing_secret": "webhook posts carry a v1= for each value until then: have every receiver switch "
                              "to the new value (read it with `aws ssm get-parameter --with-decryption`)",
    "api_key_pepper": "API keys move to the new pepper when used before then; a key not used by then must be "
                      "re-issued (`secrets show-status` counts them)",
    "suppression_hash_key": "ledger entries hashed with the old key stop matching then",
}


def _secrets(args) -> int:
    """Rotation and status of the stage's secrets in SSM. No value is ever printed."""
    from datetime import timedelta

    from chalicelib import apikeys
    from chalicelib.platform import clock
    from chalicelib.platform import secrets as stage_secrets
    from chalicelib.platform.settings import get_settings

    settings = get_settings()
    prefix = settings.secrets_parameter_prefix
    if not prefix:
        sys.exit(f"stage {args.stage} reads its secrets from CLOSELOOP_* environment variables, not SSM "
                 "(CLOSELOOP_SECRETS_PARAMETER_PREFIX is not set)")
    if args.action == "show-status":
        stage_secrets.reset()
        now = clock.now()
        for name in stage_secrets.NAMES:
            value = stage_secrets.state(name)
            line = f"{prefix}{name:<26} {'set' if value.current else 'not configured'}"
            if value.in_overlap(now):
                line += f"; previous value accepted until {clock.iso(value.previous_until)}"
            elif value.previous:
                line += f"; previous value refused since {clock.iso(value.previous_until)}"
            print(line)
        forms: dict[str, int] = {}
        for record in apikeys.list_keys():
            if record.revoked_at is None:
                form = apikeys.hash_form(record.key_hash)
                forms[form] = forms.get(form, 0) + 1
        print("live API keys by pepper: "
              + (", ".join(f"{count} {form}" for form, count in sorted(forms.items())) or "none"))
        return 0
    if args.action == "end-overlap":
        ended = stage_secrets.end_overlap(args.name, prefix)
        print(f"{prefix}{args.name}: " + (f"the previous value is refused from now on (by warm Lambdas within "
                                          f"{settings.secrets_cache_seconds} s)" if ended else "no previous value"))
        return 0
    if args.name == "suppression_hash_key" and not args.force:
        sys.exit("suppression_hash_key: ledger entries an erasure hashed with the old key stop matching when the "
                 "overlap ends, so those customers could be surveyed again; rotate it only if it leaked (--force)")
    if args.overlap_hours is not None and args.overlap_hours < 0:
        sys.exit("--overlap-hours must be 0 or more")
    value = None
    if args.value_from_stdin:
        value = sys.stdin.read().strip()
        if not value:
            sys.exit("no value on stdin")
    overlap = timedelta(hours=args.overlap_hours) if args.overlap_hours is not None else None
    try:
        rotation = stage_secrets.rotate(args.name, prefix, value, overlap)
    except ValueError as error:  # its messages name the secret, never a value
        sys.exit(f"{prefix}{args.name}: {error}")
    if rotation.previous_until is None:
        print(f"rotated {prefix}{args.name}; no previous value is accepted")
    else:
        print(f"rotated {prefix}{args.name}; the previous value is accepted until "
              f"{clock.iso(rotation.previous_until)}: {_ROTATION_NEXT_STEP[args.name]}")
    if rotation.cut_short:
        print(f"note: the value before the previous one (accepted until {clock.iso(rotation.cut_short)}) "
              "is refused from now on")
    print(f"warm Lambdas read the new value within {settings.secrets_cache_seconds} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
