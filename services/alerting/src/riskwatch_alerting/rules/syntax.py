"""Parse rule source into a small whitelisted syntax tree.

Python's own parser (`ast.parse(mode="eval")`) does the tokenising and gives line/column; the
walk below accepts only the node kinds of the rule language and rebuilds them as the frozen
dataclasses of this module, so nothing outside the whitelist reaches the checker or compiler.
"""

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from riskwatch_alerting.rules.errors import RuleSyntaxError, RuleTypeError
from riskwatch_alerting.rules.fields import GROUP_BY_FIELDS, NAMESPACES

MAX_SOURCE_CHARS = 2_000
MAX_NODES = 400
MAX_DEPTH = 40
MAX_NUMBER_DIGITS = 30
MIN_WINDOW_SECONDS = 60
MAX_WINDOW_SECONDS = 90 * 86_400

AGGREGATE_FUNCTIONS = frozenset({"count", "sum", "avg", "max", "min", "distinct"})
SCALAR_FUNCTIONS = frozenset({"abs", "lower", "hour", "weekday"})
LIST_FUNCTION = "list"
_WINDOW_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
_WINDOW_PATTERN = re.compile(r"([1-9][0-9]{0,6})([smhd])")
_LIST_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class Node:
    # Positions do not take part in equality, so the same predicate written twice is one key.
    line: int = field(default=1, compare=False, kw_only=True)
    column: int = field(default=1, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Decimal | str | bool


@dataclass(frozen=True, slots=True)
class FieldRef(Node):
    namespace: str
    name: str

    @property
    def path(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True, slots=True)
class SetLiteral(Node):
    items: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class ListRef(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Aggregate(Node):
    func: str
    argument: "FieldRef | None"  # None for count(txn)
    window_seconds: int
    by: str
    where: "Expr | None"


@dataclass(frozen=True, slots=True)
class Call(Node):
    func: str
    argument: "Expr"


@dataclass(frozen=True, slots=True)
class Negate(Node):
    operand: "Expr"


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    op: str  # + - * /
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    op: str  # == != < <= > >= in "not in"
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    op: str  # and / or
    operands: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: "Expr"


Expr = (
    Literal
    | FieldRef
    | SetLiteral
    | ListRef
    | Aggregate
    | Call
    | Negate
    | Arithmetic
    | Comparison
    | BoolOp
    | Not
)

_ARITHMETIC_OPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}
_COMPARISON_OPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_FRIENDLY_NAMES: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda",
    ast.Subscript: "subscripts ([...])",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.NamedExpr: "assignment (:=)",
    ast.IfExp: "if/else expressions",
    ast.JoinedStr: "f-strings",
    ast.Dict: "dictionaries",
    ast.Set: "set displays ({...}); use a tuple (...)",
    ast.Starred: "star arguments",
    ast.Await: "await",
    ast.Yield: "yield",
}


def parse_rule(source: str) -> Expr:
    """Parse rule source into a whitelisted tree; raises RuleSyntaxError or RuleTypeError."""
    if len(source) > MAX_SOURCE_CHARS:
        raise RuleSyntaxError(f"a rule is at most {MAX_SOURCE_CHARS} characters long")
    if not source.strip():
        raise RuleSyntaxError("the rule is empty")
    tree = _python_parse(source)
    _check_size(tree)
    return _Converter(source).convert(tree.body)


def window_label(seconds: int) -> str:
    """The shortest `within=` text for a window: 3600 -> "1h"."""
    for unit in ("d", "h", "m"):
        if seconds % _WINDOW_UNITS[unit] == 0:
            return f"{seconds // _WINDOW_UNITS[unit]}{unit}"
    return f"{seconds}s"


