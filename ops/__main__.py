"""closeloop ops: manage admin API keys of a stage.

  python -m ops keys create --name zendesk [--stage dev]
  python -m ops keys list [--stage dev]
  python -m ops keys revoke cl_AbCd [--stage dev]      (key prefix as listed, or its full hash)

--stage local talks to the running `make run` stack; dev and prod use your AWS credentials and
the table named in .chalice/config.json. The key is printed once, at creation; only its SHA-256
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
    args = parser.parse_args(argv)
    _use_stage(args.stage)

    from chalicelib import auth
    from chalicelib.storage import get_store

    if args.action == "create":
        key, record = auth.create_key(args.name)
        print(f"created key {record.prefix}... for {record.name!r}; it is shown only now:\n{key}")
    elif args.action == "list":
        for record in get_store().list_api_keys():
            state = f"revoked {record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "active"
            print(f"{record.prefix}...  {record.name:<20} created {record.created_at:%Y-%m-%d %H:%M}  {state}  "
                  f"{record.key_hash}")
    else:
        try:
            record = auth.revoke_key(args.key)
        except KeyError as error:
            sys.exit(str(error))
        print(f"revoked {record.prefix}... ({record.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
