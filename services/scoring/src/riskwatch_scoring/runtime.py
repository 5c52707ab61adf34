"""The per-process scoring objects the consumer and the routes share (state cache, models)."""

from __future__ import annotations

from dataclasses import dataclass

from riskwatch_scoring.config import Settings
from riskwatch_scoring.pipeline import Scorer
from riskwatch_scoring.read_pool import ReadPool
from riskwatch_scoring.registry import ModelCache
from riskwatch_scoring.state_store import StateStore
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.settings import to_asyncpg_dsn

EXTRAS_KEY = "scoring"


@dataclass(frozen=True, slots=True)
class ScoringRuntime:
    settings: Settings
    store: StateStore
    model_cache: ModelCache
    scorer: Scorer
    read_pool: ReadPool


def scoring_runtime(runtime: ServiceRuntime) -> ScoringRuntime:
    """What scoring adds to the shared runtime, built on first use."""
    scoring = runtime.extras.get(EXTRAS_KEY)
    if isinstance(scoring, ScoringRuntime):
        return scoring
    settings = runtime.settings
    assert isinstance(settings, Settings)
    store = StateStore(settings.state_cache_size)
    model_cache = ModelCache(
        refresh_seconds=settings.model_refresh_seconds, cutoffs=settings.level_cutoffs
    )
    scorer = Scorer(
        store=store,
        model_cache=model_cache,
        fx_rates_per_usd=settings.fx_rates_per_usd,
        reassess_after_seconds=settings.reassess_after_seconds,
    )
    read_pool = ReadPool(to_asyncpg_dsn(settings.sqlalchemy_url))
    scoring = ScoringRuntime(settings, store, model_cache, scorer, read_pool)
    runtime.extras[EXTRAS_KEY] = scoring
    return scoring
