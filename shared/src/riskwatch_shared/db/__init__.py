"""Database kit: naming convention, engine/session handling, outbox and inbox tables, migrations."""
