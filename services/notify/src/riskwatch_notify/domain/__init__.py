"""Pure notification policies: routing, escalation, storms, quiet hours, retry, rendering.

Nothing here imports FastAPI, SQLAlchemy or NATS; time is always passed in.
"""
