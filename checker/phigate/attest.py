"""Signed evidence: an in-toto Statement about a JSON report, in a DSSE envelope, signed with Ed25519.

What a signature proves: this report, byte for byte (its SHA-256 is the Statement's subject), was
signed by the holder of this key, and says what the predicate repeats (tool and pack versions and
digests, scopes, times, summary, evidence completeness). It binds a result to a tool, a pack and a
key, not to the truth of the estate: the signer controls the machine that ran the scan.

The formats and the cryptography come from well-kept libraries: the DSSE envelope and signing from
securesystemslib (Ed25519 through ``cryptography``), the Statement's validation from the in-toto
attestation bindings. Nothing here is hand-rolled.
"""

from __future__ import annotations

import binascii
import copy
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phigate.api import InputError
from phigate.baseline import valid_report
from phigate.files import read_bounded

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://phigate.dev/attestation/scan-report/v1"


class VerificationFailed(Exception):
    """The evidence is well formed but does not verify: signature, digest or content (exit 1)."""


@dataclass(frozen=True, slots=True)
class Verified:
    """What a verified attestation says: its signer's key id and its predicate."""

    keyid: str
    digest: str
    predicate: dict[str, Any]

    @property
    def finished(self) -> dt.datetime:
        return report_time(self.predicate.get("finished"), "finished")

    @property
    def started(self) -> dt.datetime:
        return report_time(self.predicate.get("started"), "started")


def _crypto() -> Any:
    try:
        from securesystemslib.signer import CryptoSigner
    except ImportError as exc:  # the 'attest' extra is not installed
        raise InputError("signed evidence needs the attest extra: pip install 'phigate[attest]'") from exc
    return CryptoSigner


# -- keys ---------------------------------------------------------------------------------------

