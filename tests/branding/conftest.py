"""Fixtures of the branding tests: an admin on the branding page, images made with Pillow."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

PAGE = "/admin/branding"


def png(size=(120, 40), colour=(31, 78, 121, 255), image_format="PNG") -> bytes:
    """Return the bytes of an image made with Pillow."""
    buffer = io.BytesIO()
    mode = "RGB" if image_format == "JPEG" else "RGBA"
    Image.new(mode, size, colour[: len(mode)]).save(buffer, image_format)
    return buffer.getvalue()


class BrandingPage:
    """The branding page as an admin's client sees it."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self):
        return self.client.get(PAGE)

    def post(self, path: str = PAGE, **fields):
        """Post the form at ``path`` with ``fields`` as multipart form data; the CSRF token
        is added. A file is a ``(stream, filename)`` pair.

        The body is encoded in memory here: the test client would spool a large upload to a
        temporary file that it never closes (a ResourceWarning, an error under our settings).
        """
        values = {"csrf_token": self.client.csrf_token(PAGE)}
        for name, value in fields.items():
            if isinstance(value, tuple):
                stream, filename = value
                value = FileStorage(stream, filename=filename)
            values[name] = value
        boundary, body = encode_multipart(values)
        return self.client.post(
            path, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )

    def save(self, **fields):
        """Post the branding form: the default theme unless ``theme`` is given, plus
        ``fields`` (``texts_de-welcome="..."``, ``logo=(io.BytesIO(data), "logo.png")``)."""
        return self.post(PAGE, **{"theme": "harbour", **fields})


@pytest.fixture
def make_image():
    """Return ``make_image(size=(120, 40), colour=..., image_format="PNG")``: image bytes."""
    return png


@pytest.fixture
def admin(create_user, tenant):
    return create_user(tenant, "admin", name="Ada Admin")


@pytest.fixture
def branding(login_as, admin, tenant) -> BrandingPage:
    """The branding page of ``tenant``, in the hands of its admin."""
    return BrandingPage(login_as(admin, tenant))


@pytest.fixture
def branding_of(login_as, tenant):
    """Return ``branding_of(user)``: the branding page of ``tenant`` in ``user``'s hands."""
    return lambda user: BrandingPage(login_as(user, tenant))


@pytest.fixture
def saved_settings(app):
    """Return ``saved_settings(tenant)``: the tenant's theme settings as stored."""
    from portal.db import db
    from portal.tenants.models import Tenant

    def read(tenant) -> dict:
        with app.app_context():
            return db.session.get(Tenant, tenant.id).theme_settings

    return read
