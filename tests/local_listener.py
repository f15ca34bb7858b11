"""A TCP listener on 127.0.0.1 for tests that play a hostile or silent remote end."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def listening(on_connection: Callable[[socket.socket], None]) -> Iterator[str]:
    """Accept connections on 127.0.0.1 and hand each to ``on_connection`` (in the accepting
    thread: a slow handler starts its own); yields ``http://127.0.0.1:PORT``. The listener is
    closed when the block ends."""
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)

        def accept() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except OSError:
                    continue
                on_connection(connection)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            stop.set()
            thread.join(5)


__all__ = ["listening"]
