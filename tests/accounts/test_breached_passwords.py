"""Common and breached passwords are refused: the shipped list, and the optional k-anonymity
check against the operator's breached-password service (a real HTTP server here)."""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

import pytest

from portal.accounts import passwords
from portal.accounts.services import AccountError

STRONG = "violet-harbour-quietly-7-lanterns"


def shipped_words() -> list[str]:
    folder = resources.files("portal.accounts")
    return (
        gzip.decompress(folder.joinpath(passwords.BREACHED_LIST).read_bytes()).decode().splitlines()
    )


def test_the_list_holds_at_least_100000_passwords_long_enough_to_matter():
    words = shipped_words()
    assert len(words) >= 100_000
    assert len(set(words)) == len(words)
    assert all(len(word) >= passwords.MIN_LENGTH for word in words)
    assert len(passwords._known_digests()) >= len(words)


@pytest.mark.parametrize(
    "password", ["password1234", "Password1234", "WELCOME123", "qwerty123456", "iloveyou2"]
)
def test_passwords_from_breaches_are_refused(create_user, tenant, password):
    with pytest.raises(AccountError) as refused:
        create_user(tenant, password=password)
    assert refused.value.field == "password"
    assert "too common" in str(refused.value.message)


def test_every_listed_password_is_found_and_the_end_of_the_list_too():
    words = shipped_words()
    for word in (words[0], words[len(words) // 2], words[-1], words[-1].upper()):
        assert passwords.is_common_password(word)
    assert not passwords.is_common_password(STRONG)


def test_our_own_words_stay_refused():
    assert passwords.is_common_password("supplyportal")


class RangeService:
    """A breached-password range service: GET /range/<5 hex> answers SUFFIX:COUNT lines."""

    def __init__(self, breached: dict[str, int]):
        self.breached = {
            hashlib.sha1(p.encode(), usedforsecurity=False).hexdigest().upper(): n
            for p, n in breached.items()
        }
        self.requests: list[tuple[str, str | None]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                service.requests.append((self.path, self.headers.get("Add-Padding")))
                prefix = self.path.rsplit("/", 1)[-1].upper()
                lines = [
                    f"{h[5:]}:{n}" for h, n in service.breached.items() if h.startswith(prefix)
                ]
                # Padding: made-up suffixes with the count 0.
                lines += [f"{'0' * 34}{i:01X}:0" for i in range(3)]
                body = "\r\n".join(lines).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/range/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def range_service(app, monkeypatch):
    service = RangeService({"violet-harbour-breached-42": 17, "padded-entry-only-9": 0})
    monkeypatch.setitem(app.config, "PORTAL_BREACHED_PASSWORDS_URL", service.url)
    yield service
    service.close()


def test_the_breach_service_sees_five_hex_digits_only(create_user, tenant, range_service):
    with pytest.raises(AccountError) as refused:
        create_user(tenant, password="violet-harbour-breached-42")
    assert refused.value.field == "password"
    assert "data breach" in str(refused.value.message)
    path, padding = range_service.requests[-1]
    sha1 = hashlib.sha1(b"violet-harbour-breached-42", usedforsecurity=False).hexdigest().upper()
    assert path == "/range/" + sha1[:5]
    assert sha1[5:] not in path
    assert padding == "true"


def test_a_password_the_service_does_not_know_is_accepted(create_user, tenant, range_service):
    assert create_user(tenant, password=STRONG).email
    # A padding line (count 0) is not a breach.
    assert create_user(tenant, password="padded-entry-only-9").email
    assert len(range_service.requests) == 2


def test_an_unreachable_service_does_not_block_a_password_change(
    app, create_user, tenant, monkeypatch, caplog
):
    service = RangeService({})
    url = service.url
    service.close()
    monkeypatch.setitem(app.config, "PORTAL_BREACHED_PASSWORDS_URL", url)
    monkeypatch.setitem(app.config, "PORTAL_BREACHED_PASSWORDS_TIMEOUT", 1)
    with caplog.at_level(logging.WARNING, logger="portal.accounts.passwords"):
        assert create_user(tenant, password=STRONG).email
    assert "not reachable" in caplog.text


def test_the_service_is_off_unless_configured(app):
    assert app.config["PORTAL_BREACHED_PASSWORDS_URL"] is None
