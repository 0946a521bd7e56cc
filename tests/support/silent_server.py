"""A TCP server on a free 127.0.0.1 port that accepts every connection and
never answers: what a hung Redis (or any dependency) looks like to a client
until its read timeout. It runs in a thread of the test process; leaving the
``with`` block closes the listening socket and every connection.
"""

from __future__ import annotations

import selectors
import socket
import threading
import typing as t

from .ports import LOOPBACK
from .server_process import Managed


class SilentServer(Managed):
    """Accepts, reads and discards, never writes.

    :attr:`accepted` counts the connections made so far.
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(128)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    def _serve(self) -> None:
        connections: list[socket.socket] = []
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.05):
                    sock = t.cast(socket.socket, key.fileobj)
                    if sock is self._listener:
                        try:
                            conn, _ = self._listener.accept()
                        except OSError:
                            continue
                        conn.setblocking(False)
                        connections.append(conn)
                        selector.register(conn, selectors.EVENT_READ)
                        self.accepted += 1
                        continue
                    try:
                        data = sock.recv(65536)  # read and forget
                    except OSError:
                        data = b""
                    if not data:  # the client gave up
                        selector.unregister(sock)
                        connections.remove(sock)
                        sock.close()
        for conn in connections:
            conn.close()

    def start(self) -> SilentServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._listener.close()
