"""Supplier assurance end to end: keys, signed evidence, the portfolio, OSCAL, on real stores."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from phigate.history import open_store
from phigate.reporters.oscal import control_token

from .conftest import DATA, ROOT, CliResult, store_location

EXAMPLE = ROOT / "examples" / "supplier-estate.json"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now_when_the_test_starts() -> None:
    """Ages are judged against the clock when a test runs, not when the module was collected: a
    slow run must not make an hour-old report look stale."""
    global NOW  # noqa: PLW0603 - every helper of this module reads the clock of the running test
    NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
OSCAL_SCHEMA = DATA / "oscal" / "oscal_assessment-results_schema-1.0.6.json"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_location(request, tmp_path, "suppliers")


@pytest.fixture
def keys(tmp_path: Path, cli: Callable[..., CliResult]) -> dict[str, Path]:
    folder = tmp_path / "keys"
    folder.mkdir()
    for name in ("acme", "beta"):
        assert cli("keygen", "-o", str(folder / name)).code == 0
    return {"acme": folder / "acme", "beta": folder / "beta"}


@pytest.fixture
def portfolio(tmp_path: Path, keys: dict[str, Path]) -> Path:
    path = tmp_path / "portfolio.yaml"
    path.write_text(
        "suppliers:\n"
        "  - name: acme-sante\n    keys: [keys/acme.pub]\n    frameworks: [hds-2024]\n    max_age: 2d\n"
        "  - name: beta-labs\n    keys: [keys/beta.pub]\n    policies: [PHI-SEG-002, PHI-ENC-001]\n"
        "    max_age: 1d\n", encoding="utf-8")
    return path


def report(tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
           when: dt.datetime, name: str, target: Path = EXAMPLE, *options: str) -> Path:
    """A real JSON report of a scan, timed ``when`` (SOURCE_DATE_EPOCH)."""
    out = tmp_path / f"{name}.json"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(when.timestamp())))
    result = cli("scan", str(target), "--quiet", "--format", f"json={out}", *options)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert result.code in (0, 1, 3), result.err
    return out


def signed(cli: Callable[..., CliResult], path: Path, key: Path) -> Path:
    result = cli("attest", str(path), "--key", f"{key}.key")
    assert result.code == 0, result.err
    return path.with_name(path.stem + ".intoto.json")


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(
        keys: dict[str, Path], cli: Callable[..., CliResult]) -> None:
    private = Path(f"{keys['acme']}.key")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    before = private.read_bytes()
    again = cli("keygen", "-o", str(keys["acme"]))
    assert again.code == 2 and "never overwritten" in again.err
    assert private.read_bytes() == before


def test_an_attestation_verifies_and_any_change_is_refused(
        tmp_path: Path, keys: dict[str, Path], cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=1), "r")
    attestation = signed(cli, path, keys["acme"])
    envelope = json.loads(attestation.read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicate"]["tool"]["name"] == "phigate"
    ok = cli("verify", str(attestation), "--report", str(path), "--key", f"{keys['acme']}.pub")
    assert ok.code == 0 and "verified" in ok.out

    # One byte of the report changed.
    original = path.read_bytes()
    path.write_bytes(original.replace(b'"fail": ', b'"fail":  ', 1))
    changed = cli("verify", str(attestation), "--report", str(path), "--key", f"{keys['acme']}.pub")
    assert changed.code == 1 and "SHA-256" in changed.err
    path.write_bytes(original)

    # The signed payload edited (the signature no longer matches).
    claims = json.loads(base64.b64decode(envelope["payload"]))
    claims["predicate"]["summary"]["fail"] = 0
    forged = dict(envelope, payload=base64.b64encode(json.dumps(claims).encode()).decode())
    forged_path = tmp_path / "forged.json"
    forged_path.write_text(json.dumps(forged))
    assert cli("verify", str(forged_path), "--report", str(path), "--key", f"{keys['acme']}.pub").code == 1

    # Another key.
    other = cli("verify", str(attestation), "--report", str(path), "--key", f"{keys['beta']}.pub")
    assert other.code == 1 and "signature" in other.err

    # Not an envelope at all.
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    assert cli("verify", str(junk), "--report", str(path), "--key", f"{keys['acme']}.pub").code == 2


def _evidence_count(location: str) -> int:
    return len(open_store(location, create=False).evidence())


def test_two_suppliers_over_three_days_show_in_every_format_and_stale_evidence_is_a_breach(
        tmp_path: Path, keys: dict[str, Path], portfolio: Path, store: str,
        cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    for day in (2, 1, 0):
        when = NOW - dt.timedelta(days=day, hours=1)
        acme = report(tmp_path, cli, monkeypatch, when, f"acme-{day}")
        imported = cli("portfolio", "import", str(signed(cli, acme, keys["acme"])), "--report", str(acme),
                       "--supplier", "acme-sante", "--store", store, "--config", str(portfolio))
        assert imported.code == 0, imported.err
        if day == 2:  # beta-labs sent evidence once, two days ago: older than its 1d maximum
            beta = report(tmp_path, cli, monkeypatch, when, "beta-2")
            assert cli("portfolio", "import", str(signed(cli, beta, keys["beta"])), "--report", str(beta),
                       "--supplier", "beta-labs", "--store", store, "--config", str(portfolio)).code == 0
    assert _evidence_count(store) == 4

    shown = cli("portfolio", "--store", store, "--config", str(portfolio), "--format", "json",
                "--fail-on", "critical")
    assert shown.code == 1, shown.err  # the example estate has critical failures, beta is stale
    view = shown.json()
    by_name = {s["name"]: s for s in view["suppliers"]}
    acme, beta = by_name["acme-sante"], by_name["beta-labs"]
    assert 0.9 <= acme["age_hours"] <= 1.2 and not acme["stale"]
    assert 48.9 <= beta["age_hours"] <= 49.2 and beta["stale"]
    assert len(acme["trend"]) == 3 and acme["evidence_count"] == 3
    assert acme["failures"]["critical"] > 0 and acme["gating_failures"] == acme["failures"]["critical"]
    hds = [r for r in acme["requirements"] if r["framework"] == "hds-2024"]
    assert hds and any(r["status"] == "failed" for r in hds)
    assert {r["id"]: r["status"] for r in beta["requirements"]} == {"PHI-SEG-002": "failed",
                                                                     "PHI-ENC-001": "failed"}
    assert set(view["in_breach"]) == {"acme-sante", "beta-labs"}
    assert view["most_failed_controls"]

    text = cli("portfolio", "--store", store, "--config", str(portfolio))
    assert "acme-sante" in text.out and "STALE (max 1d)" in text.out
    html = tmp_path / "portfolio.html"
    assert cli("portfolio", "--store", store, "--config", str(portfolio), "--format", f"html={html}").code == 1
    page = html.read_text()
    assert 'data-supplier="beta-labs"' in page and "stale" in page and "<script" not in page


def test_a_supplier_in_order_exits_zero_and_one_without_evidence_is_flagged(
        tmp_path: Path, keys: dict[str, Path], store: str, cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch, write_snapshot: Callable[..., Path]) -> None:
    (tmp_path / "keys" / "a.pub").write_bytes(Path(f"{keys['acme']}.pub").read_bytes())
    config = tmp_path / "clean.yaml"
    config.write_text("suppliers:\n  - name: clean\n    keys: [keys/a.pub]\n    max_age: 2d\n")
    clean = write_snapshot([{"id": "arn:aws:s3:::public-site", "type": "aws.s3.bucket", "kind": "object_store",
                             "provider": "aws", "tags": {"data_class": "public"}}])
    path = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=3), "clean", clean)
    data = json.loads(path.read_text())
    assert cli("portfolio", "import", str(signed(cli, path, keys["acme"])), "--report", str(path),
               "--supplier", "clean", "--store", store, "--config", str(config)).code == 0
    verdict = cli("portfolio", "--store", store, "--config", str(config), "--format", "json")
    expected = 3 if not data["summary"]["evidence_complete"] else (1 if data["summary"]["fail"] else 0)
    assert verdict.code == expected, verdict.out
    config.write_text(config.read_text() + "  - name: silent\n    keys: [keys/a.pub]\n")
    flagged = cli("portfolio", "--store", store, "--config", str(config), "--format", "json")
    silent = next(s for s in flagged.json()["suppliers"] if s["name"] == "silent")
    assert silent["stale"] and silent["last_evidence"] is None and flagged.code in (1, 3)


def test_tampered_wrongly_signed_replayed_and_back_dated_evidence_is_refused_and_nothing_recorded(
        tmp_path: Path, keys: dict[str, Path], portfolio: Path, store: str,
        cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    def imported(attestation: Path, path: Path, supplier: str = "acme-sante") -> CliResult:
        return cli("portfolio", "import", str(attestation), "--report", str(path), "--supplier", supplier,
                   "--store", store, "--config", str(portfolio))

    today = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=2), "today")
    attestation = signed(cli, today, keys["acme"])
    assert imported(attestation, today).code == 0
    count = _evidence_count(store)

    edited = tmp_path / "edited.json"  # one byte of the report edited after signing
    edited.write_bytes(today.read_bytes().replace(b"critical", b"Critical", 1))
    refused = imported(attestation, edited)
    assert refused.code == 1 and "nothing recorded" in refused.err

    later = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=1), "later")
    resigned = signed(cli, later, keys["beta"])  # signed with another supplier's key
    refused = imported(resigned, later)
    assert refused.code == 1 and "signature" in refused.err

    refused = imported(attestation, today)  # the same evidence again
    assert refused.code == 1 and "replay" in refused.err

    old = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(days=3), "old")  # back-dated
    refused = imported(signed(cli, old, keys["acme"]), old)
    assert refused.code == 1 and "older or back-dated" in refused.err

    future = report(tmp_path, cli, monkeypatch, NOW + dt.timedelta(days=1), "future")
    refused = imported(signed(cli, future, keys["acme"]), future)
    assert refused.code == 1 and "future" in refused.err

    unknown = imported(attestation, today, supplier="nobody")
    assert unknown.code == 2 and "no supplier 'nobody'" in unknown.err
    assert _evidence_count(store) == count


def _oscal_validator() -> jsonschema.Draft7Validator:
    """NIST's published Assessment Results schema (OSCAL 1.0.6; public domain, see
    tests/data/oscal/SOURCE.md). Its token pattern uses ``\\p{L}``/``\\p{N}``, which Python's ``re``
    spells ``[^\\W\\d_]`` and ``\\d`` (Unicode-aware)."""
    text = OSCAL_SCHEMA.read_text(encoding="utf-8")
    text = text.replace("\\\\p{L}", "[^\\\\W\\\\d_]").replace("\\\\p{N}", "\\\\d")
    schema = json.loads(text)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_oscal_assessment_results_validate_and_name_every_failed_control(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    out, report_file = tmp_path / "ar.json", tmp_path / "report.json"
    result = cli("scan", str(EXAMPLE), "--quiet", "--format", f"oscal={out}", "--format", f"json={report_file}")
    assert result.code == 1, result.err
    document = json.loads(out.read_text())
    errors = sorted(_oscal_validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    report_doc = json.loads(report_file.read_text())
    failed = {control_token(v["framework"], c["id"]) for v in report_doc["compliance"]
              for c in v["controls"] if c["status"] == "failed"}
    assert failed
    [ar_result] = document["assessment-results"]["results"]
    not_satisfied = {f["target"]["target-id"] for f in ar_result["findings"]
                     if f["target"]["status"]["state"] == "not-satisfied"}
    assert failed <= not_satisfied
    assert all(re.match(r"^[A-Za-z_][A-Za-z0-9._-]*$", t) for t in not_satisfied)
    again = tmp_path / "again.json"
    cli("scan", str(EXAMPLE), "--quiet", "--format", f"oscal={again}")
    assert len(document["assessment-results"]["uuid"]) == 36


def test_a_suppliers_latest_evidence_as_oscal(tmp_path: Path, keys: dict[str, Path], portfolio: Path,
                                              cli: Callable[..., CliResult],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = str(tmp_path / "history.db")
    path = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=1), "r")
    assert cli("portfolio", "import", str(signed(cli, path, keys["acme"])), "--report", str(path),
               "--supplier", "acme-sante", "--store", store, "--config", str(portfolio)).code == 0
    out = tmp_path / "acme.oscal.json"
    cli("portfolio", "--store", store, "--config", str(portfolio), "--supplier", "acme-sante",
        "--format", f"oscal={out}")
    assert not list(_oscal_validator().iter_errors(json.loads(out.read_text())))


def test_a_nightly_audit_signs_its_report_and_lands_in_the_portfolio(
        tmp_path: Path, keys: dict[str, Path], portfolio: Path, cli: Callable[..., CliResult]) -> None:
    store = str(tmp_path / "history.db")
    out = tmp_path / "nightly.json"
    audited = cli("audit", str(EXAMPLE), "--store", store, "--quiet", "--format", f"json={out}",
                  "--attest", f"{keys['acme']}.key", "--supplier", "acme-sante")
    assert audited.code == 1, audited.err
    attestation = tmp_path / "nightly.intoto.json"
    assert cli("verify", str(attestation), "--report", str(out), "--key", f"{keys['acme']}.pub").code == 0
    view = cli("portfolio", "--store", store, "--config", str(portfolio), "--format", "json").json()
    acme = next(s for s in view["suppliers"] if s["name"] == "acme-sante")
    assert acme["last_evidence"]["source"] == "audit" and not acme["stale"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is installed by .ci/run")
def test_the_portfolio_page_renders_in_headless_chromium(
        tmp_path: Path, keys: dict[str, Path], portfolio: Path, cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = str(tmp_path / "history.db")
    path = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=1), "r")
    cli("portfolio", "import", str(signed(cli, path, keys["acme"])), "--report", str(path),
        "--supplier", "acme-sante", "--store", store, "--config", str(portfolio))
    page = tmp_path / "portfolio.html"
    cli("portfolio", "--store", store, "--config", str(portfolio), "--format", f"html={page}")
    shot = tmp_path / "portfolio.png"
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert 'id="verdict"' in dom and "beta-labs" in dom and "acme-sante" in dom
    assert "2 supplier(s) in breach" in dom
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000


def test_a_signed_statement_or_report_with_a_duplicate_key_is_refused(
        tmp_path: Path, keys: dict[str, Path], cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two values for one key read one way here and another in a reader that keeps the first:
    even correctly signed, such a Statement or report is not evidence."""
    from securesystemslib.dsse import Envelope

    from phigate.attest import PAYLOAD_TYPE, load_signer, statement_for

    path = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=1), "r")
    data = path.read_bytes()
    twice = path.with_name("twice.json")  # "fail" twice in the summary: 0 first, the real count last
    twice.write_bytes(data.replace(b'"summary": {', b'"summary": {"fail": 0, ', 1))
    assert twice.read_bytes() != data
    refused = cli("attest", str(twice), "--key", f"{keys['acme']}.key")
    assert refused.code == 2 and "duplicate key 'fail'" in refused.err

    statement = statement_for(data, str(path))
    twice_statement = dict(statement, subject=[{"name": twice.name, "digest": {
        "sha256": hashlib.sha256(twice.read_bytes()).hexdigest()}}])
    for name, payload, target in [
        ("statement", json.dumps(statement).replace(
            '"predicate":', '"predicate": {"summary": {"fail": 0}}, "predicate":', 1), path),
        ("report", json.dumps(twice_statement), twice),
    ]:
        envelope = Envelope(payload.encode(), PAYLOAD_TYPE, {})
        envelope.sign(load_signer(Path(f"{keys['acme']}.key")))
        attestation = tmp_path / f"{name}.intoto.json"
        attestation.write_text(json.dumps(envelope.to_dict()))
        refused = cli("verify", str(attestation), "--report", str(target), "--key", f"{keys['acme']}.pub")
        assert refused.code == 2 and "duplicate key" in refused.err, (name, refused.err)


