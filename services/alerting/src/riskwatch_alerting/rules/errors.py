"""Typed errors of the rule language, each pointing at a 1-based line and column."""


class RuleError(Exception):
    """A rule that cannot be saved; `line` and `column` are 1-based positions in its source."""

    def __init__(self, message: str, *, line: int = 1, column: int = 1) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column


class RuleSyntaxError(RuleError):
    """The source is not a well-formed rule, or uses syntax outside the whitelist."""


class RuleTypeError(RuleError):
    """The rule is well formed but mixes types, names an unknown field or misuses a function."""
