"""RiskWatch synthetic bank simulator."""
