"""RiskWatch notify service."""
