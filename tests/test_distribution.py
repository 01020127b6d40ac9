"""The distribution: what a new operator installs is what runs.

The end-to-end test builds the sdist from a clean copy of the checkout, the wheel from that
sdist alone, installs the wheel (not editable) into a fresh virtual environment outside the
checkout and runs the portal from an empty folder: migrations, demo data, the bundled plugins,
a served portal with a login, the tenant's theme and a German page.

Nothing is downloaded. The build runs without isolation on this environment's setuptools and
Babel (both in the lock). The fresh environment sees only the distributions that the wheel's
own Requires-Dist need, linked from this environment; neither the editable install of the
checkout nor the test tools are among them.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from http.cookies import SimpleCookie
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from packaging.requirements import Requirement

from portal import PROJECT_ROOT
from portal.config import ConfigError, load_settings
from portal.testing.fixtures import free_port, provision_database

DISTRIBUTION = "supplyport"
BUNDLED_PLUGINS = {"manual", "required_fields", "address_rules", "lead_time", "rest_json"}
SHIPPED_LOCALES = sorted(
    path.name for path in (PROJECT_ROOT / "translations").iterdir() if path.is_dir()
)
PLUGIN_PACKAGES = sorted(path.parent.name for path in PROJECT_ROOT.glob("plugins/*/__init__.py"))
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
STEP_TIMEOUT = 180  # seconds for any one build, install or command
# No pip configuration of this machine (constraints, local indexes) takes part.
PIP_ENV = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


# --- a missing extra -------------------------------------------------------------------------


def test_a_postgresql_url_without_its_driver_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    env = {"PORTAL_DATABASE_URL": "postgresql://portal@127.0.0.1/portal"}
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, env)
    assert str(caught.value) == (
        "PORTAL_DATABASE_URL points at PostgreSQL, which needs the driver: "
        "pip install 'supplyport[postgres]'"
    )


# --- helpers ---------------------------------------------------------------------------------


def run(command: list[str], **options) -> subprocess.CompletedProcess[str]:
    """Run a command to its end within STEP_TIMEOUT; fail with its output when it fails."""
    check = options.pop("check", True)
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False, **options
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def clean_copy(target: Path) -> Path:
    """Copy what a clone of the checkout would hold, plus files not committed yet."""
    if not (PROJECT_ROOT / ".git").exists():
        pytest.skip("needs a git checkout of the portal")
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():  # a committed file deleted in the working tree is not copied
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def requirement_closure(requirements: list[str]) -> set[str]:
    """Return the installed distributions that ``requirements`` need, with their own needs."""
    needed: set[str] = set()
    queue = [(Requirement(text), "") for text in requirements]
    while queue:
        requirement, extra = queue.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        dist = metadata.distribution(requirement.name)
        name = dist.metadata["Name"].lower()
        key = (name, frozenset(requirement.extras))
        if key in needed:
            continue
        needed.add(key)
        for text in dist.requires or []:
            inner = Requirement(text)
            queue.extend((inner, wanted) for wanted in {"", *requirement.extras})
    return {name for name, _extras in needed}


def link_distributions(names: set[str], folder: Path) -> None:
    """Make the files of the distributions ``names`` of this environment visible in ``folder``."""
    folder.mkdir()
    for name in names:
        dist = metadata.distribution(name)
        base = Path(dist.locate_file(""))
        tops = {Path(str(path)).parts[0] for path in dist.files or []}
        for top in tops - {"..", "__pycache__"}:
            if (base / top).exists() and not (folder / top).exists():
                (folder / top).symlink_to(base / top)


def wheel_requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(info).decode()
    return [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]


class Visitor:
    """A browser's part, by hand: one tenant host, its cookies, its language."""

    def __init__(self, port: int, host: str) -> None:
        self.port, self.host, self.cookies = port, host, SimpleCookie()

    def request(self, method: str, path: str, body: dict | None = None, language: str = "en"):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        headers = {"Host": self.host, "Accept-Language": language}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)
        return response, text


