"""End-to-end benchmark: the whole system as processes, transactions pushed through the gateway.

    .venv/bin/python bench/e2e_bench.py [--quick] [--rate 2000] [--seconds 60]

Starts everything with the launcher `riskwatch run` uses (embedded PostgreSQL and NATS unless
DATABASE_URL / NATS_URL are set), activates 50 rules (the shipped templates and tuned
variants of them, plus one latency probe rule), onboards a synthetic bank's customers, then
pushes the simulator's live stream through `POST /v1/transactions/batch` with an ingest key
at the chosen rate. One transaction per batch is a probe the probe rule turns into an alert
(and an email): intake -> alert committed and -> SMTP accepted are measured on those.
CPU and memory per process are read from /proc. Writes bench/results/e2e.md (`--name N`:
bench/results/N.md, e.g. the latency run at a rate the machine sustains that run_all adds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import spy

from riskwatch_simulator.api import list_all, page_items
from riskwatch_simulator.client import BatchResult, GatewayError, RiskWatchClient
from riskwatch_simulator.generator import BankSpec, generate_bank, live_stream
from riskwatch_simulator.harness import ADMIN_EMAIL, ADMIN_PASSWORD, RunningSystem, running_system
from riskwatch_simulator.pacing import Pacer, Progress
from riskwatch_simulator.payloads import IdMap, transaction_body
from riskwatch_simulator.pushing import onboard
from riskwatch_simulator.report import percentile

RESULTS_DIR = Path(__file__).parent / "results"
DEFAULT_NAME = "e2e"
DEFAULT_BATCH_SIZE = 500
PROBE_COUNTERPARTY = "RiskWatch latency probe"
CHECKER_EMAIL = "bench.checker@bank.example"
PROBE_RULE = {
    "name": "Latency probe",
    "rule_type": "custom",
    "severity": "critical",
    "trigger_event_types": ["scoring.transaction_scored.v1"],
    "condition": f'txn.counterparty_name == "{PROBE_COUNTERPARTY}"',
    "dedup_key": "txn.external_id",
    "cooldown_seconds": 0,
    "description": "Benchmark probe: one alert per probe transaction.",
}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- /proc ------------------------------------------------------------------------------------


def proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, utime + stime in clock ticks), or None when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def rss_bytes(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


@dataclass
class ProcessGroup:
    """A named process and its children (PostgreSQL's backends), sampled together."""

    name: str
    root: int
    start_ticks: int = 0
    end_ticks: int = 0
    peak_rss: int = 0
    with_children: bool = True

    def pids(self) -> list[int]:
        return descendants(self.root) if self.with_children else [self.root]

    def ticks(self) -> int:
        return sum(stat[1] for pid in self.pids() if (stat := proc_stat(pid)))

    def sample_rss(self) -> None:
        self.peak_rss = max(self.peak_rss, sum(rss_bytes(pid) for pid in self.pids()))


def process_groups(system: RunningSystem) -> list[ProcessGroup]:
    groups = [ProcessGroup(name, pid) for name, pid in system.pids().items()]
    postmaster = system.data_dir / "postgres" / "postmaster.pid"
    if postmaster.exists():
        groups.append(ProcessGroup("postgresql", int(postmaster.read_text().split()[0])))
    nats = system.stack.nats
    if nats is not None and nats._proc is not None:
        groups.append(ProcessGroup("nats-server", nats._proc.pid))
    # This process started the others: count only itself.
    groups.append(ProcessGroup("load generator + SMTP", os.getpid(), with_children=False))
    return groups


# --- setup ------------------------------------------------------------------------------------


def tuned(template: dict[str, Any], scale: Decimal, number: int) -> dict[str, Any]:
    """A template with its parameters scaled: same shape, another threshold."""
    values = {name: str(Decimal(value) * scale) for name, value in template["parameters"].items()}
    return {
        "name": f"{template['name']} (variant {number})",
        "rule_type": template["rule_type"],
        "severity": template["severity"],
        "trigger_event_types": template["trigger_event_types"],
        "condition": template["condition_template"].format_map(values),
        "dedup_key": template["dedup_key"],
        "cooldown_seconds": template["cooldown_seconds"],
    }


async def add_checker(client: RiskWatchClient) -> str:
    """Maker-checker: a proposer cannot switch on their own rule, so a second admin of the
    run's own (a fresh system each run) approves the probe rule and the tuned variants.
    Gives the checker's password."""
    password = secrets.token_urlsafe(24)
    await client.post_json(
        "/v1/users",
        {"email": CHECKER_EMAIL, "name": "Bench checker", "roles": ["admin"], "password": password},
    )
    return password


async def activate_rules(
    client: RiskWatchClient, checker: RiskWatchClient, wanted: int
) -> tuple[str, int]:
    """The probe rule plus shipped templates and tuned variants: `wanted` active in all."""
    templates = page_items(await client.get_json("/v1/rule-templates"))
    with contextlib.suppress(GatewayError):
        await client.post_json(
            "/v1/lists", {"name": "high_risk_countries", "kind": "countries",
                          "entries": [{"value": "KP"}, {"value": "IR"}]},
        )  # fmt: skip
        await client.post_json(
            "/v1/lists", {"name": "watchlist_accounts", "kind": "accounts", "entries": []}
        )
    bodies: list[dict[str, Any]] = [PROBE_RULE]
    bodies += [{k: t[k] for k in PROBE_RULE if k in t} for t in templates]
    tunable = [t for t in templates if t["parameters"]]
    number = 0
    while len(bodies) < wanted and tunable:
        template = tunable[number % len(tunable)]
        number += 1
        bodies.append(tuned(template, Decimal(1) + Decimal(number) / 10, number))
    probe_id, active = "", 0
    for body in bodies[:wanted]:
        try:
            rule = await client.post_json("/v1/rules", body)
            await checker.post_json(f"/v1/rules/{rule['id']}/activate", {})
        except GatewayError as exc:
            print(f"  rule {body['name']!r} refused: {exc}", file=sys.stderr)
            continue
        active += 1
        probe_id = probe_id or rule["id"]
    return probe_id, active


async def subscribe_probe_email(client: RiskWatchClient) -> None:
    team = await client.post_json("/v1/teams", {"name": "Benchmark desk"})
    await client.post_json(
        "/v1/recipients",
        {"name": "Bench analyst", "email": "bench@bank.example", "team_ids": [team["id"]]},
    )
    await client.post_json(
        "/v1/subscriptions",
        {"team_id": team["id"], "channels": ["email"], "alert_types": ["custom"],
         "min_severity": "critical"},
    )  # fmt: skip


# --- load -------------------------------------------------------------------------------------


@dataclass
class LoadLog:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    batch_seconds: list[float] = field(default_factory=list)
    probe_sent_at: dict[str, float] = field(default_factory=dict)  # transaction id -> epoch
    started: float = 0.0
    finished: float = 0.0
    cpu_seconds: float = 0.0  # the window CPU is measured over: load start to drained


def prepare_batches(
    ids: IdMap, stream: Any, args: argparse.Namespace
) -> list[list[dict[str, Any]]]:
    """The whole load's request bodies, built before the clock starts: a core banking system
    is outside RiskWatch, so generating its traffic must not take the cores being measured."""
    total = int(args.rate * args.seconds)
    batches: list[list[dict[str, Any]]] = []
    progress = Progress(total, "transactions generated")
    for start in range(0, total, args.batch_size):
        batch = [next(stream) for _ in range(min(args.batch_size, total - start))]
        items = [transaction_body(t, ids) for t in batch]
        items[0]["counterparty_name"] = PROBE_COUNTERPARTY
        batches.append(items)
        progress.advance(len(items))
    progress.close()
    return batches


async def push_load(
    client: RiskWatchClient,
    batches: list[list[dict[str, Any]]],
    args: argparse.Namespace,
    log: LoadLog,
) -> None:
    total = sum(len(items) for items in batches)
    pacer = Pacer(args.rate)
    progress = Progress(total, "transactions")
    in_flight: deque[asyncio.Task[None]] = deque()

    async def post(items: list[dict[str, Any]], probe_external_id: str) -> None:
        started = time.time()
        try:
            result: BatchResult = await client.post_batch(items)
        except GatewayError as exc:
            print(f"  batch failed: {exc}", file=sys.stderr)
            return
        log.batch_seconds.append(time.time() - started)
        log.accepted += result.accepted
        log.rejected += result.rejected
        probe = result.transaction_ids.get(probe_external_id)
        if probe is not None:
            log.probe_sent_at[probe] = started

    log.started = time.time()
    for items in batches:
        await pacer.take(len(items))
        in_flight.append(asyncio.create_task(post(items, items[0]["external_id"])))
        log.sent += len(items)
        progress.advance(len(items))
        while len(in_flight) >= args.concurrency:
            await in_flight.popleft()
    while in_flight:
        await in_flight.popleft()
    log.finished = time.time()
    progress.close()


async def wait_for_probes(
    client: RiskWatchClient, probe_rule: str, expected: int, timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    alerts: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        alerts = await list_all(client, "/v1/alerts", rule_id=probe_rule)
        if len(alerts) >= expected:
            break
        await asyncio.sleep(0.5)
    return alerts


def smtp_accepted(system: RunningSystem, alert_ids: set[str]) -> dict[str, float]:
    accepted: dict[str, float] = {}
    for message, at in zip(system.mail.messages, system.mail.accepted_at, strict=False):
        body = message.get_body(preferencelist=("plain", "html"))
        text = (body.get_content() if body is not None else "") + str(message["Subject"])
        for alert_id in set(UUID_RE.findall(text)) & alert_ids:
            accepted.setdefault(alert_id, at)
    return accepted


def epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class StageClock:
    """When each stage's event for a probe passed on NATS (a plain subscription beside the
    services' durable consumers): where the time between intake and alert goes."""

    SUBJECTS = {
        "customer.transaction_received.v1": "stored + published by customer",
        "scoring.transaction_scored.v2": "scored by scoring",
        "alerting.alert_raised.v1": "alert published by alerting",
    }

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.seen: dict[str, dict[str, float]] = {subject: {} for subject in self.SUBJECTS}
        self._nc: Any = None

    async def start(self) -> None:
        import nats

        self._nc = await nats.connect(self.nats_url)
        for subject in self.SUBJECTS:
            await self._nc.subscribe(subject, cb=self._on_message)

    async def _on_message(self, msg: Any) -> None:
        at = time.time()
        is_alert = msg.subject.startswith("alerting.")
        if not is_alert and PROBE_COUNTERPARTY.encode() not in msg.data:
            return
        body = json.loads(msg.data)
        transaction_id = body.get("transaction_id") or body.get("transaction", {}).get(
            "transaction_id"
        )
        if transaction_id:
            self.seen[msg.subject].setdefault(str(transaction_id), at)

    async def stop(self) -> None:
        if self._nc is not None:
            await self._nc.drain()

    def stage_rows(self, sent_at: dict[str, float]) -> list[str]:
        rows, previous = [], dict(sent_at)
        for subject, what in self.SUBJECTS.items():
            reached = self.seen[subject]
            gaps = [reached[t] - previous[t] for t in sent_at if t in reached and t in previous]
            rows.append(
                f"| -> {what} (`{subject}`) | {ms(gaps, 50)} / {ms(gaps, 95)} / {ms(gaps, 99)}"
                f" ms | {len(gaps)} |"
            )
            previous = {t: reached[t] for t in sent_at if t in reached}
        return rows


# --- alerting activity ------------------------------------------------------------------------

# What the alerting service wrote per table (PostgreSQL's own counters: a row inserted or
# updated is work for PostgreSQL whoever asked for it).
ALERTING_TABLES = (
    "inbox", "evaluation_history", "customer_state", "window_groups", "alerts",
    "alert_occurrences", "alert_timeline", "outbox",
)  # fmt: skip


def database_dsn(server_url: str, database: str) -> str:
    """An asyncpg DSN for one database on the server `DATABASE_URL` names."""
    from sqlalchemy.engine import make_url

    url = make_url(server_url).set(database=database, drivername="postgresql")
    return url.render_as_string(False)


async def connect(dsn: str) -> Any:
    import asyncpg

    return await asyncpg.connect(dsn)


class AlertingActivity:
    """What alerting did during the load: events evaluated by type, alerts raised and
    occurrences added (by rule), rows written per table; read from its database, from marks
    taken when the load starts."""

    def __init__(self, server_url: str) -> None:
        self.dsn = database_dsn(server_url, "riskwatch_alerting")
        self.marks: dict[str, Any] = {}
        self.report: dict[str, Any] = {}

    async def _table_writes(self, db: Any) -> dict[str, tuple[int, int]]:
        await db.execute("SELECT pg_stat_clear_snapshot()")
        rows = await db.fetch(
            "SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables"
            " WHERE relname = ANY($1::text[])",
            list(ALERTING_TABLES),
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}

    async def mark(self) -> None:
        db = await connect(self.dsn)
        try:
            self.marks = {
                "at": await db.fetchval("SELECT now()"),
                "seq": await db.fetchval("SELECT coalesce(max(seq), 0) FROM evaluation_history"),
                "occurrence": await db.fetchval(
                    "SELECT coalesce(max(id), 0) FROM alert_occurrences"
                ),
                "timeline": await db.fetchval("SELECT coalesce(max(id), 0) FROM alert_timeline"),
                "writes": await self._table_writes(db),
            }
        finally:
            await db.close()

    async def collect(self) -> None:
        await asyncio.sleep(1.0)  # PostgreSQL flushes its table counters about once a second
        db = await connect(self.dsn)
        marks = self.marks
        try:
            events = await db.fetch(
                "SELECT event_type, count(*) FROM evaluation_history WHERE seq > $1"
                " GROUP BY 1 ORDER BY 2 DESC",
                marks["seq"],
            )
            raised = await db.fetch(
                "SELECT rule_name, count(*) FROM alerts WHERE raised_at >= $1"
                " GROUP BY 1 ORDER BY 2 DESC",
                marks["at"],
            )
            added = await db.fetch(
                "SELECT a.rule_name, count(*) FROM alert_occurrences AS o"
                " JOIN alerts AS a ON a.id = o.alert_id WHERE o.id > $1"
                " GROUP BY 1 ORDER BY 2 DESC",
                marks["occurrence"],
            )
            timeline = await db.fetch(
                "SELECT change, count(*) FROM alert_timeline WHERE id > $1 GROUP BY 1",
                marks["timeline"],
            )
            writes = await self._table_writes(db)
        finally:
            await db.close()
        before = marks["writes"]
        self.report = {
            "events": [(str(r[0]), int(r[1])) for r in events],
            "raised": [(str(r[0]), int(r[1])) for r in raised],
            "occurrences": [(str(r[0]), int(r[1])) for r in added],
            "timeline": [(str(r[0]), int(r[1])) for r in timeline],
            "writes": {
                table: (
                    writes.get(table, (0, 0))[0] - before.get(table, (0, 0))[0],
                    writes.get(table, (0, 0))[1] - before.get(table, (0, 0))[1],
                )
                for table in ALERTING_TABLES
            },
        }

    def lines(self, transactions: int) -> list[str]:
        if not self.report:
            return []
        per = 1000 / max(transactions, 1)
        report = self.report
        alerts = sum(count for _, count in report["raised"])
        occurrences = sum(count for _, count in report["occurrences"])
        out = [
            "",
            "Alerting activity during the load (from its database; per 1,000 transactions"
            f" accepted, {transactions:,} in all):",
            "",
            f"- alerts raised: {alerts * per:,.1f}; occurrences added to open alerts:"
            f" {occurrences * per:,.1f}; timeline entries: "
            + ", ".join(f"{name} {count * per:,.1f}" for name, count in report["timeline"]),
            "- events evaluated: "
            + ", ".join(f"`{name}` {count * per:,.1f}" for name, count in report["events"]),
            "- alerts raised by rule (top 6): "
            + ", ".join(f"{name} {count * per:,.1f}" for name, count in report["raised"][:6]),
            "- occurrences by rule (top 6): "
            + ", ".join(f"{name} {count * per:,.1f}" for name, count in report["occurrences"][:6]),
            "",
            "| alerting table | rows inserted | rows updated |",
            "|---|---:|---:|",
        ]
        for table, (inserted, updated) in report["writes"].items():
            out.append(f"| {table} | {inserted * per:,.1f} | {updated * per:,.1f} |")
        return out


# --- PostgreSQL statements (--statements) -------------------------------------------------------

STATEMENT_ROWS = 14


class StatementStats:
    """Each database's statements during the load, from `pg_stat_statements`: which statement,
    of which service, takes PostgreSQL's time and writes its WAL. The embedded server has no
    such extension, so this needs a `DATABASE_URL` server started with
    `shared_preload_libraries = 'pg_stat_statements'`."""

    def __init__(self, server_url: str) -> None:
        self.dsn = database_dsn(server_url, "postgres")
        self.rows: list[Any] = []

    async def mark(self) -> None:
        db = await connect(self.dsn)
        try:
            try:
                await db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                await db.execute("SELECT pg_stat_statements_reset()")
            except Exception as exc:
                raise SystemExit(
                    "--statements needs a DATABASE_URL server with pg_stat_statements in"
                    f" shared_preload_libraries: {exc}"
                ) from exc
        finally:
            await db.close()

    async def collect(self) -> None:
        db = await connect(self.dsn)
        try:
            self.rows = await db.fetch(
                "SELECT replace(d.datname, 'riskwatch_', '') AS service, s.calls, s.rows,"
                " s.total_exec_time AS exec_ms, s.wal_bytes, s.shared_blks_hit"
                " + s.shared_blks_read AS blocks,"
                " left(regexp_replace(s.query, '\\s+', ' ', 'g'), 90) AS query"
                " FROM pg_stat_statements AS s JOIN pg_database AS d ON d.oid = s.dbid"
                " WHERE d.datname LIKE 'riskwatch_%' ORDER BY s.total_exec_time DESC"
            )
        finally:
            await db.close()

    def lines(self, transactions: int) -> list[str]:
        if not self.rows:
            return []
        per = max(transactions, 1)
        services: dict[str, list[float]] = {}
        for row in self.rows:
            totals = services.setdefault(row["service"], [0.0, 0.0])
            totals[0] += row["exec_ms"]
            totals[1] += float(row["wal_bytes"])
        out = [
            "",
            "PostgreSQL statements during the load (`--statements`, from `pg_stat_statements`;"
            " execution time includes waits, so it is an upper bound on CPU; per transaction"
            f" accepted, {transactions:,} in all):",
            "",
            "| service | exec µs/txn | WAL B/txn |",
            "|---|---:|---:|",
        ]
        for service, (exec_ms, wal) in sorted(services.items(), key=lambda kv: -kv[1][0]):
            out.append(f"| {service} | {exec_ms * 1000 / per:,.1f} | {wal / per:,.0f} |")
        out += [
            "",
            "| service | statement | calls | rows | exec µs/txn | µs/row | WAL B/txn |"
            " blocks/row |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in self.rows[:STATEMENT_ROWS]:
            rows = int(row["rows"])
            # A statement that writes through CTEs returns one row a call: no per-row figure.
            per_row = rows > row["calls"]
            query = str(row["query"]).replace("|", "\\|")
            out.append(
                f"| {row['service']} | `{query}` | {row['calls']:,} | {rows:,}"
                f" | {row['exec_ms'] * 1000 / per:,.1f}"
                + (f" | {row['exec_ms'] * 1000 / rows:,.1f}" if per_row else " | -")
                + f" | {float(row['wal_bytes']) / per:,.0f}"
                + (f" | {int(row['blocks']) / rows:,.1f} |" if per_row else " | - |")
            )
        return out


# --- report -----------------------------------------------------------------------------------


def ms(values: list[float], q: float) -> str:
    value = percentile(values, q)
    return "-" if value is None else f"{value * 1000:,.0f}"


def render(
    args: argparse.Namespace,
    log: LoadLog,
    active_rules: int,
    to_alert: list[float],
    to_smtp: list[float],
    probes_expected: int,
    drained_at: float,
    groups: list[ProcessGroup],
    stages: list[str],
    activity: AlertingActivity | None = None,
) -> str:
    window = max(log.finished - log.started, 1e-9)
    end_to_end = max(drained_at - log.started, 1e-9)
    # Probes leave one per batch: when some were still unalerted at the deadline, only
    # that share of the load is known to have been evaluated.
    share = len(to_alert) / probes_expected if probes_expected else 0.0
    processed = log.accepted * min(share, 1.0)
    partial = f" (only {share:.0%} evaluated by the deadline)" if share < 1 else ""
    command = "bench/e2e_bench.py" + (" --quick" if args.quick else "")
    command += f" --rate {args.rate:g} --seconds {args.seconds:g}"
    if args.batch_size != DEFAULT_BATCH_SIZE:
        command += f" --batch-size {args.batch_size}"
    if args.name != DEFAULT_NAME:
        command += f" --name {args.name}"
    command = ".venv/bin/python " + command
    if args.statements:
        command = f"DATABASE_URL=... {command} --statements"
    if args.scoring_floor:
        command += " --scoring-floor"
    lines = [
        f"# End-to-end benchmark{'' if args.name == DEFAULT_NAME else f': {args.name}'}",
        "",
        "The whole system as processes (`riskwatch run`'s launcher: "
        + (
            "the PostgreSQL server at DATABASE_URL, whose CPU the process table leaves out,"
            if args.statements
            else "embedded PostgreSQL 16"
        )
        + " and NATS JetStream, 4 services and the gateway, one uvicorn worker each), an",
        "aiosmtpd server for notify's email, the load generator on the same machine.",
        "Transactions from the simulator's live stream go through the gateway with an",
        f"ingest API key, {args.batch_size} per `POST /v1/transactions/batch`,",
        f"{args.concurrency} batches in flight, {active_rules} active rules; every",
        "transaction is scored and evaluated against every rule. One transaction per batch",
        "is a probe a `custom` rule turns into an alert and an email; latencies are measured",
        "on the probes (intake = the batch POST starting; alert committed = `raised_at`;",
        "SMTP accepted = the SMTP server's answer to DATA).",
        f"The bank's clock runs fast so that each of its {args.customers:,} customers pays"
        f" {args.daily:g} times a day on average, as in production (`--daily`); the load spans"
        f" {args.rate * args.seconds / (args.customers * args.daily):,.1f} days of it.",
        "",
        f"Command: `{command}` "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, shared machine)."
        + (
            " `--quick` loads for 5 s only; starting the whole system takes 40-90 s here, so"
            " even a quick run takes about two minutes."
            if args.quick
            else ""
        )
        + (
            " **Scoring ran without its computation** (`bench/scoring_floor_service.py`: each"
            " transaction is still parsed, claimed, stored, its state written back and its own"
            " `transaction_scored` published, with the first transaction's features and score):"
            " what the rest of the system does when scoring costs only its I/O."
            if args.scoring_floor
            else ""
        ),
        "",
        "| figure | value | target |",
        "|---|---:|---:|",
        f"| offered rate | {args.rate:,.0f} txn/s | 2,000 txn/s |",
        f"| accepted by intake during the load window | {log.accepted / window:,.0f} txn/s "
        f"({log.accepted:,} in {window:,.1f} s, {log.rejected} rejected) | |",
        f"| end to end: through to alerting, until the last probe's alert | "
        f"{processed / end_to_end:,.0f} txn/s{partial} | "
        "≥ 2,000 txn/s |",
        f"| batch POST round trip p50 / p95 / p99 | {ms(log.batch_seconds, 50)} / "
        f"{ms(log.batch_seconds, 95)} / {ms(log.batch_seconds, 99)} ms | |",
        f"| intake -> alert committed p50 / p95 / p99 | {ms(to_alert, 50)} / {ms(to_alert, 95)}"
        f" / {ms(to_alert, 99)} ms ({len(to_alert)} of {probes_expected} probes) | p99 < 500 ms |",
        f"| intake -> SMTP accepted p50 / p95 / p99 | {ms(to_smtp, 50)} / {ms(to_smtp, 95)} / "
        f"{ms(to_smtp, 99)} ms ({len(to_smtp)} emails) | |",
        "",
        "Where a probe's time goes, stage by stage (each row from the previous stage; the",
        "first from the batch POST starting):",
        "",
        "| stage | p50 / p95 / p99 | probes |",
        "|---|---:|---:|",
        *stages,
        "",
        f"CPU from the load's start until the probes' alerts were in ({log.cpu_seconds:,.1f} s;"
        " 100% = one core) and peak resident memory:",
        "",
        "| process | CPU | CPU per transaction | peak RSS |",
        "|---|---:|---:|---:|",
    ]
    per_txn_us = 1e6 / CLOCK_TICKS / max(log.accepted, 1)
    for group in sorted(groups, key=lambda g: g.end_ticks - g.start_ticks, reverse=True):
        ticks = group.end_ticks - group.start_ticks
        cpu = ticks / CLOCK_TICKS / max(log.cpu_seconds, 1e-9) * 100
        lines.append(
            f"| {group.name} | {cpu:,.0f}% | {ticks * per_txn_us:,.0f} µs |"
            f" {group.peak_rss / 2**20:,.0f} MiB |"
        )
    total_ticks = sum(g.end_ticks - g.start_ticks for g in groups)
    total_cores = total_ticks / CLOCK_TICKS / max(log.cpu_seconds, 1e-9)
    cores = os.cpu_count() or 2
    lines += [
        "",
        f"In all {total_ticks * per_txn_us / 1000:.2f} ms of CPU per transaction"
        f" ({log.accepted:,} transactions): {cores} cores at 2,000 txn/s leave"
        f" {cores / 2_000 * 1000:.2f} ms.",
    ]
    services = [g for g in groups if g.with_children]
    busiest = max(services, key=lambda g: g.end_ticks - g.start_ticks, default=None)
    kept_up = processed / end_to_end >= 0.95 * log.accepted / window
    if kept_up:
        verdict = [
            "",
            f"The system kept up with the offered load ({total_cores:.2f} of the 2 cores in use):",
            "no stage limited it, and the latencies above are each stage's work on its batch",
            "plus the consumers' linger, not queueing.",
        ]
    else:
        bound = (
            "the machine, not one stage, is the bound"
            if total_cores >= 1.7
            else "the busiest stage is the bound"
        )
        verdict = [
            "",
            "Where the time goes: the busiest process above is the stage that limits the rate"
            + (f" (here: **{busiest.name}**)." if busiest else "."),
            "A Python service is one core at most (../shared/CEILINGS.md: one process was the",
            "limit in every ceiling test; FastAPI POST + INSERT + publish ~1,280 req/s per worker,",
            "a batch endpoint and batched consumers about ten times that). All processes together",
            f"used {total_cores:.2f} of the 2 cores: {bound}.",
        ]
    lines += verdict
    if activity is not None:
        lines += activity.lines(log.accepted)
    return "\n".join(lines) + "\n"


PROFILED = ("scoring", "alerting", "customer", "notify")


async def profile_services(
    system: RunningSystem, args: argparse.Namespace
) -> dict[str, spy.Profile]:
    """py-spy on each service for `--profile-seconds` from a third into the load (or none)."""
    if args.profile_seconds <= 0 or not spy.available():
        return {}
    await asyncio.sleep(args.seconds / 3)
    pids = system.pids()
    raws = {name: system.data_dir / f"{name}.pyspy" for name in PROFILED if name in pids}
    recorders = [spy.record(pids[name], args.profile_seconds, raw) for name, raw in raws.items()]
    await asyncio.gather(*(asyncio.to_thread(recorder.wait) for recorder in recorders))
    return {name: spy.summarise(raw) for name, raw in raws.items()}


def profile_text(args: argparse.Namespace, profiles: dict[str, spy.Profile]) -> str:
    if args.profile_seconds <= 0:
        return ""
    if not profiles:
        return "\nNo profile: py-spy is not installed (`make setup` installs it).\n"
    lines = [
        "",
        f"Where each service's time goes: py-spy, {args.profile_seconds:g} s at 100 Hz from a"
        " third into the load, without pausing the process; shares of all its samples (the",
        "event loop's share is waiting and running callbacks; C extensions count to the Python",
        "frame that called them):",
        "",
    ]
    for name, profile in profiles.items():
        lines += profile.lines(name)
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace, system: RunningSystem) -> str:
    groups = process_groups(system)
    stages = StageClock(system.stack.env["NATS_URL"])
    await stages.start()
    async with RiskWatchClient(system.gateway, max_connections=64) as client:
        await client.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        await client.create_ingest_key("benchmark core banking")
        checker_password = await add_checker(client)
        async with RiskWatchClient(system.gateway) as checker:
            await checker.sign_in(CHECKER_EMAIL, checker_password)
            probe_rule, active = await activate_rules(client, checker, args.rules)
        await subscribe_probe_email(client)
        # The load carries `--daily` payments per customer per day of the bank's clock: its
        # clock runs `span / seconds` times faster than the wall's and ends now, after the
        # history. (Pushing 2,000/s over a few thousand customers in real time would make
        # every customer pay every few seconds, and velocity rules flag them all.)
        total = int(args.rate * args.seconds)
        span = timedelta(days=total / (args.customers * args.daily))
        live_from = datetime.now(UTC) - span
        spec = BankSpec(seed=args.seed, customers=args.customers, days=30, now=live_from)
        bank = generate_bank(spec)
        ids = IdMap()
        await onboard(client, bank, ids, Progress(len(bank.customers), "customers"))
        stream = live_stream(
            bank,
            start=live_from,
            rate=args.rate,
            seed=args.seed,
            time_scale=span.total_seconds() / args.seconds,
        )
        batches = prepare_batches(ids, stream, args)
        log = LoadLog()
        sampling = True

        async def sample() -> None:
            while sampling:
                for group in groups:
                    group.sample_rss()
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        activity = AlertingActivity(system.stack.env["DATABASE_URL"])
        await activity.mark()
        statements = StatementStats(system.stack.env["DATABASE_URL"]) if args.statements else None
        if statements is not None:
            await statements.mark()
        for group in groups:
            group.start_ticks = group.ticks()
        profiling = asyncio.create_task(profile_services(system, args))
        await push_load(client, batches, args, log)
        expected = len(log.probe_sent_at)
        alerts = await wait_for_probes(client, probe_rule, expected, args.drain_seconds)
        for group in groups:
            group.end_ticks = group.ticks()
        log.cpu_seconds = time.time() - log.started
        drained_at = max((epoch(a["raised_at"]) for a in alerts), default=time.time())
        to_alert = [
            epoch(a["raised_at"]) - log.probe_sent_at[a["transaction_id"]]
            for a in alerts
            if a.get("transaction_id") in log.probe_sent_at
        ]
        sent_by_alert = {
            a["id"]: log.probe_sent_at[a["transaction_id"]]
            for a in alerts
            if a.get("transaction_id") in log.probe_sent_at
        }
        deadline = time.monotonic() + min(30.0, args.drain_seconds)
        accepted = smtp_accepted(system, set(sent_by_alert))
        while len(accepted) < len(sent_by_alert) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            accepted = smtp_accepted(system, set(sent_by_alert))
        to_smtp = [at - sent_by_alert[alert_id] for alert_id, at in accepted.items()]
        sampling = False
        await sampler
        await activity.collect()
        if statements is not None:
            await statements.collect()
        profiles = await profiling
    await stages.stop()
    stage_rows = stages.stage_rows(log.probe_sent_at)
    text = render(
        args, log, active, to_alert, to_smtp, expected, drained_at, groups, stage_rows, activity
    )
    text += profile_text(args, profiles)
    if statements is None:
        return text
    return text + "\n".join(statements.lines(log.accepted)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (smaller everything)")
    parser.add_argument("--rate", type=float, default=2_000.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument(
        "--daily",
        type=float,
        default=5.0,
        help="payments per customer per day of the bank's clock (sets how fast it runs)",
    )
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    parser.add_argument(
        "--statements",
        action="store_true",
        help="add PostgreSQL's per-statement figures (a DATABASE_URL server with"
        " pg_stat_statements loaded)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--name", default=DEFAULT_NAME, help="results file bench/results/NAME.md and its heading"
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=20.0,
        help="py-spy each service this long from a third into the load (0: no profile)",
    )
    parser.add_argument(
        "--scoring-floor",
        action="store_true",
        help="run scoring without its computation (bench/scoring_floor_service.py): what the"
        " rest of the system does when scoring costs only its I/O",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.customers, args.drain_seconds = 5.0, 20, 20.0
        args.profile_seconds = min(args.profile_seconds, 2.0)
    started = time.monotonic()
    # Embedded PostgreSQL / NATS unless DATABASE_URL / NATS_URL name servers to use.
    floor = {"scoring": "scoring_floor_service"} if args.scoring_floor else None
    bench_path = {"PYTHONPATH": str(Path(__file__).resolve().parent)} if floor else None
    with running_system(own_servers=False, modules=floor, extra_env=bench_path) as system:
        print(f"system up in {time.monotonic() - started:,.0f} s", file=sys.stderr)
        text = asyncio.run(run(args, system))
    results = RESULTS_DIR / f"{args.name}.md"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text)
    print(text)
    print(f"written to {results} in {time.monotonic() - started:,.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