def generate_keys(stem: Path) -> tuple[Path, Path]:
    """Write ``STEM.key`` (PKCS#8 PEM, mode 0600) and ``STEM.pub`` (PEM); never overwrite."""
    signer = _crypto().generate_ed25519()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    private_pem: bytes = signer.private_bytes
    public = load_pem_private_key(private_pem, None).public_key()
    public_pem = public.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    key_path, pub_path = stem.with_name(stem.name + ".key"), stem.with_name(stem.name + ".pub")
    for path in (key_path, pub_path):
        if path.exists() or path.is_symlink():
            raise InputError(f"{path}: already exists; keys are never overwritten")
    _write_new(key_path, private_pem, 0o600)
    _write_new(pub_path, public_pem, 0o644)
    return key_path, pub_path


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (never through a symlink, never over a file) with ``mode`` from the start."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        raise InputError(f"{path}: cannot create ({exc.strerror})") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def load_signer(path: Path) -> Any:
    """The signer of a private key file written by ``phigate keygen`` (an Ed25519 PEM key)."""
    signer_class = _crypto()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = read_bounded(path, "key")
    try:
        key = load_pem_private_key(data, None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 key (phigate keygen writes one)")
    return signer_class(key)


def load_public_key(path: Path) -> Any:
    """A public key file (PEM) as a verification key."""
    _crypto()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.signer import SSlibKey

    data = read_bounded(path, "key")
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key")
    return SSlibKey.from_crypto(key)


def _strict_json(data: bytes) -> Any:
    """JSON with no duplicate key and no NaN or Infinity. A report or Statement with two values
    for one key reads one way here and another way in a reader that keeps the first: what is
    signed must mean one thing, and phigate never writes either."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for key, value in items:
            if key in document:
                raise ValueError(f"duplicate key '{key}'")
            document[key] = value
        return document

    def constant(word: str) -> Any:
        raise ValueError(f"{word} is not JSON")

    try:
        return json.loads(data, object_pairs_hook=pairs, parse_constant=constant)
    except RecursionError:
        raise ValueError("nesting too deep") from None


# -- statements ---------------------------------------------------------------------------------

def report_document(data: bytes, name: str) -> dict[str, Any]:
    """The JSON report in ``data`` (``phigate scan --format json``), checked to be one."""
    try:
        document = _strict_json(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: not JSON ({exc})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("report_version"), int):
        raise InputError(f"{name}: not a phigate JSON report (no report_version)")
    for key in ("tool", "started", "finished", "summary", "scopes", "packs"):
        if key not in document:
            raise InputError(f"{name}: a phigate JSON report needs '{key}'")
    if not valid_report(document):  # what is signed, verified and shown has the report's shape
        from phigate.validation import validator

        # Named by where and which rule, not quoted: a value may be anything the file holds.
        error = min(validator("report").iter_errors(document), key=lambda e: len(e.absolute_path),
                    default=None)
        if error is None:  # only the fast check reads formats: a time that is not one, say
            raise InputError(f"{name}: not a valid phigate JSON report (a value is not in the format "
                             "the report schema gives it, such as an ISO 8601 time)")
        where = "/".join(str(part) for part in error.absolute_path)
        raise InputError(f"{name}: not a valid phigate JSON report (at /{where}, "
                         f"'{error.validator}' of the report schema)")
    return document


def predicate_of(report: dict[str, Any]) -> dict[str, Any]:
    """What the Statement repeats of the report: enough to judge it without reading it."""
    summary = report["summary"]
    return {
        "tool": report["tool"],
        "packs": report["packs"],
        "scopes": report["scopes"],
        "started": report["started"],
        "finished": report["finished"],
        "summary": summary,
        "evidence_complete": bool(summary.get("evidence_complete")) if isinstance(summary, dict) else False,
        "report_version": report["report_version"],
    }


def statement_for(data: bytes, name: str) -> dict[str, Any]:
    report = report_document(data, name)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": Path(name).name, "digest": {"sha256": hashlib.sha256(data).hexdigest()}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate_of(report),
    }


def attest(report: Path, key: Path) -> dict[str, Any]:
    """The DSSE envelope (as JSON) of a Statement about ``report``, signed with ``key``."""
    from securesystemslib.dsse import Envelope

    signer = load_signer(key)
    data = read_bounded(report, "report")
    statement = statement_for(data, str(report))
    _validate_statement(statement, str(report))
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    envelope = Envelope(payload, PAYLOAD_TYPE, {})
    envelope.sign(signer)
    document: dict[str, Any] = envelope.to_dict()
    return document


def _validate_statement(statement: dict[str, Any], name: str) -> None:
    """The in-toto bindings' own checks of a v1 Statement (type, subjects with digests, predicate)."""
    try:
        from google.protobuf import json_format
        from in_toto_attestation.v1 import statement as intoto
        from in_toto_attestation.v1 import statement_pb2
    except ImportError as exc:
        raise InputError("signed evidence needs the attest extra: pip install 'phigate[attest]'") from exc
    try:
        proto = json_format.ParseDict(statement, statement_pb2.Statement())
        intoto.Statement.copy_from_pb(proto).validate()
    except (json_format.ParseError, ValueError) as exc:
        raise InputError(f"{name}: not an in-toto v1 Statement ({exc})") from exc


# -- verification -------------------------------------------------------------------------------

def load_envelope(path: Path) -> dict[str, Any]:
    data = read_bounded(path, "attestation")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not JSON ({exc})") from exc
    if (not isinstance(document, dict) or not isinstance(document.get("payload"), str)
            or not isinstance(document.get("payloadType"), str)
            or not isinstance(document.get("signatures"), list)):
        raise InputError(f"{path}: not a DSSE envelope (payload, payloadType, signatures)")
    return document


def verify(envelope: dict[str, Any], report: bytes, keys: list[Any], name: str) -> Verified:
    """Check the signature (one of ``keys``), the Statement, the report's digest and that the
    predicate says what the report says. Malformed input is an ``InputError`` (exit 2); evidence
    that does not verify is ``VerificationFailed`` (exit 1)."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError

    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise VerificationFailed(f"{name}: payload type is not {PAYLOAD_TYPE}")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not all(
            isinstance(s, dict) and isinstance(s.get("keyid"), str) and isinstance(s.get("sig"), str)
            for s in signatures):
        raise InputError(f"{name}: not a DSSE envelope (each signature needs a text 'keyid' and 'sig')")
    try:
        # A copy: the library takes the signatures' fields out of the mapping it is given, and
        # the envelope is recorded as it came.
        parsed = Envelope.from_dict(copy.deepcopy(envelope))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise InputError(f"{name}: not a DSSE envelope ({exc})") from exc
    try:
        accepted = parsed.verify(keys, 1)
    except VerificationError as exc:
        raise VerificationFailed(f"{name}: the signature does not verify with the given key(s)") from exc
    try:
        statement = _strict_json(parsed.payload)  # the bytes the signature was checked over
    except ValueError as exc:
        raise InputError(f"{name}: the signed payload is not JSON ({exc})") from exc
    if not isinstance(statement, dict):
        raise InputError(f"{name}: the signed payload is not a Statement")
    _validate_statement(statement, name)
    if statement.get("predicateType") != PREDICATE_TYPE:
        kind = statement.get("predicateType")
        raise VerificationFailed(f"{name}: not a phigate report attestation ({kind})")
    digest = hashlib.sha256(report).hexdigest()
    subjects = [s.get("digest", {}).get("sha256") for s in statement["subject"] if isinstance(s, dict)]
    if digest not in subjects:
        raise VerificationFailed(f"{name}: the report's SHA-256 is not the attested one "
                                 "(the report was changed after signing, or is another report)")
    predicate = statement.get("predicate")
    expected = predicate_of(report_document(report, "report"))
    # Compared as JSON, not as Python values: 1 and true, 0 and false are not the same claim.
    if _exact(predicate) != _exact(expected):
        given: dict[str, Any] = predicate if isinstance(predicate, dict) else {}
        differing = sorted(k for k in set(expected) | set(given)
                           if _exact(given.get(k)) != _exact(expected.get(k)))
        raise VerificationFailed(
            f"{name}: the attested content differs from the report ({', '.join(differing)})")
    return Verified(sorted(accepted)[0], digest, expected)  # the same JSON as the signed predicate


def _exact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def report_time(value: Any, what: str) -> dt.datetime:
    """A report's ISO 8601 time (UTC when it names no zone); anything else is an input error."""
    if not isinstance(value, str):
        raise InputError(f"report '{what}' is not a time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"report '{what}' is not an ISO 8601 time: {value!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


__all__ = ["PAYLOAD_TYPE", "PREDICATE_TYPE", "VerificationFailed", "Verified", "attest",
           "generate_keys", "load_envelope", "load_public_key", "load_signer", "report_time", "statement_for",
           "verify"]
