"""Evaluations per second of compiled alert rules vs the `rule-engine` library, one core.

Run: .venv/bin/python bench/rule_engine_bench.py
Writes bench/results/rule_engine.md.
"""

import functools
import os
import platform
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import rule_engine

from riskwatch_alerting.rules import AggregateSpec, CompiledRule, RuleContext, compile_rule
from riskwatch_alerting.rules.fields import LEVEL_RANK
from riskwatch_alerting.rules.syntax import (
    Aggregate,
    Arithmetic,
    BoolOp,
    Call,
    Comparison,
    Expr,
    FieldRef,
    ListRef,
    Literal,
    Negate,
    Not,
    SetLiteral,
)
from riskwatch_alerting.rules.templates import TEMPLATES

RESULTS = Path(__file__).parent / "results" / "rule_engine.md"
SIMPLE = ("utilisation_high", "debt_to_income_high", "bureau_score_drop", "anomaly_score_high")
MEASURE_SECONDS = 0.4
TRIGGER_RISK = {
    "credit_level": "high",
    "previous_credit_level": "medium",
    "credit_level_changed": True,
}


def build_context() -> RuleContext:
    aggregates: dict[AggregateSpec, object] = {}
    for template in TEMPLATES:
        for spec in compile_rule(template.condition).aggregates:
            aggregates[spec] = 4 if spec.func == "count" else Decimal("2500.00")
    return RuleContext(
        txn={
            "direction": "outbound",
            "amount": Decimal("9500.00"),
            "amount_to_avg_30d": Decimal("6.2"),
            "channel": "online",
            "country": "DE",
            "counterparty_country": "FR",
            "counterparty_account": "FR7630006000011234567890189",
            "hour": 3,
            "is_new_country": False,
            "is_new_device": True,
            "is_new_counterparty": True,
        },
        customer={
            "avg_amount_30d": Decimal("640.10"),
            "debt_to_income": Decimal("0.42"),
            "missed_payments": 0,
            "delinquencies_30": 0,
            "delinquencies_60": 0,
            "delinquencies_90": 0,
            "utilisation": Decimal("0.93"),
            "bureau_score_change": -12,
            "days_since_last_activity": 3,
            "activity_trend_90d": Decimal("-0.1"),
            "balance_trend_90d": Decimal("-0.2"),
            "outflow_ratio_30d": Decimal("1.1"),
            "complaints_90d": 1,
        },
        risk={**TRIGGER_RISK, "churn_level": "medium", "churn_probability": Decimal("0.4")},
        score={"anomaly": Decimal("0.71"), "anomaly_level": "high"},
        lists={
            "high_risk_countries": frozenset({"KP", "IR", "SY"}),
            "watchlist_accounts": frozenset({"X1"}),
        },
        aggregates=aggregates,
    )


class RuleEngineTranslation:
    """The same condition in rule-engine syntax; aggregates and level ranks are precomputed."""

    def __init__(self, rule: CompiledRule) -> None:
        self.symbols: dict[str, Callable[[RuleContext], object]] = {}
        self.text = self._render(rule.tree)

    def thing(self, context: RuleContext) -> dict[str, object]:
        return {symbol: read(context) for symbol, read in self.symbols.items()}

    def _symbol(self, name: str, read: Callable[[RuleContext], object]) -> str:
        self.symbols[name] = read
        return name

    def _render(self, node: Expr) -> str:
        match node:
            case Literal(value=bool() as flag):
                return "true" if flag else "false"
            case Literal(value=str() as text):
                return f'"{text}"'
            case Literal(value=number):
                return str(number)
            case FieldRef(namespace=namespace, name=name):
                return self._symbol(
                    f"{namespace}_{name}", lambda c: getattr(c, namespace).get(name)
                )
            case SetLiteral(items=items):
                return "[" + ", ".join(self._render(item) for item in items) + "]"
            case ListRef(name=name):
                return self._symbol(f"list_{name}", lambda c: set(c.lists[name]))
            case Aggregate():
                index = len(self.symbols)
                spec = compile_rule(f"{_aggregate_text(node)} > 0").aggregates[0]
                return self._symbol(f"aggregate_{index}", lambda c: c.aggregates[spec])
            case Comparison(op=op, left=left, right=right) if op in {"<", "<=", ">", ">="} and (
                _is_level(left) or _is_level(right)
            ):
                return f"({self._rank(left)} {op} {self._rank(right)})"
            case (
                Comparison(op=op, left=left, right=right)
                | Arithmetic(op=op, left=left, right=right)
            ):
                return f"({self._render(left)} {op} {self._render(right)})"
            case BoolOp(op=op, operands=operands):
                return "(" + f" {op} ".join(self._render(item) for item in operands) + ")"
            case Not(operand=operand):
                return f"not {self._render(operand)}"
            case Negate(operand=operand):
                return f"-{self._render(operand)}"
            case Call():
                raise ValueError("the shipped templates use no scalar functions")
        raise AssertionError(node)

    def _rank(self, node: Expr) -> str:
        if isinstance(node, Literal) and isinstance(node.value, str):
            return str(LEVEL_RANK[node.value])
        assert isinstance(node, FieldRef)
        namespace, name = node.namespace, node.name
        return self._symbol(
            f"rank_{namespace}_{name}",
            lambda c: LEVEL_RANK.get(str(getattr(c, namespace).get(name)), -1),
        )


