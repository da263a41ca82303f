"""The HTTP layer: HTTP/1.1 with keep-alive, one daemon thread per connection.

Every answer has a Content-Length, so clients reuse connections as they would with
Tencent's servers. An injected drop closes the connection without writing a byte.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from bot.dev.fake_wechat import control
from bot.dev.fake_wechat.dispatch import serve

if TYPE_CHECKING:
    from bot.dev.fake_wechat.fake import FakeWeChat

log = logging.getLogger("guanban.fake_wechat")


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()
    allow_reuse_address = True

    def __init__(self, host: str, port: int, fake: FakeWeChat) -> None:
        if ":" in host.strip("[]"):
            self.address_family = socket.AF_INET6
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host.strip("[]"), port), Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            # A client that gave up (a delay longer than its timeout, or stop()): not news.
            log.debug("connection from %s ended: %r", client_address, error)
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeWeChat/1.0"
    sys_version = ""
    timeout = 300  # an idle keep-alive connection's thread ends after this
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall
    server: FakeServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._write(411, b"fake wechat: send a Content-Length\n", "text/plain")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._write(400, b"fake wechat: bad Content-Length\n", "text/plain")
            return
        raw = self.rfile.read(length) if length > 0 else b""
        fake = self.server.fake
        if url.path.startswith("/_fake/"):
            status, payload = control.handle(fake, method, url.path, query, raw)
            self._json(status, payload)
            return
        outcome = serve(fake.state, method, url.path, query, raw)
        if outcome.status is None:
            self.close_connection = True  # injected drop: no status line, no headers
            return
        if outcome.json is not None:
            self._json(outcome.status, outcome.json)
        else:
            self._write(outcome.status, outcome.text.encode(), "text/plain; charset=utf-8")

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._write(status, data, "application/json; charset=utf-8")

    def _write(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)
