"""Routes: configuration as code, scoring's section (the model registry's metadata); admins
only."""

from __future__ import annotations

from riskwatch_scoring import configuration
from riskwatch_shared.config_api import config_router

router = config_router(
    configuration.SERVICE,
    configuration.ScoringSection,
    export_section=configuration.export_section,
    importer=lambda _runtime: configuration.import_section,
    export_description="The model registry's metadata (not the weights) as a bundle section.",
    import_description="Import a bundle's scoring section. `dry-run`: per model, create / "
    "change / unchanged / left alone, nothing stored. `apply`: which registered model serves "
    "or shadows becomes a proposal a second person approves; a model the bundle retired is "
    "retired (audited). A model this install has not registered is reported, never created.",
)
