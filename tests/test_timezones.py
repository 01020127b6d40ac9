"""Dates and times are shown in the tenant's time zone, formatted for the reader's locale."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.accounts.models import UserSession
from portal.tenants.services import TenantError


def test_times_are_shown_in_the_tenants_time_zone(create_tenant, create_user, login_as, in_tenant):
    tenant = create_tenant(timezone="Asia/Tokyo")
    user = create_user(tenant, "staff")
    login_as(user, tenant)  # the previous login, which the dashboard shows
    with in_tenant(tenant) as session:
        for earlier in session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
            earlier.created_at = datetime(2026, 3, 5, 14, 7, 9, tzinfo=UTC)
        session.commit()
    browser = login_as(user, tenant)
    page = browser.get("/dashboard").get_data(as_text=True).replace("\u202f", " ")
    assert "Mar 5, 2026, 11:07 PM" in page
    german = browser.get("/dashboard", headers={"Accept-Language": "de"})
    assert "05.03.2026, 23:07" in german.get_data(as_text=True)


def test_an_unknown_time_zone_is_refused(create_tenant):
    with pytest.raises(TenantError, match="is not a time zone"):
        create_tenant(timezone="Mars/Olympus_Mons")


def test_the_cli_sets_the_time_zone(app, db_session):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["tenant", "create", "tz-cli", "--name", "TZ", "--timezone", "Europe/Lisbon"]
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        args=["tenant", "create", "tz-bad", "--name", "TZ", "--timezone", "Nowhere"]
    )
    assert bad.exit_code == 1
    assert "Nowhere is not a time zone." in bad.output
