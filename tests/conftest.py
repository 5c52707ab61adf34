from hypothesis import HealthCheck, settings

pytest_plugins = ["riskwatch_shared.testing.fixtures"]

# Property tests check results, not speed: on a loaded 2-core CI machine Hypothesis's timing
# checks (per-example deadline, slow input generation) fail tests whose properties hold.
settings.register_profile("riskwatch", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("riskwatch")
