"""The alerting service's pure logic: no I/O, no ORM, no HTTP, no NATS (a test enforces it).

What rules read (`evaluation_input`), evaluating them (`evaluation`), replaying history
(`backtest`), the alert lifecycle, the desk's SLA badges, an alert's words, cases and
suppressions. The rule language itself is the `rules` package, pure as well.
"""
