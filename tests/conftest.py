pytest_plugins = ["riskwatch_shared.testing.fixtures"]
