"""Parser, whitelist and type checker of the alerting rule language."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskwatch_alerting.rules import (
    FIELD_CATALOGUE,
    RuleContext,
    RuleError,
    RuleSyntaxError,
    RuleTypeError,
    compile_rule,
)
from riskwatch_alerting.rules.syntax import parse_rule, render


@pytest.mark.parametrize(
    ("source", "error_type", "line", "column", "message_part"),
    [
        ("txn.amount > ", RuleSyntaxError, 1, 1, "syntax"),
        ("txn.amount > 5 and\n   txn.country == 3", RuleTypeError, 2, 4, "string with a number"),
        ("txn.amount > 5 and txn.amout < 9", RuleTypeError, 1, 20, "unknown field 'txn.amout'"),
        ("txn.amount and true", RuleTypeError, 1, 1, "'and' needs a bool"),
        ('risk.credit_level > "hgh"', RuleTypeError, 1, 21, "not a risk level"),
        ('count(txn, within="100d") > 1', RuleTypeError, 1, 19, "between"),
        ('count(txn, within="10 minutes") > 1', RuleTypeError, 1, 19, "duration"),
        ('sum(txn.country, within="1h") > 1', RuleTypeError, 1, 5, "number field"),
        ('sum(txn.amount, within="1h", by="planet") > 1', RuleTypeError, 1, 33, "by="),
        ('count(txn, within="1h", where=customer.segment == "x") > 1', RuleTypeError, 1, 31, "txn"),
        ("txn.country in list(txn.ip)", RuleTypeError, 1, 16, "string literal"),
        ('txn.amount in list("high_risk_countries")', RuleTypeError, 1, 1, "text values"),
        ('txn.country < "DE"', RuleTypeError, 1, 1, "compares numbers"),
        ("txn.amount + 1", RuleTypeError, 1, 1, "must be a condition"),
        ("txn.occurred_at > 5", RuleTypeError, 1, 1, "hour() or weekday()"),
        ("txn.amount ** 2 > 1", RuleSyntaxError, 1, 1, "Pow"),
        ("txn.amount is None", RuleSyntaxError, 1, 15, "null"),
        ("txn.amount is 1", RuleSyntaxError, 1, 1, "Is"),
        ("amount > 5", RuleTypeError, 1, 1, "unknown name 'amount'"),
        ("\n\n  é and txn.amount > 1", RuleTypeError, 3, 3, "unknown name"),
        ('"é" == "é" and txn.bogus', RuleTypeError, 1, 16, "unknown field"),
    ],
)
def test_errors_carry_line_and_column(
    source: str, error_type: type[RuleError], line: int, column: int, message_part: str
) -> None:
    with pytest.raises(error_type) as caught:
        compile_rule(source)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert message_part in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('true')",
        "txn.__class__",
        "txn.amount.__class__ == 1",
        "().__class__.__bases__",
        "[].__class__.__mro__[1].__subclasses__()",
        "lambda: 1",
        "(lambda: 1)() == 1",
        "[x for x in (1, 2)] == 1",
        "txn['amount'] > 1",
        "open('/etc/passwd')",
        "eval('1')",
        "globals()",
        "txn.get('amount') > 1",
        "lower.__globals__",
        "(y := 1) > 0",
        "f'{txn}' == 'x'",
        "1 if true else 2",
        "b'x' == 'x'",
        "None == txn.amount",
        "{1: 2} == 1",
        "9 ** 9 ** 9 > 1",
        "count(*txn, within='1h') > 1",
        "sum(txn.amount, within='1h', **{'by': 'x'}) > 1",
        "txn._secret == 1",
        "customer.__dict__ == 1",
        "x" * 2_001,
        "not " * 300 + "true",
        "(" * 250 + "1" + ")" * 250 + " > 0",
        "-" * 600 + "1 > 0",
        " or ".join(["txn.amount > 1"] * 150),
        "1e999999 > txn.amount",
        "\x00",
        "",
        "   ",
    ],
)
def test_whitelist_rejects_hostile_input(source: str) -> None:
    with pytest.raises(RuleError):
        compile_rule(source)


def test_multiline_rule_needs_no_parentheses() -> None:
    rule = compile_rule('txn.amount > 5\n  and txn.country == "DE"')
    assert rule.evaluate(RuleContext(txn={"amount": 6, "country": "DE"}))


def test_render_round_trips_to_an_equal_tree() -> None:
    source = (
        'count(txn, within="24h", where=txn.amount >= 9000 and txn.amount < 1e4) >= 3'
        ' and not (txn.country in ("IR", "KP") or -txn.amount < -0.5 * (1 + 2) / 3)'
        ' and risk.credit_level > "low" and 1 < txn.hour < 5'
    )
    tree = parse_rule(source)
    assert parse_rule(render(tree)) == tree


# --- fuzzing -------------------------------------------------------------------------

_FIELD_PATHS = sorted(FIELD_CATALOGUE)
_leaves = st.one_of(
    st.sampled_from(_FIELD_PATHS),
    st.sampled_from(["txn.nope", "risk.__class__", "txn", "x", "list", "__import__"]),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6
    ).map(str),
    st.sampled_from(['"high"', '"DE"', '"low"', "true", "false", "None", "1e400", "0"]),
    st.sampled_from(
        [
            'count(txn, within="10m")',
            'sum(txn.amount, within="1h", by="account")',
            'distinct(txn.country, within="24h")',
            'avg(txn.amount, within="7d", where=txn.amount > 5)',
            'list("high_risk_countries")',
            '("IR", "KP")',
            "(1, 2.5)",
            "hour(txn.occurred_at)",
            "lower(txn.country)",
            "abs(customer.net_worth)",
        ]
    ),
)
_BINARY = [" and ", " or ", " == ", " != ", " < ", " <= ", " > ", " >= ", " in ", " not in "]
_BINARY += [" + ", " - ", " * ", " / ", " ** ", " % ", " if ", "."]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(_BINARY), children).map(
        lambda parts: f"({parts[0]}{parts[1]}{parts[2]})"
    )
    unary = st.tuples(st.sampled_from(["not ", "-", "~", ""]), children).map("".join)
    call = st.tuples(st.sampled_from(["abs", "lower", "min", "open"]), children).map(
        lambda parts: f"{parts[0]}({parts[1]})"
    )
    return st.one_of(binary, unary, call)


_expressions = st.recursive(_leaves, _combine, max_leaves=12)
# Attribute names generated code may read: dict.get, str.lower, __class__, and the
# RuleContext namespaces a compiled rule loads at its start.
_ALLOWED_CODE_NAMES = {
    "get",
    "lower",
    "__class__",
    *("txn", "customer", "risk", "score", "event", "lists", "aggregates"),
}


def _context_values() -> st.SearchStrategy[object]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.floats(allow_nan=True),
        st.decimals(allow_nan=True),
        st.sampled_from(["high", "DE", "low", ""]),
    )


@settings(max_examples=300, deadline=None)
@given(source=_expressions, values=st.lists(_context_values(), min_size=1, max_size=8))
def test_structured_fuzz_only_typed_errors_and_never_escapes(
    source: str, values: list[object]
) -> None:
    try:
        rule = compile_rule(source)
    except RuleError:
        return
    code = compile(rule.python_source, "<fuzz>", "exec").co_consts
    function_code = next(const for const in code if hasattr(const, "co_names"))
    assert set(function_code.co_names) - _ALLOWED_CODE_NAMES <= {
        name for name in function_code.co_names if name.startswith("_")
    }
    mapping = {
        path.split(".", 1)[1]: values[i % len(values)] for i, path in enumerate(_FIELD_PATHS)
    }
    context = RuleContext(txn=mapping, customer=mapping, risk=mapping, score=mapping, event=mapping)
    assert rule.evaluate(context) in (True, False)
    assert set(rule.evidence(context)) >= set(rule.fields)


@settings(max_examples=300, deadline=None)
@given(source=st.text(max_size=200))
def test_random_text_raises_only_typed_errors(source: str) -> None:
    try:
        rule = compile_rule(source)
    except RuleError:
        return
    assert rule.evaluate(RuleContext()) in (True, False)


_NUMBER_FIELDS = sorted(p for p, spec in FIELD_CATALOGUE.items() if spec.type == "number")
_numbers = st.recursive(
    st.one_of(
        st.sampled_from(_NUMBER_FIELDS),
        st.decimals(
            allow_nan=False, allow_infinity=False, places=3, min_value=-999, max_value=999
        ).map(str),
        st.just('sum(txn.amount, within="1h")'),
    ),
    lambda children: st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
        lambda parts: f"({parts[0]} {parts[1]} {parts[2]})"
    ),
    max_leaves=4,
)
_conditions = st.recursive(
    st.one_of(
        st.tuples(_numbers, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _numbers).map(
            " ".join
        ),
        st.just('risk.credit_level >= "high"'),
        st.just('txn.country not in ("IR", "KP")'),
        st.just("txn.is_new_device"),
    ),
    lambda children: st.one_of(
        children.map(lambda inner: f"not ({inner})"),
        st.tuples(children, st.sampled_from(["and", "or"]), children).map(
            lambda parts: f"({parts[0]} {parts[1]} {parts[2]})"
        ),
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(source=_conditions, values=st.lists(_context_values(), min_size=1, max_size=8))
def test_well_typed_rules_compile_and_always_evaluate_to_a_bool(
    source: str, values: list[object]
) -> None:
    rule = compile_rule(source)
    mapping = {
        path.split(".", 1)[1]: values[i % len(values)] for i, path in enumerate(_FIELD_PATHS)
    }
    context = RuleContext(txn=mapping, customer=mapping, risk=mapping, score=mapping)
    assert rule.evaluate(context) in (True, False)
