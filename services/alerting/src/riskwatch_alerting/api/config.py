"""Routes: configuration as code, alerting's section (rules and managed lists); admins only."""

from __future__ import annotations

from riskwatch_alerting import configuration
from riskwatch_shared.config_api import config_router

router = config_router(
    configuration.SERVICE,
    configuration.AlertingSection,
    export_section=configuration.export_section,
    importer=lambda _runtime: configuration.import_section,
    export_description="Rules (live definition, message templates, status) and managed lists "
    "(with entries) as a bundle section: stable ids, a fixed order, no timestamps or authors.",
    import_description="Import a bundle's alerting section. `dry-run`: per rule and list, "
    "create / change (field by field) / unchanged / left alone (an import never deletes), "
    "nothing stored. `apply`: lists created or changed directly (audited); rules as proposals "
    "a second person approves, a rule the bundle switches off switched off at once (audited).",
)