def render(node: Expr) -> str:
    """Canonical source of a tree; parsing it again gives an equal tree."""
    match node:
        case Literal(value=bool() as flag):
            return "true" if flag else "false"
        case Literal(value=str() as text):
            return json.dumps(text)
        case Literal(value=Decimal() as number):
            return str(number)
        case FieldRef():
            return node.path
        case SetLiteral(items=items):
            rendered = [render(item) for item in items]
            return "(" + ", ".join(rendered) + ("," if len(rendered) == 1 else "") + ")"
        case ListRef(name=name):
            return f"list({json.dumps(name)})"
        case Aggregate():
            return aggregate_label(node)
        case Call(func=func, argument=argument):
            return f"{func}({render(argument)})"
        case Negate(operand=operand):
            return f"-({render(operand)})"
        case Arithmetic(op=op, left=left, right=right) | Comparison(op=op, left=left, right=right):
            return f"({render(left)} {op} {render(right)})"
        case BoolOp(op=op, operands=operands):
            return "(" + f" {op} ".join(render(operand) for operand in operands) + ")"
        case Not(operand=operand):
            return f"(not {render(operand)})"
    raise AssertionError(f"unexpected node {node!r}")


def aggregate_label(node: Aggregate) -> str:
    """`sum(txn.amount, within="1h", by="account")`: the aggregate as a rule writer reads it."""
    argument = "txn" if node.argument is None else node.argument.path
    text = f'{node.func}({argument}, within="{window_label(node.window_seconds)}", by="{node.by}"'
    if node.where is not None:
        text += f", where={render(node.where)}"
    return text + ")"


def _python_parse(source: str) -> ast.Expression:
    # Wrapped in parentheses on lines of their own so a rule may span lines freely; every
    # reported line is therefore one less than Python's.
    line_count = source.count("\n") + 1
    try:
        return ast.parse(f"(\n{source}\n)", mode="eval")
    except SyntaxError as error:
        line = min(max((error.lineno or 2) - 1, 1), line_count)
        raise RuleSyntaxError(
            error.msg or "invalid syntax", line=line, column=error.offset or 1
        ) from None
    except (ValueError, RecursionError, MemoryError) as error:
        # Null bytes, or input nested beyond what the parser itself accepts.
        raise RuleSyntaxError(f"cannot parse the rule: {type(error).__name__}") from None


def _check_size(tree: ast.Expression) -> None:
    """Count nodes and depth iteratively, so hostile nesting cannot exhaust the stack."""
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    node_count = 0
    while stack:
        node, depth = stack.pop()
        node_count += 1
        if node_count > MAX_NODES:
            raise RuleSyntaxError(f"the rule is too large (more than {MAX_NODES} nodes)")
        if depth > MAX_DEPTH:
            line, column = getattr(node, "lineno", 2) - 1, getattr(node, "col_offset", 0) + 1
            raise RuleSyntaxError(
                f"the rule is nested too deeply (more than {MAX_DEPTH} levels)",
                line=line,
                column=column,
            )
        stack.extend((child, depth + 1) for child in _children(node))


def _children(node: ast.AST) -> Iterator[ast.AST]:
    operators = ast.expr_context | ast.boolop | ast.operator | ast.unaryop | ast.cmpop
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, operators):
            yield child


