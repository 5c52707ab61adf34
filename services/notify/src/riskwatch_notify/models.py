"""ORM models of the notify service's own database."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from riskwatch_shared.db.base import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
