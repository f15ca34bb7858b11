"""Text from the estate or from input files, made harmless for the people and logs that read it.

Resource ids, names, tags, messages and the keys of config and waiver files are chosen by
whoever writes a plan, an object or a tag. Every writer of human-facing text goes through this
module:

- ``visible``: every character that is not printable (C0 and C1 controls, DEL, line and paragraph
  separators, bidirectional overrides, other format characters, spaces other than U+0020) is
  written as its code point — ``\\x1b``, ``\\u2028``, ``\\U000e0001`` — so one value stays on one
  line and cannot move the cursor, recolour or rewrite a terminal.
- ``guard``: a CI runner treats a log line that starts with ``::`` (after blanks: GitHub trims
  leading whitespace) as a workflow command (``::error``, ``::add-mask::``,
  ``::stop-commands::``), and ``##[`` (GitHub's older form) or ``##vso[`` (Azure Pipelines)
  anywhere in a line as one too. A line whose first non-blank characters are ``::`` gets its
  first colon written ``\\u003a``, and the second ``#`` of ``##[`` or ``##vso[`` is written
  ``\\u0023``: visible text, never a zero-width character, and a valid JSON escape, so a JSON
  report on standard output stays valid and decodes to the original text. ``GuardedStream``
  applies this to everything phigate writes to standard output and error, whatever wrapped it.
- ``markdown_words``: the words of a value that GitHub would turn into a mention
  (``@someone``, ``@org/team``), an e-mail link or an autolink (``www.``, ``http://``,
  ``https://``, ``ftp://``, ``mailto:``): the Markdown reporter writes them as code spans, where
  neither happens, and the text is kept as it was.
- ``without_userinfo``: ``scheme://user:password@host`` written as ``scheme://host``, in a URL
  or anywhere in a message.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from typing import IO
from urllib.parse import urlsplit, urlunsplit

_GITHUB_BREAKS = re.compile(r"(\r\n|\r|\n)")  # what the runner splits its log lines on
#: Blanks and colour codes before a command (colour codes are no text to a reader).
_LEAD = re.compile(r"(?:\s|\x1b\[[0-9;]*m)*")
_SGR_PREFIX = re.compile(r"\x1b(?:\[[0-9;]*)?")  # a colour code cut before its end
_ANYWHERE = re.compile(r"##(?=\[|vso\[)")
_BLOCK = 64 * 1024  # characters a GuardedStream gathers before looking at them


def visible(text: str) -> str:
    """``text`` with every non-printable character written as its code point."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _code_point(ch) for ch in text)


def _code_point(ch: str) -> str:
    point = ord(ch)
    if point <= 0xFF:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def guard(text: str) -> str:
    """``text`` whose lines (split as the runner splits them) no CI runner reads as commands."""
    if "::" not in text and "##" not in text:
        return text
    text = _continue(text)
    out: list[str] = []
    done = start = seen = 0  # start: of the line holding ``at``; seen: searched back to here
    at = text.find("::")
    while at >= 0:  # str.find, not a regular expression: reports on stdout can be large
        start = max(start, text.rfind("\n", seen, at) + 1, text.rfind("\r", seen, at) + 1)
        seen = at
        lead = text[start:at]
        if not lead or lead.isspace() or ("\x1b" in lead and _LEAD.fullmatch(lead)):
            out += [text[done:at], "\\u003a"]
            done = at + 1
        at = text.find("::", at + 1)
    return "".join(out) + text[done:] if out else text


def guard_line(line: str) -> str:
    """One log line that no CI runner reads as a workflow command."""
    return guard(line)


def safe_line(text: str) -> str:
    """A value shown alone on a line: visible and guarded."""
    return guard_line(visible(text))


