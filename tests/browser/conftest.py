"""Browser tests: Debian's Chromium, driven by Playwright, against a live server.

The live server is an application of its own, on a throwaway database of its own (SQLite, or
PostgreSQL when ``PORTAL_TEST_DATABASE_URL`` says so), served on 127.0.0.1 by a thread. The
browser and the server do not share a transaction, so tests commit their data for real; slugs
are unique, so nothing needs to be cleaned up between tests. The ``db_session`` fixture does
not apply here: it binds to the connection of the other, in-process application.

Every page a test opens must pass axe-core (no serious or critical violations). The
``new_context`` override below watches each page's navigations and fails the test when one
was never checked with ``check_accessibility``.
"""

from __future__ import annotations

import copy
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect
from werkzeug.serving import make_server

from portal.db import db
from portal.demo import THEMES
from portal.tenants.models import Tenant
from portal.testing import factories
from portal.testing.fixtures import make_test_app, provision_database
from portal.testing.sites import SiteTenant, SiteUser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
FAILING_IMPACTS = ("serious", "critical")


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium (Playwright's own downloads do not work here), headless."""
    executable = shutil.which("chromium")
    if executable is None:
        # Fail, never skip: CI counts the browser tests that ran.
        pytest.fail(
            "Chromium is not installed, so the browser tests cannot run. "
            "Install Debian's chromium with `make browser` (apt-get install -y chromium).",
            pytrace=False,
        )
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": executable,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def base_url() -> None:
    """Give the browser no base URL: every tenant has a host of its own.

    This also replaces pytest-playwright's fallback ``base_url`` fixture, a method of a
    plugin class that pytest 9 deprecates (``PytestRemovedIn10Warning``, an error here).
    """
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """Open every context with an English Accept-Language, whatever the machine's locale."""
    return {**browser_context_args, "locale": "en-GB"}


# --- the live server -------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    """The application the browser talks to, and the port it listens on."""

    app: Flask
    port: int


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, smtp_server) -> Iterator[LiveServer]:
    """Serve a separate application on its own throwaway database on 127.0.0.1."""
    database = provision_database(tmp_path_factory.mktemp("live-db"))
    try:
        # Jobs run in background threads here, as they do under `portal serve`.
        app = make_test_app(database, smtp_server.port, PORTAL_JOBS_EAGER=False)
        server = make_server("127.0.0.1", 0, app, threaded=True)
    except BaseException:
        database.drop()
        raise
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            # Without remove() the drop below waits on the session's lock (PostgreSQL).
            db.session.remove()
            db.engine.dispose()
        database.drop()


@pytest.fixture
def create_site_tenant(live_server: LiveServer) -> Callable[..., SiteTenant]:
    """Return ``create_site_tenant(**overrides)``: a committed tenant with a unique slug."""

    def create(**overrides: Any) -> SiteTenant:
        with live_server.app.app_context():
            tenant = factories.make_tenant(**overrides)
            site_tenant = SiteTenant(
                id=tenant.id,
                slug=tenant.slug,
                name=tenant.name,
                base_url=f"http://{tenant.slug}.localhost:{live_server.port}",
                theme_settings=copy.deepcopy(tenant.theme_settings),
            )
            db.session.commit()
        return site_tenant

    return create


@pytest.fixture
def create_branded_tenant(create_site_tenant) -> Callable[[str], SiteTenant]:
    """Return ``create_branded_tenant(theme)``: a tenant dressed in a demo theme.

    ``theme`` names one of :data:`portal.demo.THEMES`; the name and title get the unique slug
    appended so that no two tenants of a test run look alike.
    """

    def create(theme: str, **overrides: Any) -> SiteTenant:
        slug = factories.unique_slug(theme)
        settings = copy.deepcopy(THEMES[theme])
        settings["title"] = f"{settings['title']} {slug}"
        return create_site_tenant(
            slug=slug,
            name=f"{theme.capitalize()} {slug}",
            theme_settings=settings,
            **overrides,
        )

    return create


@pytest.fixture
def create_site_user(live_server: LiveServer) -> Callable[..., SiteUser]:
    """Return ``create_site_user(tenant, role="staff", **overrides)``: a committed user."""

    def create(tenant: SiteTenant, role: str = "staff", **overrides: Any) -> SiteUser:
        overrides.setdefault("password", factories.DEFAULT_PASSWORD)
        with live_server.app.app_context():
            user = factories.make_user(db.session.get(Tenant, tenant.id), role, **overrides)
            # Read before the commit expires the row: reloading it outside the tenant's
            # context is refused by row-level security on PostgreSQL.
            site_user = SiteUser(user.email, overrides["password"], user.display_name, tenant)
            db.session.commit()
        return site_user

    return create


# --- accessibility ---------------------------------------------------------------------------


@dataclass
class _PageLog:
    """The documents a page has shown, and how many of them passed the axe check."""

    urls: list[str] = field(default_factory=list)
    checked: int = 0


