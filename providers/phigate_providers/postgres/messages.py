"""One-line, secret-free messages from what libpq and the server say.

libpq repeats a connection string in some of its messages and spreads others over several
lines with hints; a finding needs one line that names the cause and never carries a password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

_PREFIXES = (
    re.compile(r"^connection failed:\s*"),
    re.compile(r'^connection to server (?:at|on socket) "[^"]*"(?:, port \d+)? failed:\s*'),
    re.compile(r"^(?:FATAL|ERROR):\s*"),
)

#: Causes worth a plain-words hint, by a fragment of the server's or libpq's message.
_HINTS = (
    ("password authentication failed", "wrong password or unknown role"),
    ("connection refused", "is the server running and listening on this address?"),
    ("timeout expired", "the server did not answer in time"),
    ("could not translate host name", "unknown host name"),
    ("failed to resolve host", "unknown host name"),
    ("no pg_hba.conf entry", "pg_hba.conf admits no such connection"),
)


class Redactor:
    """Removes every known secret from a message before it is shown or stored."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # As given and as a connection URI spells it (`p%40ss`); longest first, so that a secret
        # containing another is removed whole.
        spelled = {form for s in secrets if s for form in (s, quote(s, safe=""), quote_plus(s))}
        self._secrets = sorted(spelled, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text


def one_line(raw: str, redact: Redactor) -> str:
    """The first meaningful line of a libpq or server message, with a hint for common causes."""
    lines = [line.strip() for line in redact(raw).splitlines() if line.strip()]
    if not lines:
        return "no message"
    line = lines[0]
    for prefix in _PREFIXES:
        line = prefix.sub("", line)
    line = re.sub(r"\s+", " ", line).strip()
    lowered = line.lower()
    hint = next((h for fragment, h in _HINTS if fragment in lowered), None)
    return f"{line} ({hint})" if hint else line
