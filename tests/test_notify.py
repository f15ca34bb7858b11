"""The webhook client against hostile receivers on 127.0.0.1: a reply of gigabytes, a reply
dripping a byte at a time, a redirect to another host, and URLs that would leak their token."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from phigate.api import InputError
from phigate.notify import Limits, NotifyError, Webhook, parse_target, post

from .conftest import ROOT, CliResult
from .local_listener import listening

EXAMPLE = ROOT / "examples" / "supplier-estate.json"

FAST = Limits(connect=2.0, read=1.0, total=3.0, max_reply=64 * 1024)


@dataclass
class Server:
    url: str
    requests: int = 0
    sent: int = 0  # bytes the server managed to write
    head: bytes = b""  # the last request's line and headers
    done: threading.Event = field(default_factory=threading.Event)


Handler = Callable[[socket.socket, Server], None]


@contextmanager
def serve(handler: Handler) -> Iterator[Server]:
    """A receiver on 127.0.0.1 that reads the request head and then behaves as ``handler`` says."""
    server = Server("")

    def handle(connection: socket.socket) -> None:
        with connection, suppress(OSError):
            connection.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                more = connection.recv(65536)
                if not more:
                    return
                head += more
            server.requests += 1
            server.head = head
            handler(connection, server)
        server.done.set()

    with listening(lambda connection: threading.Thread(target=handle, args=(connection,),
                                                       daemon=True).start()) as origin:
        server.url = f"{origin}/services/T0/B0/SECRET-TOKEN"
        yield server


def _huge(status: int) -> Handler:
    def handler(connection: socket.socket, server: Server) -> None:
        connection.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: {2 * 1024 ** 3}\r\n\r\n".encode())
        block = b"\0" * 65536
        while server.sent < 2 * 1024 ** 3:
            connection.sendall(block)
            server.sent += len(block)
    return handler


def _drip(head: bytes) -> Handler:
    def handler(connection: socket.socket, server: Server) -> None:
        connection.sendall(head)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"[len(head):]:
            time.sleep(0.5)
            connection.sendall(bytes([byte]))
            server.sent += 1
    return handler


def _answer(status: int, headers: str = "") -> Handler:
    def handler(connection: socket.socket, server: Server) -> None:
        connection.sendall(f"HTTP/1.1 {status} X\r\n{headers}Content-Length: 0\r\n\r\n".encode())
    return handler


def test_a_reply_of_gigabytes_is_read_only_up_to_the_limit() -> None:
    with serve(_huge(200)) as server:
        started = time.monotonic()
        post(Webhook(server.url), {"text": "x"}, limits=FAST)  # a 2xx status: delivered
        assert time.monotonic() - started < 3
        assert server.done.wait(10)
    assert server.sent < 64 * 1024 ** 2  # the receiver was cut off, far from its 2 GiB


def test_a_failing_reply_of_gigabytes_is_bounded_on_every_attempt() -> None:
    failed = pytest.raises(NotifyError, match=r"HTTP 503 \(after 2 attempts\)")
    with serve(_huge(503)) as server, failed:
        post(Webhook(server.url), {"text": "x"}, attempts=2, backoff=0.0, limits=FAST)
    assert server.requests == 2


def test_a_reply_dripping_a_byte_at_a_time_ends_at_the_total_deadline() -> None:
    with serve(_drip(b"")) as server:
        started = time.monotonic()
        with pytest.raises(NotifyError, match=r"no answer within 3 s \(after 1 attempt\)"):
            post(Webhook(server.url), {"text": "x"}, attempts=1, limits=FAST)
        assert time.monotonic() - started < FAST.total + 1.5
    assert 0 < server.sent < 10


def test_a_receiver_that_never_answers_times_out() -> None:
    def silent(connection: socket.socket, server: Server) -> None:
        time.sleep(6)
    with serve(silent) as server:
        started = time.monotonic()
        with pytest.raises(NotifyError, match=r"timed out \(after 1 attempt\)"):
            post(Webhook(server.url), {"text": "x"}, attempts=1, limits=FAST)
        assert time.monotonic() - started < FAST.read + 1.5


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_and_never_counted_as_delivered(status: int) -> None:
    with serve(_answer(200)) as elsewhere, \
            serve(_answer(status, f"Location: {elsewhere.url}\r\n")) as server, \
            pytest.raises(NotifyError) as raised:
        post(Webhook(server.url), {"text": "x"}, backoff=0.0, limits=FAST)
    assert f"HTTP {status} (a redirect: not followed, not delivered) (after 1 attempt)" in str(raised.value)
    assert server.requests == 1 and elsewhere.requests == 0
    assert "SECRET-TOKEN" not in str(raised.value)


@pytest.mark.parametrize("url", [
    "https://hooks.example/services/T0/SECRET TOKEN",
    "https://hooks.example/services/T0/SECRET\tTOKEN",
    "https://hooks.example/services/T0/SECRET\nTOKEN",
    "https://hooks.example/services/T0/SECRET\x1b[2JTOKEN",
    "https://hooks.example/services/T0/SECRÉT-TOKEN",
    "https://user:SECRET-TOKEN@hooks.example/services",
    "https://hooks.example:99999/SECRET-TOKEN",
    "file:///etc/SECRET-TOKEN",
])
def test_a_bad_webhook_url_is_refused_before_the_run_without_quoting_it(url: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_target(f"webhook={url}")
    assert "SECRET" not in str(raised.value) and "TOKEN" not in str(raised.value)


def test_the_command_line_refuses_a_webhook_url_with_a_space_and_names_no_token(
        cli: Callable[..., CliResult], tmp_path: Path) -> None:
    store = tmp_path / "history.db"
    result = cli("audit", str(EXAMPLE), "--store", str(store), "--notify",
                 "webhook=https://hooks.example/services/T0/SECRET TOKEN")
    assert result.code == 2
    assert "the webhook URL holds spaces" in result.err
    assert "SECRET" not in result.err + result.out
    assert not store.exists()  # refused before anything ran


def test_delivery_never_prints_the_path_of_the_url() -> None:
    with pytest.raises(NotifyError) as raised:
        post(Webhook("http://127.0.0.1:9/services/SECRET-TOKEN?key=SECRET"), {"text": "x"},
             attempts=1, limits=FAST)
    assert str(raised.value).startswith("notification to http://127.0.0.1:9/… failed: ")
    assert "SECRET" not in str(raised.value)


def test_the_environment_proxy_carries_the_notification(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []

    def proxy(connection: socket.socket, server: Server) -> None:
        seen.append(server.head)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    with serve(proxy) as server:
        address = server.url.split("/services")[0].replace("http://", "http://user:PROXY-PW@")
        monkeypatch.setenv("http_proxy", address)
        monkeypatch.setenv("https_proxy", address)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        post(Webhook("http://hooks.invalid/services/T0/SECRET"), {"text": "x"}, attempts=1, limits=FAST)
        with pytest.raises(NotifyError) as raised:  # the proxy answers the CONNECT with a bare 200
            post(Webhook("https://hooks.invalid/services/T0/SECRET"), {"text": "x"}, attempts=1,
                 limits=FAST)
    assert seen[0].startswith(b"POST http://hooks.invalid/services/T0/SECRET HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic dXNlcjpQUk9YWS1QVw==" in seen[0]
    assert seen[1].startswith(b"CONNECT hooks.invalid:443 HTTP/1.0\r\nProxy-Authorization: Basic ")
    assert "PROXY-PW" not in str(raised.value) and "SECRET" not in str(raised.value)
