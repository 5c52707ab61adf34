from riskwatch_gateway.models import Base
from riskwatch_shared.db.alembic_env import run_env

run_env(Base.metadata)