def test_a_signed_document_that_is_not_a_valid_report_is_refused_as_input(
        tmp_path: Path, keys: dict[str, Path], cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a report's shape is signed, verified, shown and written as OSCAL: a document with its
    keys but not its shape (its tool a word, a finding a number) is bad input, not a crash."""
    from securesystemslib.dsse import Envelope

    from phigate.attest import PAYLOAD_TYPE, load_signer, statement_for

    path = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=1), "r")
    document = json.loads(path.read_text())
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(dict(document, tool="phigate", findings=[1])))
    refused = cli("attest", str(odd), "--key", f"{keys['acme']}.key")
    assert refused.code == 2 and "not a valid phigate JSON report (at /" in refused.err, refused.err
    assert not odd.with_name("odd.intoto.json").exists()
    undated = tmp_path / "undated.json"
    undated.write_text(json.dumps(dict(document, started="yesterday")))
    refused = cli("attest", str(undated), "--key", f"{keys['acme']}.key")
    assert refused.code == 2 and "ISO 8601" in refused.err, refused.err

    statement = statement_for(path.read_bytes(), str(path))
    statement["subject"] = [{"name": odd.name, "digest": {"sha256": hashlib.sha256(odd.read_bytes()).hexdigest()}}]
    statement["predicate"]["tool"] = "phigate"
    envelope = Envelope(json.dumps(statement).encode(), PAYLOAD_TYPE, {})
    envelope.sign(load_signer(Path(f"{keys['acme']}.key")))
    attestation = tmp_path / "odd.intoto.json"
    attestation.write_text(json.dumps(envelope.to_dict()))
    refused = cli("verify", str(attestation), "--report", str(odd), "--key", f"{keys['acme']}.pub")
    assert refused.code == 2 and "not a valid phigate JSON report" in refused.err, refused.err


def test_an_audit_with_a_key_that_cannot_sign_stops_before_it_runs(
        tmp_path: Path, keys: dict[str, Path], cli: Callable[..., CliResult]) -> None:
    store = tmp_path / "history.db"
    out = tmp_path / "nightly.json"
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("-----BEGIN PUBLIC KEY-----\n")
    for key in (tmp_path / "missing.key", not_a_key, Path(f"{keys['acme']}.pub")):
        audited = cli("audit", str(EXAMPLE), "--store", str(store), "--quiet", "--format", f"json={out}",
                      "--attest", str(key))
        assert audited.code == 2, (key, audited.err)
        assert not out.exists() and not store.exists()


def test_a_required_policy_failed_below_the_gate_is_a_breach_and_one_never_assessed_is_incomplete(
        tmp_path: Path, keys: dict[str, Path], cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract names what must hold: a required policy failing at a severity under the gate
    still breaches it, and one the evidence never judged is not in order (exit 3, not 0)."""
    store = str(tmp_path / "history.db")
    (tmp_path / "keys" / "a.pub").write_bytes(Path(f"{keys['acme']}.pub").read_bytes())
    path = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=3), "class", EXAMPLE,
                  "--only", "PHI-CLASS-001")  # a medium policy, failed by two stores
    summary = json.loads(path.read_text())["summary"]
    assert summary["evidence_complete"] and summary["fail"] > 0
    assert cli("portfolio", "import", str(signed(cli, path, keys["acme"])), "--report", str(path),
               "--supplier", "s", "--store", store, "--config", str(_one_supplier(tmp_path, "[]"))).code == 0

    failing = cli("portfolio", "--store", store, "--config", str(_one_supplier(tmp_path, "[PHI-CLASS-001]")),
                  "--format", "json", "--fail-on", "critical")
    status = failing.json()["suppliers"][0]
    assert status["gating_failures"] == 0 and status["requirements"][0]["status"] == "failed"
    assert status["in_breach"] and failing.code == 1

    unjudged = cli("portfolio", "--store", store, "--config", str(_one_supplier(tmp_path, "[PHI-NOT-RUN]")),
                   "--fail-on", "critical")
    assert unjudged.code == 3, unjudged.out
    assert "not assessed policy PHI-NOT-RUN" in unjudged.out


