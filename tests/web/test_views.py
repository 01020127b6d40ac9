"""The start pages' neighbours: /favicon.ico for browsers that ask for it on their own."""

from __future__ import annotations


def test_favicon_ico_leads_to_the_bundled_icon_when_none_is_uploaded(client_for, tenant):
    browser = client_for(tenant)
    response = browser.get("/favicon.ico")
    assert response.status_code == 302
    assert response.headers["Location"] == "/static/img/favicon.svg"
    icon = browser.get(response.headers["Location"])
    try:
        assert icon.status_code == 200
        assert icon.mimetype == "image/svg+xml"
    finally:
        icon.close()


def test_favicon_ico_leads_to_the_tenants_uploaded_icon(client_for, tenant, in_tenant):
    with in_tenant(tenant) as session:
        merged = session.merge(tenant)
        merged.theme_settings = {**(merged.theme_settings or {}), "assets": {"favicon": "abc"}}
        session.commit()
    response = client_for(tenant).get("/favicon.ico")
    assert response.status_code == 302
    assert response.headers["Location"] == "/branding/favicon?v=abc"


def test_favicon_ico_is_there_on_the_platforms_own_pages(client_for):
    response = client_for("localhost").get("/favicon.ico")
    assert response.status_code == 302
    assert response.headers["Location"] == "/static/img/favicon.svg"
