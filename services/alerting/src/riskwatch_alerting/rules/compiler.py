"""Compile a checked rule once into a Python function; evaluate it per event.

The whitelisted tree becomes straight-line Python source (one local per node, `if` blocks
for the short-circuit of and/or) that is compiled with empty builtins. No user text reaches
the generated source: field names come from the catalogue and every literal is passed in as
a constant.

Missing values (an absent key, None, or a value of the wrong type) follow SQL's three-valued
logic: arithmetic and comparisons on a missing value are unknown, `not unknown` is unknown,
`false and unknown` is false, `true or unknown` is true. A rule fires only when its condition
is true, so a missing value never fires a rule and never raises. Division by zero is unknown.
Numbers are Decimal: literals are read from their source text, floats in the context are
converted through their shortest repr (0.9 stays 0.9), ints stay ints.
"""

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from riskwatch_alerting.rules.aggregates import AggregateSpec
from riskwatch_alerting.rules.checker import check_rule, check_where
from riskwatch_alerting.rules.fields import FIELD_CATALOGUE, FieldType
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
    parse_rule,
    render,
)
from riskwatch_alerting.rules.values import RuleContext
from riskwatch_shared.risk import LEVEL_RANK

# A compiled rule takes the RuleContext and reads only the namespaces it uses.
_CONTEXT_ATTRIBUTES = {
    "txn": "txn",
    "customer": "customer",
    "risk": "risk",
    "score": "score",
    "event": "event",
    "lists": "lists",
    "aggs": "aggregates",
}
_ORDERING = frozenset({"<", "<=", ">", ">="})

RuleFunction = Callable[..., bool | None]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule compiled once; `evaluate` is the per-event hot path."""

    source: str
    tree: Expr
    fields: tuple[str, ...]
    aggregates: tuple[AggregateSpec, ...]
    lists: tuple[str, ...]
    python_source: str
    # The generated function itself, so an evaluation is one call: True only when the
    # condition is true; unknown (missing values) and pathological values (Decimal NaN, a
    # non-container list) are False, caught inside the generated code.
    evaluate: Callable[[RuleContext], bool]

    def evidence(self, context: RuleContext) -> dict[str, object]:
        """The value of every field and aggregate the condition reads, for the alert report."""
        namespaces: dict[str, Mapping[str, object]] = {
            "txn": context.txn,
            "customer": context.customer,
            "risk": context.risk,
            "score": context.score,
            "event": context.event,
        }
        values: dict[str, object] = {}
        for path in self.fields:
            namespace, name = path.split(".", 1)
            values[path] = namespaces[namespace].get(name)
        for spec in self.aggregates:
            values[spec.label] = context.aggregates.get(spec)
        return values


def compile_rule(source: str) -> CompiledRule:
    """Parse, type-check and compile `source`; raises RuleSyntaxError or RuleTypeError."""
    tree = parse_rule(source)
    check_rule(tree)
    generator = _CodeGenerator()
    python_source, function = generator.build("_rule", "ctx", tree, from_context=True)
    return CompiledRule(
        source=source,
        tree=tree,
        fields=tuple(generator.fields),
        aggregates=tuple(generator.aggregates),
        lists=tuple(generator.lists),
        python_source=python_source,
        evaluate=cast(Callable[[RuleContext], bool], function),
    )


def aggregate_spec(node: Aggregate) -> AggregateSpec:
    """The hashable key of an aggregate node; equal specs are one object (interned), so the
    window and context lookups on the hot path hit on identity."""
    spec = AggregateSpec(
        func=node.func,
        field=None if node.argument is None else node.argument.name,
        window_seconds=node.window_seconds,
        by=node.by,
        where=None if node.where is None else render(node.where),
    )
    return _INTERNED_SPECS.setdefault(spec, spec)


_INTERNED_SPECS: dict[AggregateSpec, AggregateSpec] = {}


@functools.lru_cache(maxsize=1024)
def compile_where(where: str) -> Callable[[Mapping[str, object]], bool]:
    """Compile an AggregateSpec's `where` text into a predicate over one transaction."""
    tree = parse_rule(where)
    check_where(tree)
    _, function = _CodeGenerator().build("_where", "txn", tree)

    def predicate(txn: Mapping[str, object]) -> bool:
        try:
            return function(txn) is True
        except (ArithmeticError, TypeError, ValueError):
            return False

    return predicate


def number_or_none(value: object) -> Decimal | int | None:
    """A context value as a rule number: Decimal or int; anything else is missing."""
    if value.__class__ is Decimal or value.__class__ is int:
        return value
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return value
    return None


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _aware(value: object) -> datetime | None:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC)
    return None


