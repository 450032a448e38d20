"""A real HTTP server on 127.0.0.1 for the download tests, misbehaving exactly as each test asks.

Each path serves fixture bytes with a chosen behaviour (errors, dropped connections, ignored Range, delays), and
every response is recorded: which Range was asked for, which byte it started at and how many bytes were sent.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes
    failures: int = 0
    """Answer `failure_status` to this many requests before serving the body."""
    failure_status: int = 500
    drops: int = 0
    """Close the connection after `drop_after` body bytes in this many responses."""
    drop_after: int = 0
    ignore_range: bool = False
    delay: float = 0.0
    """Seconds of silence before the status line."""


@dataclass
class Served:
    path: str
    range: str | None
    status: int
    start: int = 0
    sent: int = 0


@dataclass
class FixtureServer:
    routes: dict[str, Route] = field(default_factory=dict)
    log: list[Served] = field(default_factory=list)

    def __post_init__(self):
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, path: str, body: bytes, **behaviour) -> str:
        """Serve `body` at /path; return its URL."""
        path = "/" + path.lstrip("/")
        self.routes[path] = Route(body, **behaviour)
        return self.base + path

    def requests_for(self, path: str) -> list[Served]:
        return [served for served in self.log if served.path == "/" + path.lstrip("/")]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def handler_for(server: FixtureServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def handle(self):
            try:
                super().handle()
            except (ConnectionError, TimeoutError):
                pass

        def do_GET(self):
            route = server.routes.get(self.path)
            served = Served(self.path, self.headers.get("Range"), 404)
            server.log.append(served)
            if route is None:
                self.answer(404, b"<!DOCTYPE html><html><body>Not Found</body></html>")
                return
            if route.delay:
                time.sleep(route.delay)
            with server.lock:
                failing = route.failures > 0
                route.failures -= failing
                dropping = not failing and route.drops > 0
                route.drops -= dropping
            if failing:
                served.status = route.failure_status
                self.answer(route.failure_status, b"<html><body>Internal Server Error</body></html>")
                return
            requested = re.fullmatch(r"bytes=(\d+)-", served.range or "")
            start = int(requested.group(1)) if requested and not route.ignore_range else 0
            if start >= len(route.body) > 0:
                served.status = 416
                self.answer(416, b"")
                return
            served.status, served.start = (206 if start else 200), start
            self.send_response(served.status)
            self.send_header("Content-Length", str(len(route.body) - start))
            self.send_header("Accept-Ranges", "none" if route.ignore_range else "bytes")
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(route.body) - 1}/{len(route.body)}")
            self.end_headers()
            payload = route.body[start:]
            if dropping:
                payload = payload[: route.drop_after]
                self.close_connection = True
            self.wfile.write(payload)
            self.wfile.flush()
            served.sent = len(payload)

        def answer(self, status: int, body: bytes):
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
