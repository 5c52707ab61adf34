from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["riskwatch_shared.testing.fixtures"]

# Property tests check results, not speed: on a loaded 2-core CI machine Hypothesis's timing
# checks (per-example deadline, slow input generation) fail tests whose properties hold.
settings.register_profile("riskwatch", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("riskwatch")

TESTS = Path(__file__).parent
# The packages whose tests run the whole system as processes, longest first: `make test`'s two
# xdist workers (`--dist loadgroup`) start on these, so neither is left with a long tail.
WHOLE_SYSTEM_PACKAGES = ("console", "e2e", "chaos")


def test_group(item: pytest.Item) -> str:
    """The xdist group of a test: its top-level package, so a package's session and package
    fixtures (an embedded system, an app with its database) are set up on one worker only."""
    return item.path.relative_to(TESTS).parts[0]


def _start_order(item: pytest.Item) -> int:
    group = test_group(item)
    if group in WHOLE_SYSTEM_PACKAGES:
        return WHOLE_SYSTEM_PACKAGES.index(group)
    return len(WHOLE_SYSTEM_PACKAGES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(test_group(item)))
    # A stable sort: the order within each package is unchanged.
    items.sort(key=_start_order)
