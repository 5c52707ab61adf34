"""Routes: configuration as code, notify's section (teams, recipients, subscriptions,
escalation policies); admins only."""

from __future__ import annotations

from functools import partial

from pydantic import Field
from sqlalchemy import select

from riskwatch_notify import configuration
from riskwatch_notify.api.common import Limit, errors, require
from riskwatch_notify.config import Settings
from riskwatch_notify.errors import NotAllowed
from riskwatch_notify.models import ConfigAuditEntry
from riskwatch_shared import roles
from riskwatch_shared.app import IdentityDep, ServiceRuntime, SessionDep
from riskwatch_shared.config_api import SectionImporter, config_router
from riskwatch_shared.governance import AuditOut


def _importer(runtime: ServiceRuntime) -> SectionImporter[configuration.NotifySection]:
    """Notify's import checks webhook URLs against this install's outbound policy."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return partial(configuration.import_section, policy=settings.outbound_policy())


router = config_router(
    configuration.SERVICE,
    configuration.NotifySection,
    export_section=configuration.export_section,
    importer=_importer,
    export_description="Teams, recipients (quiet hours included; no secrets), subscriptions "
    "and escalation policies as a bundle section: stable ids, a fixed order, no timestamps.",
    import_description="Import a bundle's notify section. `dry-run`: per team, recipient, "
    "subscription and escalation policy, create / change (field by field) / unchanged / left "
    "alone (an import never deletes), nothing stored. `apply`: in one transaction, teams, "
    "recipients and subscriptions created or replaced directly (audited), escalation policies "
    "as proposals a second person approves; a webhook URL the bundle withheld stays as this "
    "install has it.",
    export_responses=errors(),
    import_extra_responses=errors(409, 413, 422),
    forbidden=NotAllowed,
)


class ConfigAuditOut(AuditOut):
    subject: str = Field(description="`<kind>:<key>`, e.g. `team:3f0c...`")


@router.get(
    "/audit",
    operation_id="notify-config-audit",
    response_model=list[ConfigAuditOut],
    responses=errors(),
)
async def config_audit(
    session: SessionDep, identity: IdentityDep, limit: Limit = 100
) -> list[ConfigAuditOut]:
    """What configuration imports changed here directly, newest first: who (with which
    roles), which team, recipient or subscription, and each field's old and new value."""
    require(identity, roles.ADMIN)
    rows = await session.scalars(
        select(ConfigAuditEntry).order_by(ConfigAuditEntry.id.desc()).limit(limit)
    )
    return [ConfigAuditOut.model_validate(row) for row in rows.all()]
