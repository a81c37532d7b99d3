"""A throwaway SMTP server on 127.0.0.1: a mail server that is down for a while, then takes mail.

    with FakeSMTPServer(refuse_first=2) as server:   # the first two connections get 421
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        ... server.connections ... server.messages (email.message.Message) ...

`refuse_first=None` refuses every connection: a mail server that stays down.

`hold=True` is a slow mail server: it keeps every message it is given unanswered until the
test calls `release()`, so the task sending it stays busy for exactly as long as the test
needs; `held` is set once a message waits.
"""

from __future__ import annotations

import email
import socketserver
import threading
from email.message import Message


class FakeSMTPServer:
    def __init__(self, *, refuse_first: int | None = 0, hold: bool = False) -> None:
        self.refuse_first = refuse_first
        self.held = threading.Event()
        self._released = threading.Event()
        if not hold:
            self._released.set()
        self.connections = 0
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self) -> None:
                with fake._lock:
                    fake.connections += 1
                    refused = fake.refuse_first is None or fake.connections <= fake.refuse_first
                if refused:
                    self.reply("421 fake.example Service not available, try again later")
                    return
                self.reply("220 fake.example ESMTP")
                while line := self.rfile.readline():
                    command = line.decode("ascii", "replace").strip().upper()
                    if command.startswith(("EHLO", "HELO")):
                        self.reply("250 fake.example")
                    elif command.startswith(("MAIL FROM", "RCPT TO", "RSET", "NOOP")):
                        self.reply("250 OK")
                    elif command == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        data = b"".join(iter(self.rfile.readline, b".\r\n"))
                        if not fake._released.is_set():
                            fake.held.set()
                            fake._released.wait(timeout=120)
                        with fake._lock:
                            fake.messages.append(email.message_from_bytes(data))
                        self.reply("250 OK queued")
                    elif command == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]

    def __enter__(self) -> FakeSMTPServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def release(self) -> None:
        """Answer the messages held (and those to come) at once."""
        self._released.set()

    def __exit__(self, *exc_info: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
