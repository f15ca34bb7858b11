"""Audit notifications: a JSON summary posted to a webhook when something changed or failed.

The body carries a Slack-compatible ``text`` (escaped as Slack asks: ``&``, ``<``, ``>``, so a
resource name cannot become a link or a mention) beside structured fields for other receivers.
Delivery is retried with exponential backoff, a bounded number of times; a failure is returned
to the caller to report, never raised: the run is already recorded and the exit code stands.
Webhook URLs are secrets (the path is the credential): messages name the host only.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from phigate import __version__
from phigate.api import InputError
from phigate.history.drift import Drift
from phigate.history.records import StoredFinding
from phigate.model import Status
from phigate.run import RunResult

ATTEMPTS = 3
#: Seconds before the second attempt; doubled for each later one.
BACKOFF_SECONDS = 1.0
TIMEOUT_SECONDS = 10.0
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
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/…"


class NotifyError(Exception):
    pass


def parse_target(spec: str) -> Webhook:
    """``webhook=URL``, or ``webhook=env:NAME`` to read the URL from an environment variable
    (it stays off the command line and out of process listings)."""
    kind, sep, value = spec.partition("=")
    if kind != "webhook" or not sep or not value:
        raise InputError(f"--notify takes webhook=URL or webhook=env:NAME, not '{kind}…'")
    if value.startswith("env:"):
        name = value.removeprefix("env:")
        url = os.environ.get(name, "")
        if not url:
            raise InputError(f"--notify: environment variable {name} is not set")
    else:
        url = value
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - validates the port, which ``display`` and delivery read later
    except ValueError:
        raise InputError("--notify: the webhook URL's port is not a number from 0 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("--notify: a webhook URL starts with https:// (or http://) and names a host")
    return Webhook(url)


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
                "exit_code": exit_code, "evidence_complete": exit_code != 3},
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
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post(webhook: Webhook, body: dict[str, Any], *, attempts: int = ATTEMPTS,
         backoff: float | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
    """POST ``body`` as JSON; retried on network errors, timeouts, 408/425/429 and 5xx.
    Raises NotifyError after the last attempt (or at once on another status)."""
    delay = BACKOFF_SECONDS if backoff is None else backoff
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    reason = "not attempted"
    for attempt in range(1, attempts + 1):
        # The scheme was checked by parse_target: http(s) only, never file:// or ftp://.
        request = urllib.request.Request(
            webhook.url, data=data, method="POST",
            headers={"Content-Type": "application/json", "User-Agent": f"phigate/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                response.read()
            return
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code}"
            if exc.code not in _RETRIABLE:
                break
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, a garbled reply
            cause = getattr(exc, "reason", exc)
            reason = str(cause) or type(cause).__name__
        if attempt < attempts:
            sleep(delay * 2 ** (attempt - 1))
    raise NotifyError(f"notification to {webhook.display} failed: {reason} "
                      f"(after {attempt} attempt{'s' if attempt > 1 else ''})")


__all__ = ["NotifyError", "Webhook", "parse_target", "payload", "post", "should_notify"]
