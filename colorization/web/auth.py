"""Who may use the server, as one middleware in front of every route: the Host check (a loopback server answers only
to loopback names, against DNS rebinding), the token rule (a bearer header, the page's cookie, or `?token=` once in
the address the server printed), and the security headers on every answer."""

from __future__ import annotations

import ipaddress
import secrets

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from .errors import error_response

TOKEN_COOKIE = "colorize_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def host_name(request: Request) -> str:
    """The name the client addressed, without its port (an IPv6 address keeps no brackets)."""
    host = request.headers.get("host", "")
    return host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]


class AccessGuard:
    """The app's HTTP middleware: answers the requests it refuses (403 wrong host, 401 no token) or lets them through,
    and adds the security headers to every answer. `allowed_hosts` None: any host name; `token` None: no token."""

    def __init__(self, token: str | None, allowed_hosts: tuple | None):
        self.token = token
        self.allowed_hosts = allowed_hosts

    async def __call__(self, request: Request, call_next) -> Response:
        response = self.refusal(request)
        if response is None:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def refusal(self, request: Request) -> Response | None:
        """The answer to a request that may not go on, None for one that may."""
        if self.allowed_hosts is not None and host_name(request) not in self.allowed_hosts:
            return error_response(403, "this server answers only at http://127.0.0.1 (the Host header did not match)")
        if self.token is None:
            return None
        header = request.headers.get("authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if self.matches(bearer) or self.matches(request.cookies.get(TOKEN_COOKIE, "")):
            return None
        if self.matches(request.query_params.get("token", "")):
            return self.entered(request)
        return error_response(
            401,
            "this server needs its token: open the address it printed (with ?token=...) or send 'Authorization: Bearer TOKEN'",
            {"WWW-Authenticate": "Bearer"},
        )

    def matches(self, offered: str) -> bool:
        return (
            self.token is not None and bool(offered) and secrets.compare_digest(offered.encode(), self.token.encode())
        )

    def entered(self, request: Request) -> Response | None:
        """The token came in the address: a page is redirected to itself without it, the token kept in a cookie
        (so it leaves the address bar and the history); an API call just goes on."""
        if request.method != "GET" or request.url.path.startswith("/api/") or self.token is None:
            return None
        redirect = RedirectResponse(request.url.path, status_code=303)
        redirect.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict", path="/")
        return redirect
