"""Audit notifications: a JSON summary posted to a webhook when something changed or failed.

The body carries a Slack-compatible ``text`` (escaped as Slack asks: ``&``, ``<``, ``>``, so a
resource name cannot become a link or a mention) beside structured fields for other receivers.
Delivery is retried with exponential backoff, a bounded number of times; a failure is returned
to the caller to report, never raised: the run is already recorded and the exit code stands.
Webhook URLs are secrets (the path is the credential): messages name the scheme and host only.

The receiver is not trusted either. Each attempt has a connect deadline, a read deadline per
receive and a total deadline (a watchdog closes the connection when it passes, so a reply
dripping one byte at a time cannot hold the audit); at most ``MAX_REPLY_BYTES`` of the reply are
read; a redirect is never followed and never counts as delivered (the receiver would be another
host, or the same one asking for a method it was not sent).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from phigate import __version__
from phigate.api import InputError
from phigate.history.drift import Drift
from phigate.history.records import StoredFinding
from phigate.model import Status
from phigate.result import RunResult
from phigate.safetext import display_url, visible

ATTEMPTS = 3
#: Seconds before the second attempt; doubled for each later one.
BACKOFF_SECONDS = 1.0
#: Seconds to connect; to wait for each piece of the reply; for a whole attempt.
CONNECT_SECONDS = 10.0
READ_SECONDS = 10.0
TOTAL_SECONDS = 30.0
#: The most of a reply read (a receiver says ``ok``; the rest is discarded unread).
MAX_REPLY_BYTES = 64 * 1024
#: Findings listed per change in the payload (the rest are counted), and in the text.
MAX_LISTED = 50
MAX_TEXT_LINES = 10
_RETRIABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Webhook:
    #: Kept out of ``repr``: the URL is the credential.
    url: str = field(repr=False)

    @property
    def display(self) -> str:
        """Scheme, host and port: the path and query are the credential."""
        return display_url(self.url)


@dataclass(frozen=True, slots=True)
class Limits:
    connect: float = CONNECT_SECONDS
    read: float = READ_SECONDS
    total: float = TOTAL_SECONDS
    max_reply: int = MAX_REPLY_BYTES


class NotifyError(Exception):
    pass


class NotConfigured(InputError):
    """``webhook=env:NAME`` whose variable is unset or empty: what CI passes for a secret that is
    not defined. The audit runs and says so; it is not an input error."""


def parse_target(spec: str) -> Webhook:
    """``webhook=URL``, or ``webhook=env:NAME`` to read the URL from an environment variable
    (it stays off the command line and out of process listings). An unset or empty variable
    raises :class:`NotConfigured`."""
    kind, sep, value = spec.partition("=")
    if kind != "webhook" or not sep or not value:
        raise InputError(f"--notify takes webhook=URL or webhook=env:NAME, not '{kind}…'")
    if value.startswith("env:"):
        name = value.removeprefix("env:")
        url = os.environ.get(name, "")
        if not url:
            raise NotConfigured(f"--notify: environment variable {name} is empty or not set: "
                                "this run notifies no webhook")
    else:
        url = value
    _check_url(url)
    return Webhook(url)


def _check_url(url: str) -> None:
    """Everything delivery needs, checked before the run: no message quotes the URL's path."""
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InputError("--notify: the webhook URL holds spaces, control or non-ASCII characters "
                         "(percent-encode them)")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - validates the port, which ``display`` and delivery read later
    except ValueError:
        raise InputError("--notify: the webhook URL's port is not a number from 0 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("--notify: a webhook URL starts with https:// (or http://) and names a host")
    if parts.username is not None or parts.password is not None:
        raise InputError("--notify: the webhook URL holds a user name or password before its host; "
                         "put the credential in the path or query, as webhook services do")


def should_notify(exit_code: int, drift: Drift | None) -> bool:
    """Notify on a series' first run, on any change since the previous run, and whenever the
    evidence is incomplete (exit 3). Failures that were already known do not notify again."""
    return drift is None or drift.changed or exit_code == 3


def payload(result: RunResult, *, run_id: int, series: str, exit_code: int,
            drift: Drift | None) -> dict[str, Any]:
    totals = result.totals()
    summary = {"resources": result.resources_seen,
               **{s.value: totals[s] for s in (Status.FAIL, Status.ERROR, Status.PASS, Status.WAIVED)},
               "collection_errors": len(result.collection_errors)}
    body: dict[str, Any] = {
        "text": _text(result, run_id, series, exit_code, drift),
        "tool": {"name": "phigate", "version": __version__},
        "run": {"id": run_id, "series": series, "started": result.started.isoformat(timespec="seconds"),
                "exit_code": exit_code, "evidence_complete": not result.evidence.gaps},
        "summary": summary,
        "first_run": drift is None,
    }
    if drift is not None:
        body["previous_run"] = drift.before.id
        body["changes"] = {
            **{name: _listed(found) for name, found in (("new", drift.new), ("resolved", drift.resolved),
                                                         ("new_errors", drift.new_errors))},
            "new_collection_errors": len(drift.new_collection_errors),
            "still_failing": len(drift.still_failing),
            "policies_added": list(drift.policies_added),
            "policies_removed": list(drift.policies_removed),
        }
    return body


def _listed(findings: Sequence[StoredFinding]) -> dict[str, Any]:
    return {"count": len(findings),
            "findings": [{"id": f.fingerprint, "policy_id": f.policy_id, "severity": f.severity,
                          "resource": f.resource_id, "name": f.resource_name, "provider": f.provider,
                          "scope": f.scope, "message": f.message} for f in findings[:MAX_LISTED]]}


def _text(result: RunResult, run_id: int, series: str, exit_code: int, drift: Drift | None) -> str:
    totals = result.totals()
    lines = [f"*phigate audit* of {_slack(series)} (run {run_id}): "
             + (drift.headline() if drift is not None
                else f"first audit of this series, {totals[Status.FAIL]} failure(s)")]
    if exit_code == 3:
        lines.append(f"evidence incomplete: {totals[Status.ERROR]} outcome(s) not evaluated, "
                     f"{len(result.collection_errors)} collection error(s)")
    if drift is not None:
        listed = [("new", f) for f in drift.new] + [("resolved", f) for f in drift.resolved]
        for label, f in listed[:MAX_TEXT_LINES]:
            lines.append(f"• {label}: [{f.severity}] {_slack(f.policy_id)} on "
                         f"{_slack(f.resource_name or f.resource_id)}")
        if len(listed) > MAX_TEXT_LINES:
            lines.append(f"… and {len(listed) - MAX_TEXT_LINES} more")
    return "\n".join(lines)


def _slack(text: str) -> str:
    return visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post(webhook: Webhook, body: dict[str, Any], *, attempts: int = ATTEMPTS,
         backoff: float | None = None, sleep: Callable[[float], None] = time.sleep,
         limits: Limits | None = None) -> None:
    """POST ``body`` as JSON; retried on network errors, timeouts, 408/425/429 and 5xx.
    Raises NotifyError after the last attempt (or at once on another status, a redirect
    included: delivered means a 2xx answer from the URL given)."""
    try:
        _check_url(webhook.url)
    except InputError as exc:
        raise NotifyError(f"notification to {display_url(webhook.url)} not attempted: {exc}") from None
    delay = BACKOFF_SECONDS if backoff is None else backoff
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    reason = "not attempted"
    for attempt in range(1, attempts + 1):
        try:
            status = _attempt(webhook.url, data, limits or Limits())
        except _Failed as exc:
            reason = exc.reason
        else:
            if 200 <= status < 300:
                return
            reason = f"HTTP {status}"
            if 300 <= status < 400:
                reason += " (a redirect: not followed, not delivered)"
            if status not in _RETRIABLE:
                break
        if attempt < attempts:
            sleep(delay * 2 ** (attempt - 1))
    raise NotifyError(f"notification to {webhook.display} failed: {reason} "
                      f"(after {attempt} attempt{'s' if attempt > 1 else ''})")


class _Failed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _attempt(url: str, data: bytes, limits: Limits) -> int:
    """One POST; its status. Failures are ``_Failed`` with a reason that never quotes the URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json", "User-Agent": f"phigate/{__version__}"}
    proxy = _proxy(parts.scheme, host)
    connection: http.client.HTTPConnection
    if proxy is not None:  # the environment's proxy, as the standard library's clients use it
        address, authorization = proxy
        if parts.scheme == "https":  # a CONNECT tunnel: TLS to the receiver, checked by its name
            connection = http.client.HTTPSConnection(*address, timeout=limits.connect,
                                                     context=ssl.create_default_context())
            connection.set_tunnel(host, parts.port, headers=authorization)
        else:
            connection = http.client.HTTPConnection(*address, timeout=limits.connect)
            target, headers = url, headers | authorization  # the absolute form, to the proxy
    elif parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, parts.port, timeout=limits.connect,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=limits.connect)
    expired = threading.Event()

    def expire() -> None:  # the total deadline: whatever the receiver does, the attempt ends
        expired.set()
        sock = connection.sock
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(limits.total, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        if connection.sock is not None:  # connected: each receive now waits at most ``read``
            connection.sock.settimeout(limits.read)
        connection.request("POST", target, body=data, headers=headers)
        response = connection.getresponse()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _failed(exc, expired, limits) from None
    else:
        # The status is the answer; of the body, at most max_reply bytes are read, within the
        # deadlines, and the rest is left unread when the connection closes.
        with suppress(OSError, http.client.HTTPException, ValueError):
            read = 0
            while read < limits.max_reply and not expired.is_set():
                chunk = response.read1(min(16 * 1024, limits.max_reply - read))
                if not chunk:
                    break
                read += len(chunk)
        return response.status
    finally:
        watchdog.cancel()
        connection.close()


def _proxy(scheme: str, host: str) -> tuple[tuple[str, int], dict[str, str]] | None:
    """The proxy the environment names for ``scheme`` (``https_proxy``, ``http_proxy``, minus
    ``no_proxy``): its address and any ``Proxy-Authorization`` header its URL's user-info gives.
    Never quoted in a message: a proxy URL may hold a password."""
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _Failed(f"the {scheme}_proxy setting has an invalid port") from None
    if not parts.hostname:
        raise _Failed(f"the {scheme}_proxy setting names no host")
    authorization = {}
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return (parts.hostname, port), authorization


def _failed(exc: Exception, expired: threading.Event, limits: Limits) -> _Failed:
    if expired.is_set():
        return _Failed(f"no answer within {limits.total:g} s")
    if isinstance(exc, TimeoutError):
        return _Failed("timed out")
    if isinstance(exc, ssl.SSLError):
        return _Failed(f"TLS error ({exc.reason or type(exc).__name__})")
    if isinstance(exc, OSError) and exc.strerror:
        return _Failed(exc.strerror)
    return _Failed(type(exc).__name__)  # its text may quote the request line



__all__ = ["Limits", "NotifyError", "Webhook", "parse_target", "payload", "post", "should_notify"]
