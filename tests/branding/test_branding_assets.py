"""Logo and favicon: uploads checked by content, served per tenant with the right headers."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.branding.models import BrandingAsset

CLEAN_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 10">'
    b'<rect width="40" height="10" fill="#123456"/></svg>'
)
SCRIPT_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">'
    b"<script>alert(document.domain)</script></svg>"
)
ONLOAD_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)" viewBox="0 0 1 1"/>'


def upload(data: bytes, name: str):
    return (io.BytesIO(data), name)


def field_errors(page: str, field: str) -> str:
    """Return the error list shown at ``field`` (empty when there is none)."""
    match = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


def asset_count(in_tenant, tenant) -> int:
    with in_tenant(tenant) as session:
        return session.scalar(select(func.count()).select_from(BrandingAsset))


# --- uploads ---------------------------------------------------------------------------------


def test_a_png_logo_is_stored_reencoded_and_shown_in_the_header(
    branding, tenant, saved_settings, client_for, make_image
):
    response = branding.save(logo=upload(make_image((200, 50)), "logo.png"))
    assert response.status_code == 302
    logo = saved_settings(tenant)["assets"]["logo"]
    visitor = client_for(tenant)
    page = visitor.get("/login").get_data(as_text=True)
    assert f'<img src="/branding/logo?v={logo}" alt="" class="brand-logo"' in page

    served = visitor.get(f"/branding/logo?v={logo}")
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["ETag"] == f'"{logo}"'
    with Image.open(io.BytesIO(served.get_data())) as image:
        assert (image.format, image.size) == ("PNG", (200, 50))
    again = visitor.get(f"/branding/logo?v={logo}", headers={"If-None-Match": f'"{logo}"'})
    assert again.status_code == 304


def test_a_favicon_is_linked_from_every_page_as_a_64_pixel_png(
    branding, tenant, saved_settings, client_for, make_image
):
    branding.save(favicon=upload(make_image((16, 16), image_format="JPEG"), "icon.jpg"))
    favicon = saved_settings(tenant)["assets"]["favicon"]
    visitor = client_for(tenant)
    assert f'<link rel="icon" href="/branding/favicon?v={favicon}">' in visitor.get(
        "/login"
    ).get_data(as_text=True)
    served = visitor.get("/branding/favicon")  # without the id: the current one, not cached
    assert served.status_code == 200
    assert served.headers["Cache-Control"] == "no-cache"
    with Image.open(io.BytesIO(served.get_data())) as image:
        assert (image.format, image.size) == ("PNG", (64, 64))


def test_a_clean_svg_is_served_as_svg_under_a_strict_policy(
    branding, tenant, saved_settings, client_for
):
    assert branding.save(logo=upload(CLEAN_SVG, "logo.svg")).status_code == 302
    logo = saved_settings(tenant)["assets"]["logo"]
    served = client_for(tenant).get(f"/branding/logo?v={logo}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/svg+xml"
    assert (
        served.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    )
    assert served.get_data() == CLEAN_SVG


@pytest.mark.parametrize(
    ("field", "data", "name", "message"),
    [
        (
            "logo",
            b"just some text, not a picture",
            "logo.png",
            "Logo: the file is not an image that can be read.",
        ),
        ("favicon", b"GIF89a not really", "icon.png", "Favicon: the file is not an image"),
        ("logo", SCRIPT_SVG, "logo.svg", "Logo: the SVG image contains a script (&lt;script&gt;)"),
        ("favicon", ONLOAD_SVG, "icon.svg", "Favicon: the SVG image contains a script (onload)"),
    ],
)
def test_files_that_are_not_safe_images_are_refused_on_their_field(
    branding, tenant, saved_settings, in_tenant, field, data, name, message
):
    response = branding.save(title="Not saved either", **{field: upload(data, name)})
    assert response.status_code == 422
    assert message in field_errors(response.get_data(as_text=True), field)
    assert saved_settings(tenant) == {}
    assert asset_count(in_tenant, tenant) == 0


def test_oversized_images_are_refused(branding, tenant, saved_settings, make_image):
    import os

    # Random pixels do not compress: a 700 x 700 PNG of noise is well over 1 MB.
    noise = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 1024 * 1024
    response = branding.save(logo=upload(buffer.getvalue(), "big.png"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Logo: the file is larger than 1 MB." in field_errors(page, "logo")

    response = branding.save(logo=upload(make_image((4001, 10)), "wide.png"))
    assert "Logo: the image is more than 4000 pixels wide or high." in field_errors(
        response.get_data(as_text=True), "logo"
    )
    assert saved_settings(tenant) == {}


def test_a_new_logo_replaces_the_old_one_and_can_be_removed(
    branding, tenant, saved_settings, client_for, in_tenant, make_image
):
    branding.save(logo=upload(make_image(), "one.png"))
    first = saved_settings(tenant)["assets"]["logo"]
    branding.save(logo=upload(make_image(colour=(200, 0, 0, 255)), "two.png"))
    second = saved_settings(tenant)["assets"]["logo"]
    assert second != first
    visitor = client_for(tenant)
    assert visitor.get(f"/branding/logo?v={first}").status_code == 404
    assert visitor.get(f"/branding/logo?v={second}").status_code == 200
    assert asset_count(in_tenant, tenant) == 1

    branding.save(remove_logo="y")
    assert "assets" not in saved_settings(tenant)
    assert asset_count(in_tenant, tenant) == 0
    assert 'class="brand-logo"' not in visitor.get("/login").get_data(as_text=True)


def test_the_demos_bundled_logo_still_works_until_an_upload_replaces_it(
    create_tenant, create_user, login_as, client_for, saved_settings, make_image
):
    tenant = create_tenant(theme_settings={"logo": "img/demo/acme.svg"})
    visitor = client_for(tenant)
    page = visitor.get("/login").get_data(as_text=True)
    assert '<img src="/static/img/demo/acme.svg" alt="" class="brand-logo"' in page
    with visitor.get("/static/img/demo/acme.svg") as static_logo:
        assert static_logo.status_code == 200

    admin = login_as(create_user(tenant, "admin"), tenant)
    admin.post(
        "/admin/branding",
        data={
            "csrf_token": admin.csrf_token("/admin/branding"),
            "theme": "harbour",
            "logo": upload(make_image(), "logo.png"),
        },
    )
    settings = saved_settings(tenant)
    assert "logo" not in settings
    assert f"/branding/logo?v={settings['assets']['logo']}" in visitor.get("/login").get_data(
        as_text=True
    )


# --- serving, per tenant ---------------------------------------------------------------------


def test_another_tenants_asset_is_not_found(
    branding, tenant, other_tenant, saved_settings, client_for, make_image
):
    branding.save(logo=upload(make_image(), "logo.png"))
    mine = saved_settings(tenant)["assets"]["logo"]
    theirs = client_for(other_tenant)
    assert theirs.get(f"/branding/logo?v={mine}").status_code == 404
    assert theirs.get("/branding/logo").status_code == 404  # they have none
    assert client_for(tenant).get(f"/branding/favicon?v={mine}").status_code == 404  # a logo
    assert client_for(tenant).get("/branding/logo?v=not-a-uuid").status_code == 404
    assert client_for(tenant).get("/branding/banner").status_code == 404
    assert client_for("localhost").get(f"/branding/logo?v={mine}").status_code == 404
