"""SDK wire logs kept out of a scan's logs.

At DEBUG, botocore logs every request with its headers (the session token, the signature), the
canonical request it signs and every response body (bucket tags, key policies: whatever the
estate returned). A logging configuration at DEBUG — a pytest run with ``--log-level=DEBUG``, a
verbose CI job, an application embedding phigate — would copy credentials and estate content
into its logs. While the AWS provider collects, those loggers are held at INFO, then restored.
(The Google and PostgreSQL clients log neither secrets nor responses at DEBUG;
``tests/test_canaries.py`` checks every provider.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

#: Loggers that write request headers, signing material or response bodies at DEBUG.
AWS = ("botocore", "botocore.endpoint", "botocore.auth", "botocore.parsers", "botocore.hooks",
       "botocore.httpsession", "botocore.credentials", "urllib3.connectionpool")


@contextmanager
def quiet(names: Iterable[str]) -> Iterator[None]:
    """Hold ``names`` at INFO or above for the duration (explicit DEBUG settings included)."""
    loggers = [logging.getLogger(name) for name in dict.fromkeys(names)]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        if logger.getEffectiveLevel() < logging.INFO:  # never lowered: WARNING stays WARNING
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, saved, strict=True):
            logger.setLevel(level)


__all__ = ["AWS", "quiet"]
