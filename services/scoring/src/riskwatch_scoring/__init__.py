"""RiskWatch scoring service."""
