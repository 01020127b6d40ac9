"""Test support for custom domains: a real DNS server and a real web server on 127.0.0.1,
and a short cut that marks a domain verified.

The DNS server answers over UDP with dnspython's message API, from a dict of records the
test fills in; point the portal at it with ``PORTAL_DNS_NAMESERVERS=127.0.0.1:<port>``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.db import db, utcnow
from portal.tenants.domains import challenge_name, challenge_value
from portal.tenants.models import DomainStatus, TenantDomain


def verify_domain_for_tests(domain: str) -> TenantDomain:
    """Mark the custom ``domain`` verified, as a successful check would, and commit.

    For tests that need a served custom domain and are not about the proof itself.
    """
    entry = db.session.get(TenantDomain, domain)
    if entry is None:
        raise LookupError(f"no custom domain {domain!r}")
    entry.status = DomainStatus.VERIFIED
    entry.verified_at = utcnow()
    entry.next_check_at = None
    entry.findings = None
    db.session.commit()
    return entry


class DnsServer:
    """An authoritative-looking DNS server on 127.0.0.1 (UDP) for tests.

    ``records`` maps ``(name, type)`` (lower-case, no trailing dot; "TXT", "A") to a list of
    values; a name with no record of any type answers NXDOMAIN.
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.queries: list[tuple[str, str]] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def publish_token(self, domain: str, token: str) -> None:
        """Add the TXT record that proves control of ``domain`` with ``token``."""
        self.records[(challenge_name(domain), "TXT")] = [challenge_value(token)]

    def _answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, kind))
        values = self.records.get((name, kind))
        if values:
            if kind == "TXT":
                values = ['"' + value.replace('"', '\\"') + '"' for value in values]
            response.answer.append(
                dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, kind, values)
            )
        elif not any(known == name for known, _kind in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                answer = self._answer(wire)
            except dns.exception.DNSException:
                continue  # a malformed query gets no answer, as from a real server
            self._socket.sendto(answer, client)

    def start(self) -> DnsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._socket.close()


@contextmanager
def dns_server() -> Iterator[DnsServer]:
    """Run a :class:`DnsServer` for the block."""
    server = DnsServer().start()
    try:
        yield server
    finally:
        server.stop()


class WebServer:
    """A web server on 127.0.0.1 serving ``files`` (path -> (status, body)) for any host;
    ``requests`` records (host, path) of each request."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[tuple[str, str]] = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="test-web", daemon=True
        )

    def serve(self, path: str, body: bytes, status: int = 200, **headers: str) -> None:
        self.files[path] = (status, body, headers)

    def _app(self, environ, start_response):
        request = Request(environ)
        self.requests.append((request.host, request.path))
        status, body, headers = self.files.get(request.path, (404, b"not here", {}))
        return Response(body, status=status, headers=headers)(environ, start_response)

    def start(self) -> WebServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def web_server() -> Iterator[WebServer]:
    """Run a :class:`WebServer` for the block."""
    server = WebServer().start()
    try:
        yield server
    finally:
        server.stop()
