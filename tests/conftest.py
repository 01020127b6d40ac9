pytest_plugins = ["portal.testing.fixtures", "portal.testing.suppliers"]
