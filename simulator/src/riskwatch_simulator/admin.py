"""Administration verbs of the `riskwatch` command, all through the gateway's public API.

`riskwatch users list|create|disable`, `riskwatch api-keys create|list|revoke`,
`riskwatch starter` (load the starter configuration, see `riskwatch_simulator.starter`),
`riskwatch openapi` (export the merged API document) and `riskwatch config export|import`
(configuration as code, see `riskwatch_simulator.config_bundle`). They sign in as an
administrator: the e-mail and password come from `--admin-email`/`--admin-password`, else
`RISKWATCH_ADMIN_EMAIL`/`RISKWATCH_ADMIN_PASSWORD`, else the password the gateway generated
on the first `riskwatch run` (printed once in `<data dir>/logs/gateway.log`). The gateway is
`--gateway`, else `RISKWATCH_GATEWAY`, else `http://127.0.0.1:$GATEWAY_PORT` (8000).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from riskwatch_shared.cli import SECRETS_FILE, parse_env_file
from riskwatch_simulator.api import list_all
from riskwatch_simulator.client import GatewayError, RetryPolicy, RiskWatchClient
from riskwatch_simulator.config_bundle import export_bundle, import_bundle, render
from riskwatch_simulator.starter import load_starter

ADMIN_CREATED = re.compile(r"RiskWatch admin created: (?P<email>\S+) / password: (?P<password>\S+)")
STARTER_ENV = "RISKWATCH_STARTER"
STARTER_MARKER = "starter.loaded"
DEFAULT_DATA_DIR = ".riskwatch"


def default_gateway() -> str:
    explicit = os.environ.get("RISKWATCH_GATEWAY")
    if explicit:
        return explicit
    return f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}"


def generated_admin_password(data_dir: Path) -> tuple[str, str] | None:
    """(e-mail, password) of the first admin of `riskwatch run`'s stack: the password it
    generated into `secrets.env`, or (a stack from before that) the one the gateway printed
    into its log."""
    secrets_file = data_dir / SECRETS_FILE
    if secrets_file.exists():
        password = parse_env_file(secrets_file.read_text()).get("RISKWATCH_ADMIN_PASSWORD")
        if password:
            return os.environ.get("RISKWATCH_ADMIN_EMAIL", "admin@riskwatch.local"), password
    log = data_dir / "logs" / "gateway.log"
    if not log.exists():
        return None
    found = None
    for line in log.read_text(errors="replace").splitlines():
        match = ADMIN_CREATED.search(line)
        if match:
            found = (match["email"], match["password"])
    return found


def admin_credentials(args: argparse.Namespace) -> tuple[str, str]:
    email = args.admin_email or os.environ.get("RISKWATCH_ADMIN_EMAIL")
    password = args.admin_password or os.environ.get("RISKWATCH_ADMIN_PASSWORD")
    if not password:
        generated = generated_admin_password(Path(args.data_dir))
        if generated is not None:
            email = email or generated[0]
            password = generated[1]
    if not password:
        raise SystemExit(
            "riskwatch: no admin password: pass --admin-password or set RISKWATCH_ADMIN_PASSWORD"
        )
    return email or "admin@riskwatch.local", password


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gateway", default=None, help="default: http://127.0.0.1:$GATEWAY_PORT")
    parser.add_argument("--admin-email", default=None)
    parser.add_argument("--admin-password", default=None)
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("RISKWATCH_DATA_DIR", DEFAULT_DATA_DIR),
        help="where `riskwatch run` keeps its data (to find the generated admin password)",
    )


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="list, create or disable users (admin)")
    users_sub = users.add_subparsers(dest="action", required=True)
    _common(users_sub.add_parser("list", help="every user"))
    create = users_sub.add_parser("create", help="a user; the password is generated if omitted")
    _common(create)
    create.add_argument("email")
    create.add_argument("--role", action="append", required=True, dest="roles")
    create.add_argument("--name", default=None)
    create.add_argument("--staff-id", default=None, help="a relationship manager's staff id")
    disable = users_sub.add_parser("disable", help="a user can no longer sign in")
    _common(disable)
    disable.add_argument("user", help="user id or e-mail")

    keys = sub.add_parser("api-keys", help="create, list or revoke API keys (admin)")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    _common(keys_sub.add_parser("list", help="every API key (never the secrets)"))
    key_create = keys_sub.add_parser("create", help="a key; its secret is shown once")
    _common(key_create)
    key_create.add_argument("name")
    key_create.add_argument("--role", action="append", dest="roles", help="default: ingest")
    key_create.add_argument("--rate-limit", type=int, default=None, help="requests per minute")
    revoke = keys_sub.add_parser("revoke", help="revoke a key at once")
    _common(revoke)
    revoke.add_argument("key_id")

    starter = sub.add_parser(
        "starter", help="load the starter configuration (rule pack, Risk department); idempotent"
    )
    _common(starter)
    starter.add_argument("--email", default=None, help="the Risk department's e-mail address")

    openapi = sub.add_parser("openapi", help="export the merged OpenAPI document of the gateway")
    _common(openapi)
    openapi.add_argument("--out", default="-", help="a file (default: standard output)")

    config = sub.add_parser(
        "config", help="export or import the configuration bundle (admin; configuration as code)"
    )
    config_sub = config.add_subparsers(dest="action", required=True)
    export = config_sub.add_parser("export", help="every service's configuration as one bundle")
    _common(export)
    export.add_argument("--out", default="-", help="a file (default: standard output)")
    load = config_sub.add_parser(
        "import", help="a bundle: the diff (dry run); with --apply, proposals and changes"
    )
    _common(load)
    load.add_argument("bundle", help="the bundle file (riskwatch-config/v1)")
    load.add_argument(
        "--apply",
        action="store_true",
        help="after a dry run every service accepted: rule, list, policy and model changes "
        "as proposals for a second person, the rest at once (audited)",
    )


ADMIN_COMMANDS = frozenset({"users", "api-keys", "starter", "openapi", "config"})


def _print(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, indent=2, default=str) + "\n")


async def _users(client: RiskWatchClient, args: argparse.Namespace, out: TextIO) -> None:
    if args.action == "list":
        for user in await list_all(client, "/v1/users"):
            state = "active" if user.get("active", True) else "disabled"
            out.write(f"{user['id']}  {user['email']:<40} {','.join(user['roles']):<30} {state}\n")
    elif args.action == "create":
        body = {"email": args.email, "roles": args.roles, "name": args.name}
        if args.staff_id:
            body["staff_id"] = args.staff_id
        _print(await client.post_json("/v1/users", body), out)
    else:
        user_id = args.user
        if "@" in user_id:
            matches = [
                user
                for user in await list_all(client, "/v1/users")
                if user["email"].lower() == user_id.lower()
            ]
            if not matches:
                raise GatewayError("GET", "/v1/users", 404, f"no user {user_id}")
            user_id = matches[0]["id"]
        response = await client.request("PATCH", f"/v1/users/{user_id}", json={"active": False})
        _print(response.json(), out)


async def _api_keys(client: RiskWatchClient, args: argparse.Namespace, out: TextIO) -> None:
    if args.action == "list":
        for key in await list_all(client, "/v1/api-keys"):
            state = "revoked" if key.get("revoked_at") else "active"
            out.write(f"{key['id']}  {key['name']:<40} {','.join(key['roles']):<20} {state}\n")
    elif args.action == "create":
        body: dict[str, Any] = {"name": args.name, "roles": args.roles or ["ingest"]}
        if args.rate_limit:
            body["rate_limit_per_minute"] = args.rate_limit
        _print(await client.post_json("/v1/api-keys", body), out)
    else:
        _print(await client.post_json(f"/v1/api-keys/{args.key_id}/revoke", {}), out)


async def _openapi(client: RiskWatchClient, args: argparse.Namespace, out: TextIO) -> None:
    document = (await client.request("GET", "/openapi.json")).json()
    text = json.dumps(document, indent=2) + "\n"
    if args.out == "-":
        out.write(text)
    else:
        await asyncio.to_thread(Path(args.out).write_text, text)
        out.write(f"{len(document.get('paths', {}))} paths written to {args.out}\n")


async def _config(client: RiskWatchClient, args: argparse.Namespace, out: TextIO) -> None:
    if args.action == "export":
        bundle = await export_bundle(client)
        if args.out == "-":
            out.write(bundle.decode())
        else:
            await asyncio.to_thread(Path(args.out).write_bytes, bundle)
            out.write(f"{len(bundle)} bytes written to {args.out}\n")
        return
    raw = await asyncio.to_thread(Path(args.bundle).read_bytes)
    out.write(render(await import_bundle(client, raw, apply=args.apply)))


async def run_admin(args: argparse.Namespace, out: TextIO) -> None:
    email, password = admin_credentials(args)
    async with RiskWatchClient(args.gateway or default_gateway()) as client:
        await client.sign_in(email, password)
        if args.command == "users":
            await _users(client, args, out)
        elif args.command == "api-keys":
            await _api_keys(client, args, out)
        elif args.command == "openapi":
            await _openapi(client, args, out)
        elif args.command == "config":
            await _config(client, args, out)
        else:
            extra = {"email": args.email} if args.email else {}
            out.write((await load_starter(client, **extra)).render() + "\n")


def run_cli(args: argparse.Namespace, out: TextIO | None = None) -> int:
    try:
        asyncio.run(run_admin(args, out or sys.stdout))
    except GatewayError as exc:
        print(f"riskwatch {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


def admin_main(argv: list[str], out: TextIO | None = None) -> int:
    """The administration verbs alone (`riskwatch <verb> ...` without the other commands)."""
    parser = argparse.ArgumentParser(prog="riskwatch")
    add_cli(parser.add_subparsers(dest="command", required=True))
    return run_cli(parser.parse_args(argv), out)


# --- the starter under `riskwatch run` --------------------------------------------------------


def starter_enabled(no_starter_flag: bool) -> bool:
    """On unless `riskwatch run --no-starter` or RISKWATCH_STARTER=0/false/no/off."""
    value = os.environ.get(STARTER_ENV, "1").strip().lower()
    return not no_starter_flag and value not in {"0", "false", "no", "off"}


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def load_starter_when_ready(
    data_dir: Path,
    gateway: str,
    *,
    timeout: float = 180.0,
    report: Callable[[str], None] = print,
) -> None:
    """Once the gateway is ready, load the starter configuration with the generated admin
    password, once per data directory (a marker file records it)."""
    marker = data_dir / STARTER_MARKER
    if marker.exists():
        return
    deadline = time.monotonic() + timeout
    while not _ready(f"{gateway}/readyz"):
        if time.monotonic() > deadline:
            report("starter configuration not loaded: the gateway never became ready")
            return
        time.sleep(0.5)
    password = os.environ.get("RISKWATCH_ADMIN_PASSWORD")
    email = os.environ.get("RISKWATCH_ADMIN_EMAIL", "admin@riskwatch.local")
    while not password and time.monotonic() < deadline:
        generated = generated_admin_password(data_dir)
        if generated is not None:
            email, password = generated
            break
        time.sleep(0.5)
    if not password:
        report("starter configuration not loaded: no admin password (run `riskwatch starter`)")
        return

    async def load(email: str, password: str) -> str:
        async with RiskWatchClient(gateway, retry=RetryPolicy(attempts=12)) as client:
            await client.sign_in(email, password)
            return (await load_starter(client)).render()

    try:
        rendered = asyncio.run(load(email, password))
    except GatewayError as exc:
        report(f"starter configuration not loaded: {exc} (retry with `riskwatch starter`)")
        return
    marker.write_text(rendered + "\n")
    report(f"  {rendered} (switch off: --no-starter or {STARTER_ENV}=0)")


def start_starter_thread(data_dir: Path, gateway: str) -> threading.Thread:
    thread = threading.Thread(
        target=load_starter_when_ready,
        args=(data_dir, gateway),
        kwargs={"report": lambda line: print(line, flush=True)},
        name="riskwatch-starter",
        daemon=True,
    )
    thread.start()
    return thread
