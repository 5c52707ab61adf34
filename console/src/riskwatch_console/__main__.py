"""`python -m riskwatch_console serve`."""

from riskwatch_console.config import get_settings
from riskwatch_shared.service_main import service_main

if __name__ == "__main__":
    service_main(
        app_factory="riskwatch_console.app:create_app",
        get_settings=get_settings,
        alembic_ini=None,
    )
