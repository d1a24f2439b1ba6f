"""Clients on raw sockets that send a /predict body slowly (unique module name: test folders
share sys.path). Loopback only, and bounded: each stops after ``limit_s`` whatever happens."""

from __future__ import annotations

import select
import socket
import threading
import time


class SlowSender:
    """Sends the headers of ``POST path`` (``Content-Length: declared``) and ``first``
    bytes at once, then one byte every ``interval_s`` until the service answers, or, with
    ``hold``, waits for ``finish()`` and then sends the rest of ``body`` at once."""

    def __init__(
        self,
        port: int,
        *,
        body: bytes = b"RIFF" + b"\0" * (1024 * 1024 - 4),
        first: int = 4,
        interval_s: float = 1.0,
        limit_s: float = 30.0,
        hold: bool = False,
        path: str = "/predict",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.body, self.first, self.interval_s, self.limit_s = body, first, interval_s, limit_s
        self.answer = b""
        self._release = threading.Event() if hold else None
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=limit_s)
        fields = {"Host": "127.0.0.1", "Content-Type": "audio/wav", **(headers or {})}
        fields["Content-Length"] = str(len(body))
        lines = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
        head = f"POST {path} HTTP/1.1\r\n{lines}\r\n".encode()
        self.sock.sendall(head + body[:first])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def status(self) -> int | None:
        """The answer's status code; None before one came."""
        line = self.answer.split(b"\r\n", 1)[0].split()
        return int(line[1]) if len(line) > 1 and line[1].isdigit() else None

    def finish(self) -> None:
        assert self._release is not None
        self._release.set()

    def wait(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        sent = self.first
        try:
            while time.monotonic() < deadline and sent < len(self.body):
                if self._release is not None:
                    if self._release.wait(min(0.1, deadline - time.monotonic())):
                        self.sock.sendall(self.body[sent:])
                        sent = len(self.body)
                    continue
                if self._readable(self.interval_s):  # answered before the body was whole
                    break
                self.sock.sendall(self.body[sent : sent + 1])
                sent += 1
            self._read(deadline)
        except OSError:
            self._read(deadline)
        finally:
            self.sock.close()

    def _readable(self, timeout_s: float) -> bool:
        # poll, not select: late in a long suite the socket's descriptor can exceed
        # FD_SETSIZE (1024), where select.select raises ValueError and the sender dies.
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(timeout_s * 1000))

    def _read(self, deadline: float) -> None:
        try:
            while time.monotonic() < deadline:
                if not self._readable(0.5):
                    continue
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                self.answer += chunk
        except OSError:
            return
