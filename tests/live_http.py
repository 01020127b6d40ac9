"""A small HTTP client for tests against a live server: one tenant host, its cookies, forms.

The server listens on 127.0.0.1; the tenant's host goes into the Host header, so no name
resolution of ``*.localhost`` is needed.
"""

from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    text: str


@dataclass
class LiveBrowser:
    """Send requests to ``host`` on the server at 127.0.0.1:``port``, keeping its cookies."""

    port: int
    host: str
    timeout: float = 60
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Host": f"{self.host}:{self.port}", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return Response(answer.status, answer.headers, text)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Response:
        return self.request("POST", path, form)

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        match = CSRF.search(page.text)
        assert match, f"no CSRF token in {path} (status {page.status}): {page.text[:300]}"
        return match.group(1)

    def login(self, email: str, password: str) -> Response:
        token = self.csrf_token("/login")
        return self.post("/login", {"email": email, "password": password, "csrf_token": token})


def wait_until_serving(port: int, seconds: float, alive=lambda: True) -> bool:
    """Wait until something accepts connections on 127.0.0.1:``port``; False on time-out or
    when ``alive()`` says the server process has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return True
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    return False
