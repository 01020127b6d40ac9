"""E-mail over TLS: STARTTLS and implicit TLS, with the server's certificate verified.

A real SMTP server (aiosmtpd) on 127.0.0.1 presents a self-signed certificate for
127.0.0.1 and localhost, made here. Trusted through ``MAIL_CA_FILE`` the message arrives;
without it the delivery fails on the certificate and the server receives nothing.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from portal.mail import queue_email
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.services import deliver_due
from portal.testing.fixtures import Mailbox, _CollectingHandler, free_port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """Return (certificate, key) files of a self-signed certificate for 127.0.0.1/localhost."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Portal test SMTP server")])
    now = datetime.now(UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture(params=["starttls", "tls"])
def tls_server(request, certificate) -> Iterator[tuple[str, Mailbox]]:
    """Run an SMTP server that speaks STARTTLS (and requires it) or implicit TLS."""
    cert_file, key_file = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    mailbox = Mailbox(port=free_port())
    if request.param == "starttls":
        options = {"tls_context": context, "require_starttls": True}
    else:
        options = {"ssl_context": context}
    controller = Controller(
        _CollectingHandler(mailbox), hostname="127.0.0.1", port=mailbox.port, **options
    )
    controller.start()
    yield request.param, mailbox
    controller.stop()


@pytest.fixture
def send_one(app, tenant, in_tenant, monkeypatch, tls_server):
    """Return ``send_one(ca_file)``: queue one e-mail, run the worker once, return its row."""
    security, mailbox = tls_server
    monkeypatch.setitem(app.config, "MAIL_SECURITY", security)
    monkeypatch.setitem(app.config, "MAIL_PORT", mailbox.port)

    def send(ca_file: Path | None) -> OutboxMessage:
        monkeypatch.setitem(app.config, "MAIL_CA_FILE", str(ca_file) if ca_file else None)
        with in_tenant(tenant) as session:
            queue_email("someone@example.com", "Over TLS", "Hello", key="tls-test")
            session.commit()
        with app.app_context():
            deliver_due()
        with in_tenant(tenant) as session:
            return session.scalar(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == "tls-test")
            )

    return send


def test_a_server_with_a_trusted_certificate_gets_the_message(send_one, certificate, tls_server):
    _security, mailbox = tls_server

    row = send_one(ca_file=certificate[0])

    assert (row.status, row.last_error) == (OutboxStatus.SENT, None)
    [message] = mailbox.to("someone@example.com")
    assert message["Subject"] == "Over TLS"


def test_a_server_with_an_untrusted_certificate_gets_nothing(send_one, tls_server):
    _security, mailbox = tls_server

    row = send_one(ca_file=None)

    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert mailbox.messages == []
