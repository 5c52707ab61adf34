"""RiskWatch shared kit."""
