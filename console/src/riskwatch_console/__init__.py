"""RiskWatch console: the analysts' web front end (server-rendered, on the gateway's API)."""
