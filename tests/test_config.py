"""Settings from the environment: defaults, and errors that name the variable."""

import os
import stat

import pytest

from portal.config import ConfigError, load_settings

GOOD = {"PORTAL_SECRET_KEY": "k" * 40}


def test_defaults(tmp_path):
    settings = load_settings(tmp_path, {})
    assert settings["PORTAL_BASE_DOMAIN"] == "localhost"
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.db'}"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["SESSION_COOKIE_DOMAIN"] is None


def test_the_secret_key_is_generated_once_into_the_instance_folder(tmp_path):
    first = load_settings(tmp_path, {})["SECRET_KEY"]
    second = load_settings(tmp_path, {})["SECRET_KEY"]
    assert first == second
    assert len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_development_allows_plain_http_cookies(tmp_path):
    assert (
        load_settings(tmp_path, {**GOOD, "PORTAL_ENV": "development"})["SESSION_COOKIE_SECURE"]
        is False
    )


def test_postgresql_urls_use_psycopg(tmp_path):
    settings = load_settings(tmp_path, {**GOOD, "PORTAL_DATABASE_URL": "postgresql://u@h/db"})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORTAL_MAIL_PORT", "abc"),
        ("PORTAL_MAIL_PORT", "70000"),
        ("PORTAL_DATABASE_URL", "not a url"),
        ("PORTAL_DATABASE_URL", "mysql://u@h/db"),
        ("PORTAL_BASE_DOMAIN", "bad domain!"),
        ("PORTAL_ENV", "staging"),
        ("PORTAL_SECRET_KEY", "short"),
        ("PORTAL_MAIL_USE_TLS", "maybe"),
        ("PORTAL_SESSION_IDLE_MINUTES", "0"),
        ("PORTAL_PROXY_COUNT", "-1"),
        ("PORTAL_MAIL_SENDER", "nobody"),
    ],
)
def test_a_wrong_setting_names_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings(tmp_path, {**GOOD, name: value})
