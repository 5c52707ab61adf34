"""The kit's role checks (issue 19): the sets are the policy table's, the service's own identity
passes, everyone else without the role is refused with a 403 naming the roles."""

from __future__ import annotations

import pytest

from riskwatch_shared import policy
from riskwatch_shared.errors import Forbidden
from riskwatch_shared.roles import MANAGERS, WORKERS, require_role
from riskwatch_shared.security import SYSTEM_IDENTITY, Identity


class RuleSwitchForbidden(Forbidden):
    type_slug = "rule-switch-forbidden"


def test_the_sets_are_the_policy_tables() -> None:
    assert MANAGERS is policy.MANAGERS
    assert WORKERS is policy.WORKERS


def test_a_holder_of_one_of_the_roles_passes() -> None:
    require_role(Identity(subject="m", roles=("viewer", "risk_manager")), MANAGERS)
    require_role(SYSTEM_IDENTITY, MANAGERS)


def test_anyone_else_is_refused_naming_the_roles() -> None:
    analyst = Identity(subject="a", roles=("analyst",))
    with pytest.raises(Forbidden, match="training needs one of the roles: admin, risk_manager"):
        require_role(analyst, MANAGERS, action="training")
    with pytest.raises(RuleSwitchForbidden) as refused:
        require_role(analyst, policy.ADMIN, error=RuleSwitchForbidden)
    assert refused.value.status_code == 403
