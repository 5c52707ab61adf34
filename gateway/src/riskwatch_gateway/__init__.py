"""RiskWatch gateway."""