def wait_for_port(port: int, server: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"portal serve exited {server.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"portal serve did not listen on {port} within {seconds} s:\n{log.read_text()}")


# --- the end-to-end test ---------------------------------------------------------------------


def test_the_wheel_from_the_sdist_installs_and_runs_outside_the_checkout(tmp_path):
    python = sys.executable
    build_env = {**os.environ, **PIP_ENV}
    build_env.pop("PYTHONPATH", None)

    # 1. As the README says: `python -m build` makes the sdist, then the wheel from the sdist.
    source = clean_copy(tmp_path / "checkout")
    dist = tmp_path / "dist"
    run([python, "-m", "build", "--no-isolation", "--outdir", dist, source], env=build_env)
    (sdist,) = dist.glob(f"{DISTRIBUTION}-*.tar.gz")
    (wheel,) = dist.glob(f"{DISTRIBUTION}-*.whl")
    with tarfile.open(sdist) as archive:
        sdist_names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in ("LICENSE", "setup.py", "wsgi.py", "MANIFEST.in", "themes/harbour/theme.toml"):
        assert name in sdist_names
    assert "translations/de/LC_MESSAGES/messages.po" in sdist_names
    assert any(name.startswith("plugins/portal_manual/") for name in sdist_names)
    assert not [name for name in sdist_names if name.endswith(".mo")], "the build compiles them"

    # 2. The wheel carries everything the portal needs at run time.
    names = set(zipfile.ZipFile(wheel).namelist())
    for theme in ("harbour", "atelier", "night"):
        assert f"portal/bundled/themes/{theme}/theme.toml" in names
    for locale in SHIPPED_LOCALES:
        assert f"portal/bundled/translations/{locale}/LC_MESSAGES/messages.mo" in names
        for package in PLUGIN_PACKAGES:
            assert f"{package}/translations/{locale}/LC_MESSAGES/messages.mo" in names
    for package in PLUGIN_PACKAGES:
        assert f"{package}/__init__.py" in names
    assert "portal/wsgi.py" in names
    assert "portal/accounts/common_passwords.txt" in names
    assert "portal/accounts/breached_passwords.txt.gz" in names
    assert "portal/templates/accounts/login.html" in names
    assert any(n.startswith("portal/static/") for n in names)
    assert any(n.startswith("portal/migrations/versions/") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)

    # 3. A fresh environment outside the checkout: the wheel, and only what it requires.
    database = provision_database(tmp_path)
    on_postgres = database.admin_url is not None
    try:
        _install_and_run(tmp_path, wheel, database, on_postgres)
    finally:
        database.drop()


def _install_and_run(tmp_path: Path, wheel: Path, database, on_postgres: bool) -> None:
    venv = tmp_path / "venv"
    assert PROJECT_ROOT not in venv.parents
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    fresh_python = venv / "bin" / "python"
    site_packages = Path(
        run(
            [fresh_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    requirements = [r for r in wheel_requirements(wheel) if "extra ==" not in r]
    # psycopg is the postgres extra's: it is there only when the test runs on PostgreSQL.
    wanted = requirements + (["psycopg[binary]"] if on_postgres else [])
    link_distributions(requirement_closure(wanted), tmp_path / "dependencies")
    # A plain path line: .pth files inside that folder are not run.
    (site_packages / "dependencies.pth").write_text(f"{tmp_path / 'dependencies'}\n")
    install_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | PIP_ENV
    run(
        [sys.executable, "-m", "pip", "--python", fresh_python, "install", "--no-deps", wheel],
        env=install_env,
    )

    # Every Requires-Dist of the wheel (without extras) is satisfied in the fresh environment.
    installed = json.loads(
        run(
            [
                fresh_python,
                "-c",
                "import json; from importlib import metadata; print(json.dumps("
                "{d.metadata['Name'].lower(): d.version for d in metadata.distributions()}))",
            ]
        ).stdout
    )
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        version = installed.get(requirement.name.lower().replace("_", "-")) or installed.get(
            requirement.name.lower()
        )
        assert version, f"{requirement.name} is missing in the fresh environment"
        assert requirement.specifier.contains(version, prereleases=True), (text, version)

    # 4. From an empty folder, with nothing but the settings.
    workdir = tmp_path / "empty"
    workdir.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PORTAL_ENV": "development",
        "PORTAL_SECRET_KEY": "distribution-test-secret-key-of-enough-length",
        "PORTAL_DATABASE_URL": database.app_url,
        "PORTAL_MAIL_SERVER": "127.0.0.1",
        "PORTAL_MAIL_PORT": str(free_port()),
    }
    if database.admin_url:
        env["PORTAL_DATABASE_ADMIN_URL"] = database.admin_url
    portal = str(venv / "bin" / "portal")

    where = run(
        [
            fresh_python,
            "-c",
            "import portal, portal_manual, portal.wsgi; from portal.resources import bundled_folder; "
            "print(portal.__file__); print(portal_manual.__file__); print(portal.wsgi.__file__); "
            "print(bundled_folder('themes')); print(bundled_folder('translations'))",
        ],
        cwd=workdir,
        env=env,
    ).stdout.split()
    for path in where:
        assert Path(path).is_relative_to(site_packages), f"{path} is not the installed package"

    assert "Run and manage" in run([portal, "--help"], cwd=workdir, env=env).stdout
    run([portal, "db", "upgrade"], cwd=workdir, env=env)
    run([portal, "demo", "--no-serve"], cwd=workdir, env=env)
    listed = run([portal, "plugins", "list"], cwd=workdir, env=env)
    assert {line.split()[0] for line in listed.stdout.splitlines() if line.strip()} >= (
        BUNDLED_PLUGINS
    ), listed.stdout
    assert not listed.stderr.strip(), listed.stderr  # no plugin failed to load

    if not on_postgres:
        # Without the postgres extra, a PostgreSQL URL is one line that names the extra.
        missing = run(
            [portal, "tenant", "list"],
            cwd=workdir,
            env={**env, "PORTAL_DATABASE_URL": "postgresql://portal@127.0.0.1:1/portal"},
            check=False,
        )
        assert missing.returncode == 1
        assert missing.stderr.strip().splitlines() == [
            "Error: PORTAL_DATABASE_URL points at PostgreSQL, which needs the driver: "
            "pip install 'supplyport[postgres]'"
        ]

    # 5. Serve it; log in as a browser would; the tenant's theme; a German page.
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [portal, "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server, log)
        _visit(port)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def _visit(port: int) -> None:
    visitor = Visitor(port, f"acme.localhost:{port}")
    response, page = visitor.request("GET", "/login")
    assert response.status == 200, page
    # The acme tenant's theme is "atelier": its stylesheet and its sidebar layout.
    assert "/themes/atelier/atelier.css" in page
    token = CSRF.search(page).group(1)
    response, page = visitor.request(
        "POST",
        "/login",
        {"csrf_token": token, "email": "admin@acme.test", "password": "portal-demo"},
    )
    assert response.status == 302, page
    response, page = visitor.request("GET", urlsplit(response.headers["Location"]).path)
    assert response.status == 200, page
    assert 'name="password"' not in page, "still the login form"
    assert "/themes/atelier/atelier.css" in page
    stylesheet, css = visitor.request("GET", "/themes/atelier/atelier.css")
    assert stylesheet.status == 200
    assert css.strip()

    response, page = Visitor(port, f"acme.localhost:{port}").request("GET", "/login", language="de")
    assert response.status == 200
    assert '<html lang="de"' in page
    assert "Anmelden" in page