class AccessibilityGuard:
    """Run axe-core on pages and remember which of their navigations were checked."""

    def __init__(self) -> None:
        self.axe = Axe()
        self.logs: list[tuple[Page, _PageLog]] = []

    def watch(self, context: BrowserContext) -> None:
        context.on("page", self._watch_page)

    def _watch_page(self, page: Page) -> None:
        log = _PageLog()
        self.logs.append((page, log))

        def navigated(frame) -> None:
            if frame == page.main_frame and frame.url.startswith("http"):
                log.urls.append(frame.url)

        page.on("framenavigated", navigated)

    def _log_of(self, page: Page) -> _PageLog:
        for known, log in self.logs:
            if known is page:
                return log
        raise AssertionError("this page was not opened in a context of the new_context fixture")

    def check(self, page: Page) -> None:
        """Fail when axe-core finds serious or critical violations on the current document.

        axe is injected with ``page.evaluate``, which Playwright runs through the DevTools
        protocol: the portal's Content-Security-Policy (``script-src 'self'``) governs the
        page's own scripts, not the debugger's, so it needs no ``bypass_csp`` and the pages
        are checked under the very policy they are served with.
        """
        page.wait_for_load_state("load")
        log = self._log_of(page)
        seen = len(log.urls)
        results = self.axe.run(page)
        if len(log.urls) != seen:
            pytest.fail(
                f"{page.url} navigated while axe was checking it: wait for the navigation "
                "(page.expect_navigation) before checking"
            )
        log.checked = seen
        violations = [
            v for v in results.response["violations"] if v.get("impact") in FAILING_IMPACTS
        ]
        if violations:
            pytest.fail(f"axe-core on {page.url}:\n{describe_violations(violations)}")

    def unchecked(self) -> list[str]:
        """Return the addresses of documents that were shown but never checked."""
        return [url for _, log in self.logs for url in log.urls[log.checked :]]


def describe_violations(violations: list[dict]) -> str:
    """Return one paragraph per violation: id, impact, help and the failing nodes."""
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation.get('help', '')}"
            f" {violation.get('helpUrl', '')}"
        )
        for node in violation.get("nodes", []):
            lines.append(f"    {node.get('target')}: {node.get('failureSummary', '')}")
    return "\n".join(lines)


@pytest.fixture
def accessibility() -> Iterator[AccessibilityGuard]:
    """Watch the test's pages; fail at the end when a document was not checked with axe."""
    guard = AccessibilityGuard()
    yield guard
    missed = guard.unchecked()
    if missed:
        pytest.fail(
            "pages shown without an accessibility check (call check_accessibility(page) "
            "after every navigation): " + ", ".join(missed)
        )


@pytest.fixture
def new_context(new_context, accessibility: AccessibilityGuard):
    """Create browser contexts as pytest-playwright does, with their pages watched."""

    def create(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        accessibility.watch(context)
        return context

    return create


@pytest.fixture
def check_accessibility(accessibility: AccessibilityGuard) -> Callable[[Page], None]:
    """Return ``check_accessibility(page)``: axe-core on the current document."""
    return accessibility.check


# --- moving around ---------------------------------------------------------------------------


@pytest.fixture
def visit(check_accessibility) -> Callable[[Page, str], None]:
    """Return ``visit(page, url)``: open ``url`` and check the page that comes up."""

    def go(page: Page, url: str) -> None:
        response = page.goto(url)
        assert response is not None
        assert response.ok, f"{url} answered {response.status}"
        check_accessibility(page)

    return go


@pytest.fixture
def submit(check_accessibility) -> Callable[..., None]:
    """Return ``submit(page, button)``: click ``button``, wait for the next page, check it."""

    def press(page: Page, button) -> None:
        with page.expect_navigation():
            button.click()
        check_accessibility(page)

    return press


@pytest.fixture
def log_in(visit, submit) -> Callable[..., None]:
    """Return ``log_in(page, tenant, email, password)``: fill in the tenant's login form."""

    def enter(page: Page, tenant: SiteTenant, email: str, password: str) -> None:
        visit(page, tenant.url("/login"))
        form = page.locator("main form")
        # By name, not label: the labels change with the language.
        form.locator("input[name=email]").fill(email)
        form.locator("input[name=password]").fill(password)
        submit(page, form.locator("button[type=submit]"))

    return enter


@pytest.fixture
def log_in_as(log_in) -> Callable[[Page, SiteUser], None]:
    """Return ``log_in_as(page, user)``: log in on the user's own tenant and land on the dashboard."""

    def enter(page: Page, user: SiteUser) -> None:
        log_in(page, user.tenant, user.email, user.password)
        expect(page).to_have_url(user.tenant.url("/dashboard"))

    return enter


@pytest.fixture(scope="session")
def screenshot_dir(pytestconfig) -> Path:
    """Return ``test-artifacts/screenshots`` under the project root, created if missing."""
    directory = pytestconfig.rootpath / "test-artifacts" / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory
