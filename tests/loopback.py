"""A loopback HTTP server and a socket guard for data tests (never the internet)."""

from __future__ import annotations

import http.server
import socket
import threading
from collections import Counter

import pytest

from odebench.data import download


class Loopback:
    """An HTTP server on 127.0.0.1 serving ``files`` (URL path -> bytes), counting requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: Counter[str] = Counter()
        self.short: set[str] = set()     # paths whose body is cut short of Content-Length
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                owner.requests[self.path] += 1
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path in owner.short else body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, source_id: str, name: str, body: bytes) -> None:
        self.files[f"/{source_id}/{name}"] = body


@pytest.fixture
def no_network(monkeypatch):
    """No proxies, no mirror or cache from the environment, and no socket beyond 127.0.0.1."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY", download.MIRROR_ENV, download.DATA_ENV):
        monkeypatch.delenv(var, raising=False)
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to reach {address}")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def server():
    loopback = Loopback()
    loopback.thread.start()
    yield loopback
    loopback.httpd.shutdown()
    loopback.httpd.server_close()
    loopback.thread.join()
