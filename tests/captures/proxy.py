"""A TCP proxy on 127.0.0.1 whose link can be cut: real network failures for the capture agents.

``cut()`` resets every open connection and every new one until ``restore()``; botocore sees
connection resets and refused reads on a real socket, exactly as when a VPN or NAT drops
mid-capture. Nothing in the client is patched.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType


class CuttableProxy:
    """Forward 127.0.0.1:<port> to ``upstream`` (``host:port``) until cut."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host.removeprefix("http://"), int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = threading.Event()
        self.requests = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Reset every connection, and every new one until :meth:`restore`."""
        self.down.set()
        with self._lock:
            for s in list(self._open):
                _reset(s)
            self._open.clear()

    def restore(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()

    def __enter__(self) -> CuttableProxy:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.down.is_set():
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, outbound: bool) -> None:
        try:
            while not self.down.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if outbound and data[:5] == b"POST ":
                    with self._lock:
                        self.requests += 1
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with self._lock:
                    self._open.discard(s)
                _reset(s)


def _reset(s: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dropped link looks to the peer."""
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # close() alone does not wake a thread blocked in recv() on this socket (the kernel keeps it
    # open until that call returns); shutdown() does, so the peer sees the drop at once.
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
