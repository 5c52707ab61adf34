"""Run every benchmark, one after the other, and gather their figures in docs/benchmarks.md.

Each benchmark is a standalone script that writes its own `bench/results/<name>.md`; this
runs them in sequence (never two at once: they would share the two cores) and joins the
results under a header that says on what and when they were measured.

    .venv/bin/python bench/run_all.py            # everything (~25 min)
    .venv/bin/python bench/run_all.py --quick    # smaller runs (~4 min)
    .venv/bin/python bench/run_all.py --only gateway scoring
    .venv/bin/python bench/run_all.py --collect  # only rebuild docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).parent
RESULTS = BENCH / "results"
DOC = BENCH.parent / "docs" / "benchmarks.md"

# (name, script, arguments, extra arguments for --quick); the order is the order in the doc.
BENCHMARKS: list[tuple[str, str, list[str], list[str]]] = [
    ("outbox_pipeline", "outbox_pipeline_bench.py", ["--suite"], ["--quick"]),
    ("customer_intake", "customer_intake_bench.py", [], ["--quick"]),
    ("scoring_domain", "scoring_domain_bench.py", [], []),
    ("scoring", "scoring_bench.py", [], ["--quick"]),
    ("rule_engine", "rule_engine_bench.py", [], []),
    ("alerting", "alerting_bench.py", [], ["--quick"]),
    # A backtest job over 1M stored transactions beside the live event path (issue 23).
    ("backtest", "backtest_bench.py", [], ["--quick"]),
    ("notify", "notify_bench.py", [], ["--quick"]),
    ("gateway", "gateway_bench.py", [], ["--quick"]),
    ("desk_api", "desk_api_bench.py", [], ["--quick"]),
    ("console", "console_bench.py", [], ["--quick"]),
    ("dashboards", "dashboard_bench.py", [], ["--quick"]),
    ("e2e", "e2e_bench.py", [], ["--quick"]),
    # The same system at a rate it sustains, in smaller batches: latency without queueing.
    (
        "e2e_latency",
        "e2e_bench.py",
        ["--rate", "400", "--batch-size", "100", "--name", "e2e_latency"],
        ["--quick"],
    ),
    # The same load with scoring's computation taken out: what the rest of the system can do.
    (
        "e2e_floor",
        "e2e_bench.py",
        ["--rate", "2000", "--seconds", "60", "--scoring-floor", "--name", "e2e_floor"],
        ["--quick"],
    ),
]


# Sections collected into the doc but not run here: they need a server the embedded ones are
# not (each states its command). e2e_statements: PostgreSQL with pg_stat_statements loaded;
# e2e_issue19: e2e_bench.py on two checkouts, alternately (bench/e2e_compare.py).
COLLECTED_ONLY: list[str] = ["e2e_statements", "e2e_issue19"]


def machine_summary() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal"):
                memory_kib = int(line.split()[1])
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kib / 2**20:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def run(names: set[str] | None, *, quick: bool) -> list[str]:
    failed = []
    for name, script, arguments, quick_arguments in BENCHMARKS:
        if names is not None and name not in names:
            continue
        path = BENCH / script
        if not path.exists():
            print(f"-- {name}: {script} not found, skipped", flush=True)
            continue
        command = [sys.executable, str(path), *arguments, *(quick_arguments if quick else [])]
        print(f"-- {name}: {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        completed = subprocess.run(command, check=False, timeout=1800)
        took = time.monotonic() - started
        print(f"-- {name}: exit {completed.returncode} after {took:.0f} s", flush=True)
        if completed.returncode != 0:
            failed.append(name)
    return failed


def collect() -> None:
    sections = [
        (RESULTS / f"{name}.md").read_text().strip()
        for name in [name for name, *_ in BENCHMARKS] + COLLECTED_ONLY
        if (RESULTS / f"{name}.md").exists()
    ]
    header = (
        "# Benchmarks\n\n"
        "Every figure below comes from a script in `bench/`, which writes its section to "
        "`bench/results/<name>.md`; `make bench` (`bench/run_all.py`) runs them one after "
        "the other and rebuilds this page. Compare with `../shared/CEILINGS.md`, measured "
        "on the same kind of machine: what matters is the ratio to the ceiling, since "
        "absolute figures drift from run to run.\n\n"
        f"Collected {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine_summary()}; each "
        "section states its own command, load and date where it differs. Machines of the "
        "same kind differ in speed: the rule-engine section's CPython floor (one call that "
        "reads a field and tests it) gauges this one's (15.6 M/s on an Intel Xeon, 9.9 M/s "
        "on an AMD EPYC seen here); compare figures from different days by it. It gauges call "
        "overhead only: on 2026-12-02 an AMD EPYC with a floor of 8.7 M/s ran the scoring "
        "event path 1.5-2x slower than the 9.9 M/s one, and five consecutive runs of "
        "`scoring_bench.py --events-only` on it, same code, gave 381-555 µs per transaction "
        "(a shared machine's neighbours). Compare two versions by alternating runs of each.\n"
    )
    DOC.write_text(header + "\n" + "\n\n".join(sections) + "\n")
    print(f"wrote {DOC}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--collect", action="store_true", help="only rebuild the doc")
    parser.add_argument("--only", nargs="*", help="benchmark names to run")
    args = parser.parse_args()
    failed: list[str] = []
    if not args.collect:
        failed = run(set(args.only) if args.only else None, quick=args.quick)
    collect()
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
