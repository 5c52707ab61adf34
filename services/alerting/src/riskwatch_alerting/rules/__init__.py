"""The alerting rule language: parse, type-check, compile, evaluate; windows; templates."""

from riskwatch_alerting.rules.aggregates import AggregateSpec
from riskwatch_alerting.rules.compiler import CompiledRule, compile_rule, compile_where
from riskwatch_alerting.rules.errors import RuleError, RuleSyntaxError, RuleTypeError
from riskwatch_alerting.rules.fields import FIELD_CATALOGUE, FieldSpec, FieldType
from riskwatch_alerting.rules.values import RuleContext

__all__ = [
    "FIELD_CATALOGUE",
    "AggregateSpec",
    "CompiledRule",
    "FieldSpec",
    "FieldType",
    "RuleContext",
    "RuleError",
    "RuleSyntaxError",
    "RuleTypeError",
    "compile_rule",
    "compile_where",
]