def _hour(value: object) -> int | None:
    moment = _aware(value)
    return None if moment is None else moment.hour


def _weekday(value: object) -> int | None:
    moment = _aware(value)
    return None if moment is None else moment.weekday()


def _divide(dividend: Decimal | int, divisor: Decimal | int) -> Decimal:
    return Decimal(dividend) / divisor


_HELPERS: dict[str, object] = {
    "_D": Decimal,
    "_EXC": (ArithmeticError, TypeError, ValueError),
    "_I": int,
    "_num": number_or_none,
    "_str": _text_or_none,
    "_S": str,
    "_hour": _hour,
    "_weekday": _weekday,
    "_div": _divide,
    "_abs": abs,
    "_R": LEVEL_RANK,
}


class _CodeGenerator:
    def __init__(self) -> None:
        self._lines: list[str] = []
        self._constants: dict[str, object] = {}
        self._constant_names: dict[tuple[type, object], str] = {}
        self._temporaries = 0
        self.fields: list[str] = []
        self.aggregates: list[AggregateSpec] = []
        self.lists: list[str] = []

    def build(
        self, name: str, parameters: str, tree: Expr, *, from_context: bool = False
    ) -> tuple[str, RuleFunction]:
        if not from_context:
            result = self._expression(tree, 1, {})
            self._lines.append(f"    return {result}")
        else:
            # The whole body inside one try: free in CPython 3.11 unless something raises.
            result = self._expression(tree, 2, {})
            self._lines[:0] = ["    try:"]
            self._lines += [
                f"        return {result} is True",
                "    except _EXC:",
                "        return False",
            ]
            used = {path.split(".", 1)[0] for path in self.fields}
            used |= {"lists"} if self.lists else set()
            used |= {"aggs"} if self.aggregates else set()
            prologue = [
                f"    {local} = ctx.{attribute}"
                for local, attribute in _CONTEXT_ATTRIBUTES.items()
                if local in used
            ]
            self._lines[:0] = prologue
        python_source = f"def {name}({parameters}):\n" + "\n".join(self._lines) + "\n"
        namespace: dict[str, Any] = {"__builtins__": {}, **_HELPERS, **self._constants}
        exec(compile(python_source, f"<rule {name}>", "exec"), namespace)
        function: RuleFunction = namespace[name]
        return python_source, function

    def _emit(self, indent: int, line: str) -> None:
        self._lines.append("    " * indent + line)

    def _temporary(self) -> str:
        self._temporaries += 1
        return f"t{self._temporaries}"

    def _constant(self, value: object) -> str:
        key = (type(value), value)
        if key not in self._constant_names:
            name = f"_c{len(self._constant_names)}"
            self._constant_names[key] = name
            self._constants[name] = value
        return self._constant_names[key]

    def _expression(self, node: Expr, indent: int, loaded: dict[object, str]) -> str:
        match node:
            case Literal(value=bool() as flag):
                return "True" if flag else "False"
            case Literal(value=value):
                return self._constant(value)
            case FieldRef():
                return self._load_field(node, indent, loaded)
            case Aggregate():
                return self._load_aggregate(node, indent, loaded)
            case Comparison():
                return self._comparison(node, indent, loaded)
            case BoolOp():
                return self._bool_op(node, indent, loaded)
        return self._unknown_propagating(node, indent, loaded)

    def _unknown_propagating(self, node: Expr, indent: int, loaded: dict[object, str]) -> str:
        """Operators whose result is unknown as soon as an operand is."""
        target = self._temporary()
        match node:
            case Not(operand=operand):
                value = self._expression(operand, indent, loaded)
                self._emit(indent, f"{target} = None if {value} is None else not {value}")
            case Negate(operand=operand):
                value = self._expression(operand, indent, loaded)
                self._emit(indent, f"{target} = None if {value} is None else -{value}")
            case Call(func=func, argument=argument):
                value = self._expression(argument, indent, loaded)
                self._emit(indent, f"{target} = {self._call(func, value)}")
            case Arithmetic(op=op, left=left, right=right):
                left_value = self._expression(left, indent, loaded)
                right_value = self._expression(right, indent, loaded)
                unknown = _any_none(left_value, right_value)
                if op == "/":
                    unknown = f"{unknown} or not {right_value}" if unknown else f"not {right_value}"
                    operation = f"_div({left_value}, {right_value})"
                else:
                    operation = f"{left_value} {op} {right_value}"
                self._emit(indent, _guarded(target, unknown, operation))
            case _:
                raise AssertionError(f"unexpected node {node!r}")
        return target

    @staticmethod
    def _call(func: str, value: str) -> str:
        if func == "abs":
            return f"None if {value} is None else _abs({value})"
        if func == "lower":
            return f"None if {value} is None else {value}.lower()"
        return f"_{func}({value})"

    def _load_field(self, node: FieldRef, indent: int, loaded: dict[object, str]) -> str:
        if node.path in loaded:
            return loaded[node.path]
        if node.path not in self.fields:
            self.fields.append(node.path)
        target = self._temporary()
        self._emit(indent, f"{target} = {node.namespace}.get({node.name!r})")
        self._normalise(FIELD_CATALOGUE[node.path].type, target, indent)
        loaded[node.path] = target
        return target

    def _load_aggregate(self, node: Aggregate, indent: int, loaded: dict[object, str]) -> str:
        spec = aggregate_spec(node)
        if spec in loaded:
            return loaded[spec]
        if spec not in self.aggregates:
            self.aggregates.append(spec)
        target = self._temporary()
        self._emit(indent, f"{target} = aggs.get({self._constant(spec)})")
        self._normalise(FieldType.NUMBER, target, indent)
        loaded[spec] = target
        return target

    def _normalise(self, field_type: FieldType, target: str, indent: int) -> None:
        """Coerce a context value to the rule's representation; a wrong type is missing."""
        if field_type is FieldType.NUMBER:
            self._emit(
                indent,
                f"if {target}.__class__ is not _D and {target}.__class__ is not _I"
                f" and {target} is not None:",
            )
            self._emit(indent + 1, f"{target} = _num({target})")
        elif field_type in (FieldType.STRING, FieldType.LEVEL):
            self._emit(indent, f"if {target}.__class__ is not _S and {target} is not None:")
            self._emit(indent + 1, f"{target} = _str({target})")
        elif field_type is FieldType.BOOL:
            self._emit(indent, f"if {target} is not True and {target} is not False:")
            self._emit(indent + 1, f"{target} = None")

    def _comparison(self, node: Comparison, indent: int, loaded: dict[object, str]) -> str:
        left = self._expression(node.left, indent, loaded)
        target = self._temporary()
        if node.op in {"in", "not in"}:
            container = self._container(node.right, indent)
            unknown = _any_none(left, container)
            self._emit(indent, _guarded(target, unknown, f"{left} {node.op} {container}"))
            return target
        right = self._expression(node.right, indent, loaded)
        if node.op in _ORDERING and _is_level(node.left, node.right):
            left, right = self._rank(node.left, left, indent), self._rank(node.right, right, indent)
        self._emit(indent, _guarded(target, _any_none(left, right), f"{left} {node.op} {right}"))
        return target

    def _container(self, node: Expr, indent: int) -> str:
        if isinstance(node, ListRef):
            if node.name not in self.lists:
                self.lists.append(node.name)
            target = self._temporary()
            self._emit(indent, f"{target} = lists.get({self._constant(node.name)})")
            return target
        if isinstance(node, SetLiteral):
            return self._constant(frozenset(item.value for item in node.items))
        raise AssertionError(f"unexpected container {node!r}")

    def _rank(self, node: Expr, value: str, indent: int) -> str:
        if isinstance(node, Literal) and isinstance(node.value, str):
            return str(LEVEL_RANK[node.value])
        target = self._temporary()
        self._emit(indent, f"{target} = _R.get({value})")
        return target

    def _bool_op(self, node: BoolOp, indent: int, loaded: dict[object, str]) -> str:
        # Kleene logic with short-circuit: stop at the first false (and) / true (or).
        decided = "False" if node.op == "and" else "True"
        target = self._temporary()
        first = self._expression(node.operands[0], indent, loaded)
        self._emit(indent, f"{target} = {first}")
        for operand in node.operands[1:]:
            self._emit(indent, f"if {target} is not {decided}:")
            value = self._expression(operand, indent + 1, dict(loaded))
            self._emit(indent + 1, f"if {value} is {decided}:")
            self._emit(indent + 2, f"{target} = {decided}")
            self._emit(indent + 1, f"elif {value} is None:")
            self._emit(indent + 2, f"{target} = None")
        return target


def _is_level(left: Expr, right: Expr) -> bool:
    return any(
        isinstance(side, FieldRef) and FIELD_CATALOGUE[side.path].type is FieldType.LEVEL
        for side in (left, right)
    )


def _any_none(*values: str) -> str:
    names = [value for value in values if value.startswith("t")]
    return " or ".join(f"{name} is None" for name in names)


def _guarded(target: str, unknown: str, operation: str) -> str:
    if not unknown:
        return f"{target} = {operation}"
    return f"{target} = None if {unknown} else {operation}"
