from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["riskwatch_shared.testing.fixtures"]

# Property tests check results, not speed: on a loaded 2-core CI machine Hypothesis's timing
# checks (per-example deadline, slow input generation) fail tests whose properties hold.
settings.register_profile("riskwatch", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("riskwatch")

TESTS = Path(__file__).parent
# The packages whose tests run the whole system as processes (session fixtures starting every
# service): one group, so one xdist worker starts each such system once, while the other
# worker takes the in-process packages.
WHOLE_SYSTEM_PACKAGES = frozenset({"e2e", "console", "chaos"})
WHOLE_SYSTEM_GROUP = "whole-system"


def test_group(item: pytest.Item) -> str:
    """The xdist group of a test: the whole system's, or its top-level package (a package's
    session and package fixtures are then set up on one worker only)."""
    package = item.path.relative_to(TESTS).parts[0]
    return WHOLE_SYSTEM_GROUP if package in WHOLE_SYSTEM_PACKAGES else package


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(test_group(item)))
    # The longest group first, so `make test`'s two workers finish together (a stable sort:
    # the order within each group is unchanged).
    items.sort(key=lambda item: test_group(item) != WHOLE_SYSTEM_GROUP)