def _is_level(node: Expr) -> bool:
    return (
        isinstance(node, FieldRef) and node.path.startswith("risk.") and node.name.endswith("level")
    )


def _aggregate_text(node: Aggregate) -> str:
    from riskwatch_alerting.rules.syntax import aggregate_label

    return aggregate_label(node)


def rate(evaluate: Callable[[], object]) -> float:
    """Evaluations per second: calls in batches of 1,000 for MEASURE_SECONDS, best of 3."""
    best = 0.0
    for _ in range(3):
        calls, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < MEASURE_SECONDS:
            for _ in range(1_000):
                evaluate()
            calls += 1_000
        best = max(best, calls / elapsed)
    return best


def main() -> None:
    context = build_context()
    engine_context = rule_engine.Context(default_value=None)
    rows = []
    for template in TEMPLATES:
        compiled = compile_rule(template.condition)
        translation = RuleEngineTranslation(compiled)
        library_rule = rule_engine.Rule(translation.text, context=engine_context)
        thing = translation.thing(context)
        assert library_rule.matches(thing) == compiled.evaluate(context), template.key
        ours = rate(functools.partial(compiled.evaluate, context))
        theirs = rate(functools.partial(library_rule.matches, thing))
        kind = "simple" if template.key in SIMPLE else "complex"
        rows.append((template.key, kind, compiled.evaluate(context), ours, theirs))
        print(
            f"{template.key:40} {kind:8} {ours:>12,.0f}/s {theirs:>10,.0f}/s {ours / theirs:6.0f}x"
        )
    floor = rate(functools.partial(_one_field_read, context))
    print(f"{'CPython floor (one call + one field read)':40} {floor:>21,.0f}/s")
    write_results(rows, floor)


def _one_field_read(context: RuleContext) -> bool:
    """The least a rule evaluation can cost in CPython: one call, one namespace, one get."""
    return context.customer.get("utilisation") is not None


def write_results(rows: list[tuple[str, str, bool, float, float]], floor: float) -> None:
    lines = [
        "## Rule engine: compiled alert rules vs `rule-engine`",
        "",
        f"Single core, Python {platform.python_version()} on {platform.machine()}, "
        f"`rule-engine` {rule_engine.__version__}; best of 3 runs of {MEASURE_SECONDS} s per rule; "
        f"1-minute load average {os.getloadavg()[0]:.1f} when written. "
        "Both evaluate the same shipped template conditions on the same context; for "
        "`rule-engine` the aggregates and level ranks are precomputed plain fields (its "
        "evaluation gets that work for free). Reproduce: "
        "`.venv/bin/python bench/rule_engine_bench.py`.",
        "",
        "| template | kind | fires | compiled evals/s | rule-engine evals/s | speed-up |",
        "|---|---|---|---:|---:|---:|",
    ]
    for key, kind, fires, ours, theirs in rows:
        lines.append(
            f"| {key} | {kind} | {'yes' if fires else 'no'} | {ours:,.0f} | {theirs:,.0f} "
            f"| {ours / theirs:,.0f}x |"
        )
    for kind in ("simple", "complex"):
        selected = [row for row in rows if row[1] == kind]
        slowest = min(row[3] for row in selected)
        speedup = min(row[3] / row[4] for row in selected)
        lines.append("")
        lines.append(
            f"- {kind} conditions: slowest {slowest:,.0f} evals/s; "
            f"smallest speed-up {speedup:,.0f}x"
        )
    library_fastest = max(row[4] for row in rows if row[1] == "simple")
    lines += [
        "",
        f"- CPython floor on this machine: a call that reads one field and tests it runs "
        f"{floor:,.0f} times/s. 100x `rule-engine` on its fastest simple condition "
        f"({library_fastest:,.0f} evals/s) would need {100 * library_fastest:,.0f} evals/s, "
        f"{100 * library_fastest / floor:,.1f}x the floor: out of reach for any Python "
        "evaluator, compiled or not. The 100x is met where the library is slow (list "
        "membership, several clauses); on one-comparison conditions the compiled rule runs "
        "within a small factor of the floor (missing-value and Decimal normalisation are the "
        "rest).",
        "- Made faster for this run: a compiled rule takes the RuleContext and loads only the "
        "namespaces it reads (was: seven arguments per call); aggregate specs hash once and "
        "compare fast (they are dict keys on the hot path); ints skip the number coercion call.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
