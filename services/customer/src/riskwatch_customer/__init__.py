"""RiskWatch customer service."""
