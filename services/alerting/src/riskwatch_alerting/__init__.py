"""RiskWatch alerting service."""
