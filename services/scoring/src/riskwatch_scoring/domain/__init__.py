"""Pure scoring logic: inputs, behavioural features, risk models, training and metrics.

Nothing here imports FastAPI, SQLAlchemy or NATS; every state object round-trips
through a JSON-able dict (`to_state()` / `from_state()`), Decimal amounts as strings.
"""
