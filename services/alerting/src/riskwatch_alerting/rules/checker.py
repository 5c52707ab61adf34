"""Type-check a parsed rule against the field catalogue, before it is ever saved."""

from decimal import Decimal

from riskwatch_alerting.rules.errors import RuleTypeError
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
    Node,
    Not,
    SetLiteral,
)
from riskwatch_shared.risk import LEVEL_RANK, RISK_LEVELS

_STRINGISH = frozenset({FieldType.STRING, FieldType.LEVEL})
_ORDERING = frozenset({"<", "<=", ">", ">="})
_SCALAR_SIGNATURES: dict[str, tuple[frozenset[FieldType], FieldType]] = {
    "abs": (frozenset({FieldType.NUMBER}), FieldType.NUMBER),
    "lower": (_STRINGISH, FieldType.STRING),
    "hour": (frozenset({FieldType.TIMESTAMP}), FieldType.NUMBER),
    "weekday": (frozenset({FieldType.TIMESTAMP}), FieldType.NUMBER),
}


def check_rule(tree: Expr) -> None:
    """Raise RuleTypeError unless `tree` is a well-typed condition."""
    _require_condition(tree, _TypeChecker(in_where=False).infer(tree))


def check_where(tree: Expr) -> None:
    """Check an aggregate's `where=` predicate: a condition over txn fields only."""
    _require_condition(tree, _TypeChecker(in_where=True).infer(tree))


def _require_condition(tree: Expr, inferred: FieldType) -> None:
    if inferred is not FieldType.BOOL:
        _fail(tree, f"a rule must be a condition (true or false), this is a {inferred}")


def _fail(node: Node, message: str) -> None:
    raise RuleTypeError(message, line=node.line, column=node.column)


class _TypeChecker:
    def __init__(self, *, in_where: bool) -> None:
        self._in_where = in_where

    def infer(self, node: Expr) -> FieldType:
        match node:
            case Literal(value=bool()):
                return FieldType.BOOL
            case Literal(value=str()):
                return FieldType.STRING
            case Literal():
                return FieldType.NUMBER
            case FieldRef():
                return self._field(node)
            case SetLiteral() | ListRef():
                _fail(node, "a tuple or list() can only stand on the right of 'in' / 'not in'")
            case Aggregate():
                return self._aggregate(node)
            case Call(func=func, argument=argument):
                accepted, result = _SCALAR_SIGNATURES[func]
                self._expect(argument, accepted, f"{func}()")
                return result
            case Negate(operand=operand):
                self._expect(operand, {FieldType.NUMBER}, "unary -")
                return FieldType.NUMBER
            case Arithmetic(op=op, left=left, right=right):
                self._expect(left, {FieldType.NUMBER}, f"'{op}'")
                self._expect(right, {FieldType.NUMBER}, f"'{op}'")
                return FieldType.NUMBER
            case Comparison():
                self._comparison(node)
                return FieldType.BOOL
            case BoolOp(op=op, operands=operands):
                for operand in operands:
                    self._expect(operand, {FieldType.BOOL}, f"'{op}'")
                return FieldType.BOOL
            case Not(operand=operand):
                self._expect(operand, {FieldType.BOOL}, "'not'")
                return FieldType.BOOL
        raise AssertionError(f"unexpected node {node!r}")

    def _expect(
        self, node: Expr, accepted: set[FieldType] | frozenset[FieldType], where: str
    ) -> None:
        inferred = self.infer(node)
        if inferred not in accepted:
            wanted = " or ".join(sorted(accepted))
            _fail(node, f"{where} needs a {wanted}, this is a {inferred}")

    def _field(self, node: FieldRef) -> FieldType:
        spec = FIELD_CATALOGUE.get(node.path)
        if spec is None:
            known = sorted(
                path for path in FIELD_CATALOGUE if path.startswith(node.namespace + ".")
            )
            _fail(node, f"unknown field '{node.path}'; {node.namespace} has: " + ", ".join(known))
            raise AssertionError
        if self._in_where and node.namespace != "txn":
            _fail(node, "where= may only use txn fields")
        return spec.type

    def _aggregate(self, node: Aggregate) -> FieldType:
        if self._in_where:
            _fail(node, "aggregates cannot be nested inside where=")
        if node.argument is not None:
            field_type = self._field(node.argument)
            if node.func == "distinct" and field_type not in _STRINGISH:
                _fail(node.argument, "distinct() counts values of a text field, e.g. txn.country")
            if node.func != "distinct" and field_type is not FieldType.NUMBER:
                _fail(node.argument, f"{node.func}() needs a number field, this is a {field_type}")
        if node.where is not None:
            check_where(node.where)
        return FieldType.NUMBER

    def _comparison(self, node: Comparison) -> None:
        if node.op in {"in", "not in"}:
            self._membership(node)
            return
        for side in (node.left, node.right):
            if isinstance(side, SetLiteral | ListRef):
                _fail(side, f"a tuple or list() needs 'in', not '{node.op}'")
        left, right = self.infer(node.left), self.infer(node.right)
        if FieldType.TIMESTAMP in (left, right):
            _fail(node, "timestamps are compared through hour() or weekday()")
        if FieldType.LEVEL in (left, right):
            self._level_comparison(node, left, right)
            return
        if left is not right:
            _fail(node, f"cannot compare a {left} with a {right}")
        if node.op in _ORDERING and left is not FieldType.NUMBER:
            _fail(node, f"'{node.op}' compares numbers or risk levels, not {left} values")

    def _level_comparison(self, node: Comparison, left: FieldType, right: FieldType) -> None:
        for side, side_type in ((node.left, left), (node.right, right)):
            if side_type is FieldType.LEVEL:
                continue
            if isinstance(side, Literal) and side_type is FieldType.STRING:
                _require_level_literal(side)
            elif side_type is not FieldType.STRING or node.op in _ORDERING:
                _fail(
                    node, f'a risk level is compared with a level such as "high", not a {side_type}'
                )

    def _membership(self, node: Comparison) -> None:
        left = self.infer(node.left)
        container = node.right
        if isinstance(container, ListRef):
            if self._in_where:
                _fail(container, "where= cannot use managed lists")
            if left not in _STRINGISH:
                _fail(node, f"managed lists hold text values, this is a {left}")
            return
        if not isinstance(container, SetLiteral):
            _fail(container, "'in' needs a tuple of literals or list(\"name\") on its right")
            raise AssertionError
        wanted: type = Decimal if left is FieldType.NUMBER else str
        if left not in _STRINGISH and left is not FieldType.NUMBER:
            _fail(node, f"'in' tests a number or text value, this is a {left}")
        for item in container.items:
            if not isinstance(item.value, wanted):
                _fail(item, f"this tuple holds {left} values; {render_value(item)} is not one")
            if left is FieldType.LEVEL:
                _require_level_literal(item)


def _require_level_literal(literal: Literal) -> None:
    if literal.value not in LEVEL_RANK:
        _fail(
            literal,
            f"{render_value(literal)} is not a risk level; levels: " + ", ".join(RISK_LEVELS),
        )


def render_value(literal: Literal) -> str:
    return f'"{literal.value}"' if isinstance(literal.value, str) else str(literal.value)
