"""A throwaway HTTP server on 127.0.0.1, for fakes of outside services.

A fake answers with a function of the request, so a test can speak an outside service's real
protocol, errors included (WhatsApp Cloud API, Telegram Bot API, SMS gateways)::

    def whatsapp(request: RecordedRequest) -> FakeResponse:
        if request.headers.get("Authorization") != "Bearer token":
            return FakeResponse.json({"error": {"code": 190}}, status=401)
        return FakeResponse.json({"messages": [{"id": "wamid.1"}]})

    with FakeHTTPServer(whatsapp) as server:
        ... server.url ... server.requests ...
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class FakeResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict | None = None) -> FakeResponse:
        return cls(
            status=status,
            body=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", **(headers or {})},
        )


Responder = Callable[[RecordedRequest], FakeResponse]


class FakeHTTPServer:
    """Serves `responder` on 127.0.0.1 at a free port, in a thread, and records each request."""

    def __init__(self, responder: Responder, *, max_body_bytes: int = 10 * 1024 * 1024) -> None:
        self.responder = responder
        self.max_body_bytes = max_body_bytes
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > fake.max_body_bytes:
                    self.send_error(413, "Request body too large")
                    return
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers=dict(self.headers.items()),
                    body=body,
                )
                fake._record(request)
                response = fake.responder(request)
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output quiet

        return Handler
