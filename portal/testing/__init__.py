"""Test support for the portal and for plugin authors.

Activate the fixtures in a ``conftest.py`` with ``pytest_plugins = ["portal.testing.fixtures"]``.
"""
