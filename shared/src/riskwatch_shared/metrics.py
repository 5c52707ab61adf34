"""Prometheus metrics shared by every service (one definition per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "riskwatch_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "riskwatch_http_request_duration_seconds",
    "HTTP request duration",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
OUTBOX_BACKLOG = Gauge("riskwatch_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_PUBLISHED = Counter(
    "riskwatch_outbox_published_total", "Outbox rows published to JetStream", ["service"]
)
CONSUMER_HANDLED = Counter(
    "riskwatch_consumer_handled_total", "Events handled (committed)", ["consumer"]
)
CONSUMER_DUPLICATES = Counter(
    "riskwatch_consumer_duplicates_total", "Redelivered events skipped by the inbox", ["consumer"]
)
CONSUMER_FAILED = Counter(
    "riskwatch_consumer_failed_total", "Handler failures (nak'd for retry)", ["consumer"]
)
CONSUMER_DEAD_LETTERED = Counter(
    "riskwatch_consumer_dead_lettered_total", "Events sent to the dead-letter stream", ["consumer"]
)
# The operator's alarm (k8s/prometheus-rules.yaml): any increase means work is waiting for a
# person. Only poison is dead-lettered; an outage never is.
DEAD_LETTERS = Counter(
    "riskwatch_dead_letters_total", "Poison events dead-lettered", ["consumer", "reason"]
)
DEAD_LETTERS_REDRIVEN = Counter(
    "riskwatch_dead_letters_redriven_total",
    "Dead letters re-driven to their consumer",
    ["consumer"],
)
CONSUMER_TRANSIENT = Counter(
    "riskwatch_consumer_transient_failures_total",
    "Batches that failed on an unavailable dependency (retried, never dead-lettered)",
    ["consumer"],
)
CONSUMER_PAUSED = Gauge(
    "riskwatch_consumer_paused", "1 while a consumer waits for its dependencies", ["consumer"]
)
INBOX_PRUNED = Counter(
    "riskwatch_inbox_pruned_total", "Inbox rows deleted past their retention", ["service"]
)
CONSUMER_LAG = Gauge("riskwatch_consumer_lag", "Messages pending for a consumer", ["consumer"])
CONSUMER_UP = Gauge("riskwatch_consumer_up", "1 while the consumer loop is healthy", ["consumer"])

# Detection health (issue 23; docs/detection-health.md): per rule, counted by alerting's event
# path (counters: sum over replicas) and set by its periodic health check (gauges: the same
# value from every replica, so dashboards take max by rule).
RULE_MATCHES = Counter(
    "riskwatch_rule_matches_total",
    "Rule matches (alerts raised plus repeats folded into open alerts)",
    ["rule_id", "rule"],
)
RULE_ALERTS = Counter("riskwatch_rule_alerts_total", "Alerts raised by a rule", ["rule_id", "rule"])
RULE_FIRE_RATE = Gauge(
    "riskwatch_rule_fire_rate", "Matches per trigger event evaluated (28 days)", ["rule_id", "rule"]
)
RULE_ALERTS_LAST_24H = Gauge(
    "riskwatch_rule_alerts_last_24h", "Alerts raised in the last 24 hours", ["rule_id", "rule"]
)
RULE_BASELINE_RATIO = Gauge(
    "riskwatch_rule_baseline_ratio",
    "Alerts of the last 24 hours over the rule's own baseline (median a day)",
    ["rule_id", "rule"],
)
RULE_PRECISION = Gauge(
    "riskwatch_rule_precision",
    "True positives over dispositioned alerts (28 days)",
    ["rule_id", "rule"],
)
OPERATIONAL_ALERTS = Counter(
    "riskwatch_operational_alerts_total", "Operational alerts raised (rule spikes, drift)", ["kind"]
)
# Set by scoring's periodic drift check, per serving model.
MODEL_DRIFT_PSI = Gauge(
    "riskwatch_model_drift_psi",
    "PSI of a serving model's recent scores against its baseline",
    ["model_id", "kind", "status"],
)