class GuardedStream(io.TextIOBase):
    """A text stream that writes every line through ``guard_line``.

    Writes are gathered and looked at in blocks (at ``flush``, every 64 K characters, or each
    line when ``line_buffered``, as standard error is). The start
    of a line is held until it shows it cannot be a command (its first non-blank character is not
    ``:``, or a second character follows a first ``:``), and a trailing ``#`` until the next
    characters are known, so a command split across writes is still caught. ``close_line``
    writes what is held at the end. Everything else (``isatty``, ``fileno``, ``encoding``) is
    the wrapped stream's.
    """

    def __init__(self, stream: IO[str], *, line_buffered: bool = False) -> None:
        super().__init__()
        self._stream = stream
        self._line_buffered = line_buffered  # each complete line out at once (standard error)
        self._chunks: list[str] = []  # written, not yet looked at (looked at in blocks: speed)
        self._size = 0
        self._pending = ""  # held text of the current line, not yet written
        self._mid = False  # the current line's start was written: it is no command
        self._lock = threading.RLock()  # a progress display may write from its own thread

    @property
    def wrapped(self) -> IO[str]:
        return self._stream

    def write(self, text: str) -> int:
        with self._lock:
            self._chunks.append(text)
            self._size += len(text)
            if self._size >= _BLOCK or (self._line_buffered and ("\n" in text or "\r" in text)):
                self._drain()
                if self._line_buffered:
                    self._stream.flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._drain()
            self._stream.flush()

    def close_line(self) -> None:
        """Write whatever is held (the end of the output: nothing can follow it on its line)."""
        with self._lock:
            self._drain()
            if self._pending:
                self._stream.write(_continue(self._pending) if self._mid else guard_line(self._pending))
                self._pending = ""
            self._stream.flush()

    def _drain(self) -> None:
        if not self._chunks:
            return
        data = self._pending + "".join(self._chunks)
        self._chunks, self._size, self._pending = [], 0, ""
        cut = max(data.rfind("\n"), data.rfind("\r")) + 1
        head, last = data[:cut], data[cut:]
        out = []
        if head:
            if self._mid:  # the rest of a line whose start was judged, then whole lines
                first = min(i for i in (head.find("\n"), head.find("\r")) if i >= 0)
                out += [_continue(head[:first]), guard(head[first:])]
            else:
                out.append(guard(head))
            self._mid = False
        if not self._mid and _undecided(last):
            self._pending = last  # a line start that could still become "::"
        else:
            hold = last.rfind("#", max(0, len(last) - 5))  # "##" may meet "vso[" in the next write
            body = last if hold < 0 else last[:hold]
            self._pending = last[len(body):]
            if body:
                out.append(_continue(body) if self._mid else guard_line(body))
                self._mid = True
        if out:
            self._stream.write("".join(out))

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._stream, "errors", None)


def _continue(part: str) -> str:
    """More of a line whose start was already judged: only ``##[`` or ``##vso[`` can matter."""
    return _ANYWHERE.sub("#\\\\u0023", part) if "##" in part else part


def _undecided(start: str) -> bool:
    """Whether a line's start could still become a command (blanks, colour codes, one colon)."""
    rest = start[_LEAD.match(start).end():]  # type: ignore[union-attr]
    return rest in ("", ":") or _SGR_PREFIX.fullmatch(rest) is not None


# -- Markdown --------------------------------------------------------------------------------

#: A mention (``@name``, ``@org/team``), an e-mail address, or an autolink GitHub recognises.
_LIVE = re.compile(r"@[A-Za-z0-9]|(?<![A-Za-z0-9])(?:www\.|https?:|ftp:|mailto:|xmpp:)", re.I)


def markdown_words(text: str) -> Iterator[tuple[str, bool]]:
    """``text`` as runs of ``(segment, live)``: live segments are the whitespace-separated words
    GitHub would turn into a mention or a link; everything else comes as it is."""
    if not _LIVE.search(text):
        yield text, False
        return
    plain = ""
    for word in re.split(r"(\s+)", text):
        if word and not word.isspace() and _LIVE.search(word):
            if plain:
                yield plain, False
                plain = ""
            yield word, True
        else:
            plain += word
    if plain:
        yield plain, False


# -- Credentials in URLs ---------------------------------------------------------------------

#: The user-info runs to the authority's last "@" (as URL parsers and libpq read it), so a
#: password holding an unencoded "@" goes whole, not up to its own "@".
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#\"'<>]*@)")


def without_userinfo(text: str) -> str:
    """Any ``scheme://user:password@`` in ``text`` written as ``scheme://`` (URLs in messages
    included): endpoints and URLs reach reports and logs without their credentials."""
    if "@" not in text:
        return text
    return _USERINFO.sub(lambda m: m["scheme"], text)


def display_url(url: str) -> str:
    """Scheme, host and port only: the path and query of a webhook URL are its credential."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(an invalid URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return visible(urlunsplit((parts.scheme, netloc, "/…" if parts.path not in ("", "/") or parts.query
                               else "", "", "")))


__all__ = ["GuardedStream", "display_url", "guard", "guard_line", "markdown_words", "safe_line",
           "visible", "without_userinfo"]
