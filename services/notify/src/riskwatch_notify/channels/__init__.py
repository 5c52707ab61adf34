"""Channel adapters: they talk to SMTP servers and HTTP providers, never to the DB or NATS."""
