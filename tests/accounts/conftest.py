"""Fixtures of the accounts tests."""

from __future__ import annotations

import threading

import pytest

from portal.accounts import services


@pytest.fixture
def checked_passwords(monkeypatch) -> list[str]:
    """Record every password the login checks (also from a live server's threads)."""
    checked: list[str] = []
    real = services.verify_password
    lock = threading.Lock()

    def counting(password_hash: str, password: str) -> bool:
        with lock:
            checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(services, "verify_password", counting)
    return checked
