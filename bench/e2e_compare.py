"""Old code against new, end to end: `e2e_bench.py` run alternately on two checkouts, its
figures side by side, per process and in all, and normalised by the work each run got done.

    .venv/bin/python bench/e2e_compare.py --run old:e2e_19_old1:"14.4-24.5" \
        --run new:e2e_19_new1:"24.5-..." ... [--out bench/results/e2e_issue19.md]

Each `--run` is `label:results name:load averages`: the label (old/new), the name of the
results file in bench/results/ (copy the old checkout's file there) and the machine's 1-minute
load average at the run's start and end, as text.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PROCESSES = (
    "scoring",
    "alerting",
    "postgresql",
    "customer",
    "nats-server",
    "notify",
    "gateway",
    "console",
    "load generator + SMTP",
)


@dataclass
class Run:
    label: str
    name: str
    load: str
    cpu_us: dict[str, int]
    total_ms: float
    transactions: int
    accepted: str
    end_to_end: str
    evaluated_per_1000: float
    scored_probes: tuple[int, int]
    window_s: float
    command_date: str

    @property
    def evaluated(self) -> float:
        return self.evaluated_per_1000 * self.transactions / 1000

    @property
    def scored_share(self) -> float:
        scored, probes = self.scored_probes
        return scored / probes

    def cpu_seconds(self, process: str) -> float:
        return self.cpu_us[process] * self.transactions / 1e6


def _search(pattern: str, text: str) -> re.Match[str]:
    found = re.search(pattern, text, re.M)
    if found is None:
        raise ValueError(f"not found: {pattern}")
    return found


def parse(label: str, name: str, load: str) -> Run:
    text = (RESULTS / f"{name}.md").read_text()
    cpu = {}
    for process in PROCESSES:
        row = re.search(rf"^\| {re.escape(process)} \| \d+% \| ([\d,]+) µs \|", text, re.M)
        cpu[process] = int(row.group(1).replace(",", "")) if row else 0
    evaluated = _search(r"^- events evaluated: (.*)$", text).group(1)
    scored = _search(r"^\| -> scored by scoring .* \| (\d+) \|$", text).group(1)
    probes = _search(r"^\| -> stored \+ published by customer .* \| (\d+) \|$", text).group(1)
    return Run(
        label=label,
        name=name,
        load=load,
        cpu_us=cpu,
        total_ms=float(_search(r"In all ([\d.]+) ms of CPU per transaction", text).group(1)),
        transactions=int(
            _search(r"per transaction \(([\d,]+) transactions\)", text).group(1).replace(",", "")
        ),
        accepted=_search(
            r"accepted by intake during the load window \| ([\d,]+) txn/s", text
        ).group(1),
        end_to_end=_search(r"until the last probe's alert \| ([\d,]+) txn/s", text).group(1),
        evaluated_per_1000=sum(
            float(n.replace(",", "")) for n in re.findall(r" ([\d,.]+)(?:,|$)", evaluated)
        ),
        scored_probes=(int(scored), int(probes)),
        window_s=float(_search(r"alerts were in \(([\d.]+) s;", text).group(1)),
        command_date=_search(r"^Command: .*\((\d{4}-\d\d-\d\d \d\d:\d\d UTC)", text).group(1),
    )


def table(runs: list[Run]) -> list[str]:
    head = " | ".join(f"{r.label} (`{r.name}`)" for r in runs)
    lines = [f"| CPU per transaction | {head} |", "|---|" + "---:|" * len(runs)]
    for process in PROCESSES:
        lines.append(f"| {process} | " + " | ".join(f"{r.cpu_us[process]} µs" for r in runs) + " |")
    lines.append(
        "| **all processes** | " + " | ".join(f"**{r.total_ms:.2f} ms**" for r in runs) + " |"
    )
    rows = (
        ("results written (UTC)", lambda r: r.command_date),
        ("load average (1 min) at start-end", lambda r: r.load),
        ("accepted by intake", lambda r: f"{r.accepted} txn/s"),
        ("end to end, until the last probe's alert", lambda r: f"{r.end_to_end} txn/s"),
        ("probes scored by the deadline", lambda r: f"{r.scored_share:.0%}"),
        ("events evaluated by alerting (per 1,000 txn)", lambda r: f"{r.evaluated_per_1000:,.0f}"),
        ("CPU window", lambda r: f"{r.window_s:.0f} s"),
        (
            "scoring CPU per transaction scored (est.)",
            lambda r: (
                f"{r.cpu_seconds('scoring') / (r.scored_share * r.transactions) * 1e6:.0f} µs"
            ),
        ),
        (
            "alerting CPU per event evaluated",
            lambda r: f"{r.cpu_seconds('alerting') / r.evaluated * 1e6:.0f} µs",
        ),
    )
    for title, value in rows:
        lines.append(f"| {title} | " + " | ".join(value(r) for r in runs) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", action="append", required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    runs = [parse(*spec.split(":", 2)) for spec in args.run]
    text = "\n".join(table(runs)) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
