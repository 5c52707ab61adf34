"""Messaging kit: NATS connection and streams, the transactional outbox and its relay, consumers."""
