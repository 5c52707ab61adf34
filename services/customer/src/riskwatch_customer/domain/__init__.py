"""The customer service's pure logic: no I/O, no ORM, no HTTP, no NATS (a test enforces it).

Validating incoming transactions (`validation`, against the ISO code lists of
`reference_data`), splitting a batch document (`batch_split`), a profile's derived figures,
masking personal data and the audit trail's entries.
"""