class _Converter:
    def __init__(self, source: str) -> None:
        self._parsed_source = f"(\n{source}\n)"
        self._encoded_lines = [line.encode("utf-8") for line in source.splitlines() or [""]]

    def convert(self, node: ast.expr) -> Expr:
        line, column = self._position(node)
        match node:
            case ast.BoolOp(op=ast.And() | ast.Or() as op, values=values):
                operands = tuple(self.convert(value) for value in values)
                word = "and" if isinstance(op, ast.And) else "or"
                return BoolOp(word, operands, line=line, column=column)
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return Not(self.convert(operand), line=line, column=column)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                converted = self.convert(operand)
                if isinstance(converted, Literal) and isinstance(converted.value, Decimal):
                    return Literal(-converted.value, line=line, column=column)
                return Negate(converted, line=line, column=column)
            case ast.BinOp(op=op, left=left, right=right) if type(op) in _ARITHMETIC_OPS:
                symbol = _ARITHMETIC_OPS[type(op)]
                return Arithmetic(
                    symbol, self.convert(left), self.convert(right), line=line, column=column
                )
            case ast.Compare():
                return self._comparison(node, line, column)
            case ast.Constant():
                return self._literal(node, line, column)
            case ast.Name(id=name):
                return self._name(name, line, column)
            case ast.Attribute():
                return self._field(node, line, column)
            case ast.Tuple(elts=items) | ast.List(elts=items):
                literals = tuple(self._set_item(item) for item in items)
                return SetLiteral(literals, line=line, column=column)
            case ast.Call():
                return self._call(node, line, column)
        raise RuleSyntaxError(f"{self._describe(node)} not allowed", line=line, column=column)

    def _describe(self, node: ast.AST) -> str:
        if isinstance(node, ast.BinOp | ast.UnaryOp):
            operator = node.op
            return f"the operator {type(operator).__name__} is"
        return f"{_FRIENDLY_NAMES.get(type(node), type(node).__name__)} is"

    def _comparison(self, node: ast.Compare, line: int, column: int) -> Expr:
        operands = [self.convert(node.left), *(self.convert(item) for item in node.comparators)]
        pairs: list[Expr] = []
        for index, operator in enumerate(node.ops):
            symbol = _COMPARISON_OPS.get(type(operator))
            if symbol is None:
                raise RuleSyntaxError(
                    f"the operator {type(operator).__name__} is not allowed; use == or !=",
                    line=line,
                    column=column,
                )
            left, right = operands[index], operands[index + 1]
            pairs.append(Comparison(symbol, left, right, line=line, column=column))
        # a < b < c means a < b and b < c, as in Python.
        return (
            pairs[0] if len(pairs) == 1 else BoolOp("and", tuple(pairs), line=line, column=column)
        )

    def _literal(self, node: ast.Constant, line: int, column: int) -> Literal:
        value = node.value
        if isinstance(value, bool | str):
            return Literal(value, line=line, column=column)
        if isinstance(value, int | float):
            return Literal(self._decimal(node, line, column), line=line, column=column)
        kind = "null" if value is None else type(value).__name__
        raise RuleSyntaxError(f"{kind} literals are not allowed", line=line, column=column)

    def _decimal(self, node: ast.Constant, line: int, column: int) -> Decimal:
        # Read the literal's own text, so 0.1 is exactly Decimal("0.1"), not the float.
        text = (ast.get_source_segment(self._parsed_source, node) or "").replace("_", "")
        digits = sum(character.isdigit() for character in text)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise RuleSyntaxError("invalid number", line=line, column=column) from None
        exponent = number.as_tuple().exponent
        if (
            digits > MAX_NUMBER_DIGITS
            or not number.is_finite()
            or not isinstance(exponent, int)
            or not -MAX_NUMBER_DIGITS <= exponent + len(number.as_tuple().digits) <= 20
        ):
            raise RuleSyntaxError("number out of range", line=line, column=column)
        return number

    def _name(self, name: str, line: int, column: int) -> Literal:
        if name in {"true", "True"}:
            return Literal(True, line=line, column=column)
        if name in {"false", "False"}:
            return Literal(False, line=line, column=column)
        if name in NAMESPACES:
            raise RuleTypeError(
                f"'{name}' is a namespace; name a field, e.g. {name}.<field>",
                line=line,
                column=column,
            )
        raise RuleTypeError(
            f"unknown name '{name}'; fields are written namespace.field", line=line, column=column
        )

    def _field(self, node: ast.Attribute, line: int, column: int) -> FieldRef:
        if not isinstance(node.value, ast.Name) or node.value.id not in NAMESPACES:
            raise RuleSyntaxError(
                "attributes are only allowed as namespace.field, namespaces: "
                + ", ".join(NAMESPACES),
                line=line,
                column=column,
            )
        if node.attr.startswith("_"):
            raise RuleSyntaxError(
                "names starting with '_' are not allowed", line=line, column=column
            )
        return FieldRef(node.value.id, node.attr, line=line, column=column)

    def _set_item(self, node: ast.expr) -> Literal:
        converted = self.convert(node)
        if not isinstance(converted, Literal) or isinstance(converted.value, bool):
            line, column = self._position(node)
            raise RuleSyntaxError(
                "a tuple holds only number or string literals", line=line, column=column
            )
        return converted

    def _call(self, node: ast.Call, line: int, column: int) -> Expr:
        if not isinstance(node.func, ast.Name):
            raise RuleSyntaxError("only the rule functions may be called", line=line, column=column)
        name = node.func.id
        if name in AGGREGATE_FUNCTIONS:
            return self._aggregate(node, name, line, column)
        if name not in SCALAR_FUNCTIONS and name != LIST_FUNCTION:
            allowed = ", ".join(sorted(AGGREGATE_FUNCTIONS | SCALAR_FUNCTIONS | {LIST_FUNCTION}))
            raise RuleSyntaxError(
                f"unknown function '{name}'; functions: {allowed}", line=line, column=column
            )
        if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
            raise RuleTypeError(f"{name}() takes one argument", line=line, column=column)
        if name == LIST_FUNCTION:
            return self._list(node.args[0], line, column)
        return Call(name, self.convert(node.args[0]), line=line, column=column)

    def _list(self, argument: ast.expr, line: int, column: int) -> ListRef:
        if not (
            isinstance(argument, ast.Constant)
            and isinstance(argument.value, str)
            and _LIST_NAME_PATTERN.fullmatch(argument.value)
        ):
            raise RuleTypeError(
                'list() takes a list name as a string literal, e.g. list("high_risk_countries")',
                line=line,
                column=column,
            )
        return ListRef(argument.value, line=line, column=column)

    def _aggregate(self, node: ast.Call, func: str, line: int, column: int) -> Aggregate:
        if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            example = "txn" if func == "count" else "txn.amount"
            raise RuleTypeError(
                f'{func}() takes one positional argument, e.g. {func}({example}, within="1h")',
                line=line,
                column=column,
            )
        argument = self._aggregate_argument(node.args[0], func)
        keywords: dict[str, ast.expr] = {}
        for keyword in node.keywords:
            if keyword.arg not in {"within", "by", "where"}:
                raise RuleTypeError(
                    f"{func}() accepts the keywords within=, by= and where=",
                    line=line,
                    column=column,
                )
            keywords[keyword.arg] = keyword.value
        if "within" not in keywords:
            raise RuleTypeError(
                f'{func}() needs a window, e.g. within="10m"', line=line, column=column
            )
        window_seconds = self._window(keywords["within"])
        by = self._group_by(keywords.get("by"))
        where = self.convert(keywords["where"]) if "where" in keywords else None
        return Aggregate(func, argument, window_seconds, by, where, line=line, column=column)

    def _aggregate_argument(self, node: ast.expr, func: str) -> FieldRef | None:
        line, column = self._position(node)
        if func == "count":
            if isinstance(node, ast.Name) and node.id == "txn":
                return None
            raise RuleTypeError(
                "count() counts transactions: count(txn, ...)", line=line, column=column
            )
        converted = self.convert(node)
        if not isinstance(converted, FieldRef) or converted.namespace != "txn":
            raise RuleTypeError(
                f"{func}() aggregates a transaction field, e.g. {func}(txn.amount, ...)",
                line=line,
                column=column,
            )
        return converted

    def _window(self, node: ast.expr) -> int:
        line, column = self._position(node)
        text = node.value if isinstance(node, ast.Constant) else None
        match = _WINDOW_PATTERN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise RuleTypeError(
                'within= takes a duration literal such as "30s", "10m", "1h" or "7d"',
                line=line,
                column=column,
            )
        seconds = int(match.group(1)) * _WINDOW_UNITS[match.group(2)]
        if not MIN_WINDOW_SECONDS <= seconds <= MAX_WINDOW_SECONDS:
            raise RuleTypeError('within= must be between "1m" and "90d"', line=line, column=column)
        return seconds

    def _group_by(self, node: ast.expr | None) -> str:
        if node is None:
            return "customer"
        line, column = self._position(node)
        if isinstance(node, ast.Constant) and node.value in GROUP_BY_FIELDS:
            return str(node.value)
        raise RuleTypeError(
            "by= is one of " + ", ".join(f'"{name}"' for name in GROUP_BY_FIELDS),
            line=line,
            column=column,
        )

    def _position(self, node: ast.AST) -> tuple[int, int]:
        line = getattr(node, "lineno", 2) - 1
        byte_offset = getattr(node, "col_offset", 0)
        if 1 <= line <= len(self._encoded_lines):
            prefix = self._encoded_lines[line - 1][:byte_offset]
            return line, len(prefix.decode("utf-8", errors="replace")) + 1
        return line, byte_offset + 1