def _one_supplier(folder: Path, policies: str) -> Path:
    config = folder / "one.yaml"
    config.write_text(f"suppliers:\n  - name: s\n    keys: [keys/a.pub]\n    policies: {policies}\n"
                      "    max_age: 2d\n")
    return config


def test_verifying_leaves_the_envelope_as_it_came_and_a_malformed_signature_is_bad_input(
        tmp_path: Path, keys: dict[str, Path], cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The envelope is recorded with the evidence, to be verified again: verifying it must not
    take its signatures apart."""
    from phigate.attest import load_envelope, load_public_key, verify

    path = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=1), "r")
    attestation = signed(cli, path, keys["acme"])
    envelope = load_envelope(attestation)
    as_it_came = json.loads(json.dumps(envelope))
    key = [load_public_key(Path(f"{keys['acme']}.pub"))]
    verify(envelope, path.read_bytes(), key, str(attestation))
    assert envelope == as_it_came
    verify(envelope, path.read_bytes(), key, str(attestation))  # and it verifies again

    for signature in ({"keyid": as_it_came["signatures"][0]["keyid"], "sig": 5}, "sig", {"sig": "AAAA"}):
        odd = tmp_path / "odd.intoto.json"
        odd.write_text(json.dumps(dict(as_it_came, signatures=[signature])))
        refused = cli("verify", str(odd), "--report", str(path), "--key", f"{keys['acme']}.pub")
        assert refused.code == 2 and "not a DSSE envelope" in refused.err, (signature, refused.err)


def test_a_predicate_that_only_equals_the_report_as_python_values_is_refused(
        tmp_path: Path, keys: dict[str, Path], cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``1 == True`` and ``0 == False`` in Python; a signed claim of ``"evidence_complete": 1``
    is not what the report says, and verification compares the JSON."""
    from securesystemslib.dsse import Envelope

    from phigate.attest import PAYLOAD_TYPE, load_signer, statement_for

    path = report(tmp_path, cli, monkeypatch, NOW - dt.timedelta(hours=1), "r")
    statement = statement_for(path.read_bytes(), str(path))
    complete = statement["predicate"]["evidence_complete"]
    assert isinstance(complete, bool)
    statement["predicate"]["evidence_complete"] = int(complete)
    envelope = Envelope(json.dumps(statement).encode(), PAYLOAD_TYPE, {})
    envelope.sign(load_signer(Path(f"{keys['acme']}.key")))
    attestation = tmp_path / "loose.intoto.json"
    attestation.write_text(json.dumps(envelope.to_dict()))
    refused = cli("verify", str(attestation), "--report", str(path), "--key", f"{keys['acme']}.pub")
    assert refused.code == 1 and "differs from the report (evidence_complete)" in refused.err, refused.err
