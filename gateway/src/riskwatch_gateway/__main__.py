"""`python -m riskwatch_gateway serve|migrate`."""

from pathlib import Path

from riskwatch_gateway.config import get_settings
from riskwatch_shared.service_main import service_main

ALEMBIC_INI = Path(__file__).parent / "alembic.ini"

if __name__ == "__main__":
    service_main(
        app_factory="riskwatch_gateway.main:create_app",
        get_settings=get_settings,
        alembic_ini=ALEMBIC_INI,
    )
