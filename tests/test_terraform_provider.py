"""The terraform provider on plans: a hand-written clinic plan with every trap in it, small variants
of it, and generated plans whose failing addresses per rule must equal the generator's truth."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phigate.api import CollectionError, InputError, Resource, Unknown
from phigate.testing import run_context
from phigate_providers.snapshot import SnapshotProvider
from phigate_providers.terraform import TerraformProvider
from phigate_providers.terraform.plan import split_address

from .conftest import DATA, ROOT, CliResult

CLINIC = DATA / "terraform" / "clinic"
PLAN = CLINIC / "plan.json"
KEY_POLICY = DATA / "terraform" / "policies"
#: The shared generator beside the repository (``../shared/bench``), or beside the folder holding it.
GENERATOR = next((p / "shared" / "bench" / "gen_tfplan.py" for p in ROOT.parents
                  if (p / "shared" / "bench" / "gen_tfplan.py").exists()),
                 ROOT.parent / "shared" / "bench" / "gen_tfplan.py")
PACK = ROOT / "policies" / "health"

Cli = Callable[..., CliResult]


def collect(path: Path, **options: Any) -> tuple[dict[str, Resource], list[CollectionError], TerraformProvider]:
    provider = TerraformProvider(path, **options)
    resources: dict[str, Resource] = {}
    errors: list[CollectionError] = []
    for record in provider.collect():
        if isinstance(record, Resource):
            assert record.name not in resources, f"two resources named {record.name}"
            resources[record.name or record.id] = record
        else:
            errors.append(record)
    return resources, errors, provider


@pytest.fixture(scope="module")
def clinic() -> dict[str, Resource]:
    return collect(PLAN)[0]


def variant(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """The clinic plan with one change, written next to the test."""
    plan = json.loads(PLAN.read_text())
    change(plan)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def planned(plan: dict[str, Any], address: str) -> dict[str, Any]:
    """The planned-values entry of ``address`` (root or module)."""
    root = plan["planned_values"]["root_module"]
    every = root["resources"] + [r for m in root.get("child_modules", []) for r in m["resources"]]
    return next(r for r in every if r["address"] == address)


def change_of(plan: dict[str, Any], address: str) -> dict[str, Any]:
    return next(c for c in plan["resource_changes"] if c["address"] == address)["change"]


def outcomes(result: CliResult) -> set[tuple[str, str, str]]:
    return {(f["status"], f["policy_id"], f["resource"]["name"]) for f in result.json()["findings"]}


# --- recognising a plan -------------------------------------------------------------------------

def test_a_plan_is_claimed_by_content_and_only_by_this_provider(tmp_path: Path,
                                                                write_snapshot: Callable[..., Path]) -> None:
    assert TerraformProvider.claims(str(PLAN))
    assert not SnapshotProvider.claims(str(PLAN))
    snapshot = write_snapshot([{"id": "x", "type": "t", "kind": "object_store", "provider": "test",
                                "raw": {"format_version": "1.2", "planned_values": {}}}])
    assert SnapshotProvider.claims(str(snapshot))
    assert not TerraformProvider.claims(str(snapshot))
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"format_version": "1.0", "values": {"root_module": {}}}))
    assert TerraformProvider.claims(str(state))  # to be refused with what to run instead
    with pytest.raises(InputError, match="this is Terraform state"):
        list(TerraformProvider(state).collect())
    late = tmp_path / "late.json"  # the plan keys after 100 KB of variables are still found
    late.write_text(json.dumps({"format_version": "1.2", "variables": {"blob": {"value": "x" * 100_000}},
                                "planned_values": {"root_module": {}}}))
    assert TerraformProvider.claims(str(late))
    assert not TerraformProvider.claims(str(tmp_path))


def test_a_broken_plan_is_refused_with_its_position(tmp_path: Path, cli: Cli) -> None:
    broken = tmp_path / "plan.json"
    broken.write_text('{"format_version": "1.2", "planned_values": {"root_module": {,}}}')
    result = cli("scan", str(broken))
    assert result.code == 2
    assert f"{broken}:1:" in result.err and "invalid JSON" in result.err
    with pytest.raises(InputError, match="not a Terraform plan"):
        bogus = tmp_path / "list.json"
        bogus.write_text(json.dumps([{"format_version": "1.2"}]))
        list(TerraformProvider(bogus).collect())


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(InputError, match="unknown setting"):
        TerraformProvider.configure([str(PLAN)], run_context(settings={"changed_onyl": True}))
    with pytest.raises(InputError, match="true or false"):
        TerraformProvider.configure([str(PLAN)], run_context(settings={"changed_only": "yes"}))


# --- the mapping --------------------------------------------------------------------------------

def test_ids_are_real_world_ids_when_known_and_names_are_addresses(clinic: dict[str, Resource]) -> None:
    assert clinic["aws_s3_bucket.notes"].id == "arn:aws:s3:::exemplum-notes"  # new, name known
    assert clinic["google_storage_bucket.imaging"].id == "gs://exemplum-imaging"
    assert clinic["aws_kms_key.shared"].id.startswith("arn:aws:kms:eu-west-3:111122223333:key/")
    assert clinic["aws_kms_key.clinical"].id == "aws_kms_key.clinical"  # ARN known only after apply
    assert clinic["aws_db_instance.patients"].id == "arn:aws:rds:eu-west-3:111122223333:db:patients"
    notes = clinic["aws_s3_bucket.notes"]
    assert (notes.type, notes.kind, notes.provider, notes.region) == ("aws.s3.bucket", "object_store", "aws",
                                                                      "eu-west-3")
    assert notes.raw["address"] == "aws_s3_bucket.notes"
    assert {j["address"] for j in notes.raw["joined"]} == {
        "aws_s3_bucket_server_side_encryption_configuration.notes", "aws_s3_bucket_public_access_block.notes",
        "aws_s3_bucket_versioning.notes", "aws_s3_bucket_logging.notes", "aws_s3_bucket_policy.notes"}


def test_split_settings_join_their_bucket_by_reference(clinic: dict[str, Resource]) -> None:
    notes = clinic["aws_s3_bucket.notes"].attributes
    # The key's ARN is known only after apply: the reference in the configuration names it.
    assert notes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": "aws_kms_key.clinical",
                                   "key_manager": "customer"}
    assert notes["public_access"] == {"blocked": True, "grants": []}
    assert notes["versioning"] is True
    assert notes["secure_transport_required"] is True
    assert notes["logging"] == {"access_logs": True, "data_events": True}  # the trail logs every bucket
    assert notes["acls_disabled"] is True  # a new bucket: ACLs disabled by S3's default


def test_split_settings_join_their_bucket_by_literal_name_and_keys_by_alias(clinic: dict[str, Resource]) -> None:
    billing = clinic["aws_s3_bucket.billing"]
    assert "aws_s3_bucket_server_side_encryption_configuration.billing" in {
        j["address"] for j in billing.raw["joined"]}
    shared = clinic["aws_kms_key.shared"]
    assert billing.attributes["encryption"]["key"] == shared.id  # "alias/shared" → the planned key
    assert billing.attributes["encryption"]["key_manager"] == "customer"
    assert shared.attributes["aliases"] == ["alias/shared"]
    # No public access block in the plan: not guarded, whatever the bucket's settings today.
    assert billing.attributes["public_access"]["blocked"] is False


def test_resources_in_child_modules_use_their_own_module_keys(clinic: dict[str, Resource]) -> None:
    scans = clinic["module.scans.aws_s3_bucket.this"]
    assert scans.id == "arn:aws:s3:::exemplum-scans"
    assert scans.attributes["encryption"]["key"] == "module.scans.aws_kms_key.this"
    assert clinic["module.scans.aws_kms_key.this"].attributes["rotation_enabled"] is True
    assert scans.attributes["public_access"]["blocked"] is True


def test_aws_managed_keys_are_provider_managed_whatever_arn_the_plan_shows(clinic: dict[str, Resource]) -> None:
    patients = clinic["aws_db_instance.patients"].attributes["encryption"]
    assert patients == {"at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"}
    archive = clinic["aws_s3_bucket.archive"].attributes["encryption"]
    assert archive["key_manager"] == "provider"  # alias/aws/s3 written in the configuration


def test_values_known_only_after_apply_are_unknown_never_a_pass(clinic: dict[str, Resource], cli: Cli) -> None:
    from phigate.api import Unknown
    scratch = clinic["aws_ebs_volume.scratch"].attributes["encryption"]
    assert isinstance(scratch["at_rest"], Unknown) and "after apply" in scratch["at_rest"].reason
    result = cli("scan", str(PLAN), "--only", "PHI-ENC-001", "--format", "json")
    assert result.code == 3
    assert ("error", "PHI-ENC-001", "aws_ebs_volume.scratch") in outcomes(result)


def test_declared_default_encryption_decides_an_unset_volume(tmp_path: Path) -> None:
    def add(plan: dict[str, Any]) -> None:
        entry = {"address": "aws_ebs_encryption_by_default.this", "mode": "managed",
                 "type": "aws_ebs_encryption_by_default", "name": "this", "values": {"enabled": True}}
        plan["planned_values"]["root_module"]["resources"].append(entry)
    resources, _, _ = collect(variant(tmp_path, add))
    assert resources["aws_ebs_volume.scratch"].attributes["encryption"]["at_rest"] is True
    settings = resources["aws_ebs_encryption_by_default.this"]
    assert (settings.kind, settings.attributes) == ("region_settings", {"ebs_encryption_by_default": True})


def test_deleted_resources_are_out_of_scope(clinic: dict[str, Resource], cli: Cli) -> None:
    assert "aws_ebs_volume.old" not in clinic
    assert "aws_ebs_volume.old" not in cli("scan", str(PLAN), "--format", "json").out


def test_types_not_mapped_are_listed_not_errors() -> None:
    resources, errors, provider = collect(PLAN)
    assert errors == []
    assert not any(r.raw.get("terraform_type") in ("aws_instance", "aws_lambda_function")
                   for r in resources.values())
    notices = provider.notices()
    assert len(notices) == 1
    assert "aws_instance (1)" in notices[0] and "aws_lambda_function (1)" in notices[0]


def test_iam_roles_get_effective_read_access_and_trust(clinic: dict[str, Resource]) -> None:
    etl = clinic["aws_iam_role.etl"].attributes
    # An inline grant on two buckets, plus full admin attached: every store of the plan.
    assert set(etl["can_read"]) == {
        "arn:aws:s3:::exemplum-notes", "arn:aws:s3:::exemplum-billing", "arn:aws:s3:::exemplum-archive",
        "arn:aws:s3:::exemplum-scans", "aws_dynamodb_table.contacts"}
    assert "arn:aws:s3:::exemplum-notes" not in etl["can_read_via_wildcard"]  # named by the inline grant
    assert (etl["third_party"], etl["trusted_accounts"], etl["external_id_required"]) == (
        True, ["999988887777"], False)
    admin = clinic["aws_iam_policy.admin"].attributes
    assert (admin["full_admin"], admin["attached_to"]) == (True, ["aws_iam_role.etl"])
    inline = next(r for r in clinic.values() if r.type == "aws.iam.inline_policy")
    assert inline.id == "aws_iam_role.etl#inline/read-stores"


def test_attachments_by_literal_name_and_aws_managed_policies(tmp_path: Path) -> None:
    def literal(plan: dict[str, Any]) -> None:
        address = "aws_iam_role_policy_attachment.etl_admin"
        planned(plan, address)["values"] = {"role": "etl",
                                            "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}
        change_of(plan, address)["after_unknown"] = {"id": True}
        for block in plan["configuration"]["root_module"]["resources"]:
            if block["address"] == address:
                block["expressions"] = {"role": {"constant_value": "etl"}, "policy_arn": {
                    "constant_value": "arn:aws:iam::aws:policy/AdministratorAccess"}}
    resources, _, _ = collect(variant(tmp_path, literal))
    managed = next(r for r in resources.values() if r.id == "arn:aws:iam::aws:policy/AdministratorAccess")
    assert (managed.attributes["full_admin"], managed.attributes["attached_to"]) == (True, ["aws_iam_role.etl"])
    assert resources["aws_iam_policy.admin"].attributes["attached_to"] == []
    assert "aws_dynamodb_table.contacts" in resources["aws_iam_role.etl"].attributes["can_read"]


def test_a_policy_the_plan_does_not_show_makes_access_unknown(tmp_path: Path) -> None:
    from phigate.api import Unknown

    def attach_managed(plan: dict[str, Any]) -> None:
        planned(plan, "aws_iam_role.etl")["values"]["managed_policy_arns"] = [
            "arn:aws:iam::aws:policy/ReadOnlyAccess"]
    resources, _, _ = collect(variant(tmp_path, attach_managed))
    can_read = resources["aws_iam_role.etl"].attributes["can_read"]
    assert isinstance(can_read, Unknown) and "ReadOnlyAccess is not in the plan" in can_read.reason


def test_gcs_buckets_and_their_iam_resources(clinic: dict[str, Resource]) -> None:
    imaging = clinic["google_storage_bucket.imaging"]
    assert imaging.provider == "gcp" and imaging.region == "europe-west9"
    # public_access_prevention left unset is "inherited" once applied: not enforced.
    assert imaging.attributes["public_access"] == {"blocked": False, "grants": ["allUsers"]}
    assert imaging.attributes["encryption"]["key_manager"] == "provider"
    policy = next(r for r in clinic.values() if r.id == "gs://exemplum-imaging/iam-policy")
    assert policy.attributes["bindings"] == [{"role": "roles/storage.objectViewer", "members": ["allUsers"],
                                              "conditional": False}]
    everyone = next(r for r in clinic.values() if r.id == "allUsers")
    assert everyone.attributes["can_read"] == ["gs://exemplum-imaging"]


def test_unknown_tags_are_an_error_for_that_resource_not_a_guessed_class(tmp_path: Path) -> None:
    def unknown_tags(plan: dict[str, Any]) -> None:
        for name in ("tags", "tags_all"):
            planned(plan, "aws_db_instance.ledger")["values"].pop(name)
            change_of(plan, "aws_db_instance.ledger")["after_unknown"][name] = True
    resources, errors, _ = collect(variant(tmp_path, unknown_tags))
    assert "aws_db_instance.ledger" not in resources
    assert [e.resource_id for e in errors] == ["aws_db_instance.ledger"]
    assert "after apply" in errors[0].message


# --- the whole pack on the clinic plan -----------------------------------------------------------

CLINIC_FINDINGS = {
    ("fail", "PHI-ENC-001", "aws_db_instance.ledger"),
    ("error", "PHI-ENC-001", "aws_ebs_volume.scratch"),
    ("fail", "PHI-ENC-002", "aws_db_instance.patients"),
    ("fail", "PHI-ENC-002", "aws_s3_bucket.archive"),
    ("fail", "PHI-ENC-002", "aws_ebs_volume.scratch"),
    ("fail", "PHI-ENC-002", "google_storage_bucket.imaging"),
    ("fail", "PHI-ENC-003", "aws_kms_key.shared"),
    ("fail", "PHI-IAM-001", "aws_iam_policy.admin"),
    ("fail", "PHI-IAM-002", "aws_s3_bucket.archive"),
    ("fail", "PHI-IAM-002", "aws_s3_bucket.billing"),
    ("fail", "PHI-IAM-002", "google_storage_bucket.imaging"),
    ("error", "PHI-IAM-003", "aws_s3_bucket.archive"),  # existing buckets: ownership not in the plan
    ("error", "PHI-IAM-003", "aws_s3_bucket.billing"),
    ("fail", "PHI-IAM-003", "google_storage_bucket.imaging"),
    ("fail", "PHI-IAM-004", "aws_iam_role.etl"),
    ("fail", "PHI-IAM-005", "aws_iam_role.etl"),
    ("fail", "PHI-INT-001", "aws_s3_bucket.archive"),
    ("fail", "PHI-INT-001", "module.scans.aws_s3_bucket.this"),
    ("fail", "PHI-INT-001", "google_storage_bucket.imaging"),
    ("fail", "PHI-LOG-001", "google_storage_bucket.imaging"),
    ("fail", "PHI-SEG-001", "aws_s3_bucket.notes"),  # its key also encrypts an administrative table
    ("fail", "PHI-SEG-002", "aws_iam_role.etl"),
    ("fail", "PHI-TLS-001", "aws_s3_bucket.archive"),
    ("fail", "PHI-TLS-001", "module.scans.aws_s3_bucket.this"),
    ("fail", "SEG-KEY-001", "aws_kms_key.clinical"),
}


#: The pack's policies when the clinic's findings were written down (later ones judge it apart).
CLINIC_POLICIES = ("PHI-CLASS-001", "PHI-ENC-00[1-4]", "PHI-IAM-00[1-7]", "PHI-INT-001", "PHI-LOG-001",
                   "PHI-RES-001", "PHI-SEG-00[1-3]", "PHI-TLS-001", "SEG-KEY-001")


def test_the_pack_on_the_clinic_plan(cli: Cli) -> None:
    selection = [x for pattern in CLINIC_POLICIES for x in ("--only", pattern)]
    result = cli("scan", str(PLAN), "--policies", str(PACK), "--policies", str(KEY_POLICY), *selection,
                 "--format", "json")
    assert len(result.json()["policies"]) == 20
    assert result.code == 3
    assert outcomes(result) == CLINIC_FINDINGS


def test_changed_only_keeps_changed_resources_and_what_their_verdicts_need(cli: Cli) -> None:
    resources, _, provider = collect(PLAN, changed_only=True)
    # archive is updated; billing, patients, shared key and trail are unchanged.
    assert "aws_s3_bucket.archive" in resources
    assert "aws_db_instance.patients" not in resources
    assert "aws_cloudtrail.main" not in {r.raw.get("address") for r in resources.values()}
    # notes (new) uses the new clinical key, shared with the new contacts table: all kept.
    assert {"aws_s3_bucket.notes", "aws_kms_key.clinical", "aws_dynamodb_table.contacts"} <= set(resources)
    # etl (new) reads billing, which is unchanged: billing is kept so the verdict is the same.
    assert "aws_s3_bucket.billing" in resources
    assert "aws_lambda_function.thumbs" not in provider.notices()[0]  # unchanged: not listed
    selection = [x for pattern in CLINIC_POLICIES for x in ("--only", pattern)]
    result = cli("scan", str(PLAN), "--changed-only", "--policies", str(PACK), "--policies", str(KEY_POLICY),
                 *selection, "--format", "json")
    changed = outcomes(result)
    assert ("fail", "PHI-ENC-002", "aws_db_instance.patients") not in changed
    assert ("fail", "PHI-ENC-003", "aws_kms_key.shared") not in changed
    # verdicts on what is kept are those of the whole plan
    assert {o for o in CLINIC_FINDINGS if o[2] in resources} <= changed


def test_planned_secrets_never_reach_snapshots_or_reports(tmp_path: Path, cli: Cli) -> None:
    snapshot = tmp_path / "estate.json"
    assert cli("collect", str(PLAN), "-o", str(snapshot)).code == 0
    report = cli("scan", str(PLAN), "--format", "json", "--show-passed")
    assert "s3cret-in-clear" not in snapshot.read_text()
    assert "s3cret-in-clear" not in report.out
    assert cli("validate", str(PLAN)).code == 0


# --- locations ----------------------------------------------------------------------------------

def test_tf_dir_locates_resource_blocks_in_root_and_local_modules() -> None:
    resources, _, _ = collect(PLAN, tf_dir=CLINIC)
    def where(name: str) -> tuple[str, int]:
        location = resources[name].raw["location"]
        return Path(location["file"]).name, location["line"]
    assert where("aws_s3_bucket.notes") == ("main.tf", 13)
    assert where("aws_db_instance.patients") == ("main.tf", 34)
    assert where("module.scans.aws_s3_bucket.this") == ("main.tf", 9)
    assert "modules/scans" in resources["module.scans.aws_s3_bucket.this"].raw["location"]["file"]
    assert "location" not in resources["aws_s3_bucket.billing"].raw  # not in the .tf files


def test_findings_carry_the_location_to_reports(cli: Cli) -> None:
    result = cli("scan", str(PLAN), "--tf-dir", str(CLINIC), "--only", "PHI-ENC-002", "--format", "json")
    located = {f["resource"]["name"]: f["resource"].get("location") for f in result.json()["findings"]}
    assert located["aws_s3_bucket.archive"]["line"] == 29
    assert located["aws_s3_bucket.archive"]["file"].endswith("clinic/main.tf")
    assert located["google_storage_bucket.imaging"] is None  # not declared in the .tf files


def test_a_tf_file_that_does_not_parse_stops_the_run(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = \n}\n')
    result = cli("scan", str(PLAN), "--tf-dir", str(tmp_path))
    assert result.code == 2
    assert "main.tf:2:" in result.err and "does not parse" in result.err
    assert cli("scan", str(PLAN), "--tf-dir", str(tmp_path / "nowhere")).code == 2


# --- generated plans against their truth ---------------------------------------------------------

STORES = ("aws_s3_bucket", "aws_db_instance", "aws_ebs_volume", "aws_dynamodb_table", "google_storage_bucket")
#: Each generator rule as the failures of phigate policies on the rule's resource types.
RULES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "clinical_cmk": [("PHI-ENC-002", STORES)],
    "rds_storage_encrypted": [("PHI-ENC-001", ("aws_db_instance",))],
    "ebs_encrypted": [("PHI-ENC-001", ("aws_ebs_volume",))],
    "kms_rotation": [("PHI-ENC-003", ("aws_kms_key",))],
    "iam_no_star_star": [("PHI-IAM-001", ("aws_iam_policy",))],
    "gcs_ubla_pap": [("PHI-IAM-002", ("google_storage_bucket",)), ("PHI-IAM-003", ("google_storage_bucket",))],
    "s3_public_access_block": [("PHI-IAM-002", ("aws_s3_bucket",))],
    "segmentation_shared_kms_key": [("SEG-KEY-001", ("aws_kms_key",))],
}


def failing(findings: list[dict[str, Any]], status: str = "fail") -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in findings:
        if finding["status"] == status:
            found.setdefault(finding["policy_id"], set()).add(finding["resource"]["name"])
    return found


@pytest.mark.skipif(not GENERATOR.exists(), reason="the plan generator (../shared/bench) is not beside the repo")
@pytest.mark.parametrize(("seed", "modules"), [(20260507, 0.15), (8675309, 0.6), (4_181_203, 0.3)])
def test_generated_plans_fail_exactly_what_their_truth_says(tmp_path: Path, cli: Cli, seed: int,
                                                            modules: float) -> None:
    plan, truth, stores = tmp_path / "plan.json", tmp_path / "truth.json", tmp_path / "stores.json"
    subprocess.run([sys.executable, str(GENERATOR), "--n", "300", "--seed", str(seed), "--module-fraction",
                    str(modules), "--out", str(plan), "--truth", str(truth), "--stores", str(stores)],
                   check=True, capture_output=True)
    result = cli("scan", str(plan), "--policies", str(PACK), "--policies", str(KEY_POLICY), "--format", "json")
    assert result.code == 3  # new volumes leaving encryption unset cannot be judged before apply
    report = result.json()
    fails, errors = failing(report["findings"]), failing(report["findings"], "error")
    rules = json.loads(truth.read_text())["rules"]
    for rule, parts in RULES.items():
        found = {a for policy, types in parts for a in fails.get(policy, ()) if split_address(a)[1] in types}
        assert found == set(rules[rule]["fail"]), rule
    # what the truth calls indeterminate is an error, never a pass
    assert set(rules["ebs_encrypted"]["indeterminate"]) <= errors.get("PHI-ENC-001", set())
    store_rule = json.loads(stores.read_text())["store_rules"]["clinical_store_key_shared"]
    assert fails.get("PHI-SEG-001", set()) == set(store_rule["fail"])
    assert report["summary"]["collection_errors"] == 0
    deleted = json.loads(truth.read_text())["deleted_not_in_scope"]
    assert deleted and not set(deleted) & {f["resource"]["name"] for f in report["findings"]}


def test_types_not_mapped_reach_the_reports_as_notices(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = cli("scan", str(PLAN), "--format", f"json={out}", "--format", "text")
    assert "note:" in result.out and "aws_lambda_function" in result.out
    notices = json.loads(out.read_text())["notices"]
    assert any("aws_lambda_function (1)" in n for n in notices)


def test_sarif_results_point_at_the_resource_block(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out.sarif"
    cli("scan", str(PLAN), "--tf-dir", str(CLINIC), "--only", "PHI-ENC-002", "--format", f"sarif={out}")
    results = json.loads(out.read_text())["runs"][0]["results"]
    [archive] = [r for r in results if r["locations"][0]["logicalLocations"][0].get("name")
                 == "aws_s3_bucket.archive" or "aws_s3_bucket.archive" in json.dumps(r["locations"])]
    physical = archive["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"].endswith("clinic/main.tf")
    assert physical["region"] == {"startLine": 29}


def test_plans_are_read_without_any_cloud_sdk(tmp_path: Path) -> None:
    """A CI gate installs phigate alone: the plan reader shares the AWS and GCS analysis, never
    their SDKs."""
    out = tmp_path / "r.json"
    code = ("import sys\n"
            "for name in ('boto3', 'botocore', 'google', 'google.cloud', 'google.auth'):\n"
            "    sys.modules[name] = None\n"
            "from phigate.cli import main\n"
            f"sys.exit(main(['scan', {str(PLAN)!r}, '--quiet', '--format', 'json={out}']))\n")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode in (1, 3), result.stderr
    assert json.loads(out.read_text())["findings"]


def test_trail_selectors_that_exclude_buckets_or_are_unknown_record_no_bucket() -> None:
    from phigate_providers.terraform.aws_stores import _read_scopes
    from phigate_providers.terraform.plan import PlannedResource

    def trail(arn_field: dict[str, Any], unknown: Any) -> PlannedResource:
        fields = [{"field": "eventCategory", "equals": ["Data"], "not_equals": None},
                  {"field": "resources.type", "equals": ["AWS::S3::Object"], "starts_with": []},
                  {"field": "resources.ARN", **arn_field}]
        return PlannedResource(address="aws_cloudtrail.t", type="aws_cloudtrail", name="t", module="",
                               index=None, values={"advanced_event_selector": [{"field_selector": fields}]},
                               unknown=unknown, expressions={}, actions=("create",), provider_key=None)

    assert list(_read_scopes(trail({"starts_with": ["arn:aws:s3:::phi/"], "equals": None}, {}))) == ["phi/"]
    assert list(_read_scopes(trail({"not_starts_with": ["arn:aws:s3:::phi/"], "equals": []}, {}))) == []
    unknown = {"advanced_event_selector": [{"field_selector": [{}, {}, {"starts_with": True}]}]}
    assert list(_read_scopes(trail({"starts_with": None}, unknown))) == []


# --- real plans, as teams produce them (tests/data/plans/SOURCES.md) -----------------------------

PLANS = DATA / "plans"
STORES_PLAN = PLANS / "tf1.11-aws5.100-stores.json"
MODULES_PLAN = PLANS / "tf1.11-aws5.100-modules.json"
_MODULE_FAILS = {
    ("PHI-CLASS-001", "module.exports.aws_s3_bucket.logs"), ("PHI-CLASS-001", "module.exports.aws_s3_bucket.this"),
    ("PHI-IAM-002", "module.clinical.aws_s3_bucket.logs"), ("PHI-IAM-002", "module.exports.aws_s3_bucket.logs"),
    ("PHI-INT-001", "module.clinical.aws_s3_bucket.this"), ("PHI-TLS-001", "module.clinical.aws_s3_bucket.this")}
_TERRAGOAT_BUCKETS = ("data", "data_science", "financials", "flowbucket", "logs", "operations")
#: file -> (exit code, failures, errors): each set exact, so a verdict that changes is seen.
REAL: dict[str, tuple[int, set[tuple[str, str]], set[tuple[str, str]]]] = {
    "checkov-terragoat-tf0.12.json": (3, {
        *{("PHI-CLASS-001", f"aws_s3_bucket.{b}") for b in _TERRAGOAT_BUCKETS},
        *{("PHI-IAM-002", f"aws_s3_bucket.{b}") for b in _TERRAGOAT_BUCKETS},
        ("PHI-CLASS-001", "aws_db_instance.default"), ("PHI-CLASS-001", "aws_ebs_snapshot.example_snapshot"),
        ("PHI-CLASS-001", "aws_ebs_volume.web_host_storage"), ("PHI-ENC-001", "aws_db_instance.default"),
        ("PHI-ENC-003", "aws_kms_key.logs_key"), ("PHI-IAM-002", "aws_db_instance.default"),
        # acl = "public-read" and "log-delivery-write": the configuration asks for ACLs
        ("PHI-IAM-003", "aws_s3_bucket.data"), ("PHI-IAM-003", "aws_s3_bucket.logs"),
        # no encrypt_at_rest block, an aws_elasticsearch_domain_policy letting everyone in, no tags
        *{(p, "aws_elasticsearch_domain.monitoring-framework") for p in ("PHI-CLASS-001", "PHI-ENC-001",
                                                                        "PHI-IAM-002")}}, {
        # encryption of a volume leaving `encrypted` unset is the account's default: not in the plan
        ("PHI-ENC-001", "aws_ebs_snapshot.example_snapshot"), ("PHI-ENC-001", "aws_ebs_volume.web_host_storage"),
        # AWS-managed EKS policies, whose documents the plan does not hold
        ("PHI-IAM-001", "aws_iam_role_policy_attachment.policy_attachment-AmazonEKSClusterPolicy"),
        ("PHI-IAM-001", "aws_iam_role_policy_attachment.policy_attachment-AmazonEKSServicePolicy"),
        ("PHI-IAM-004", "aws_iam_role.iam_for_eks"), ("PHI-SEG-002", "aws_iam_role.iam_for_eks")}),
    "checkov-dynamodb-tf0.13.json": (1, {
        ("PHI-CLASS-001", "aws_dynamodb_table.cross-environment-violations"),
        ("PHI-CLASS-001", "aws_s3_bucket.test-bucket1"), ("PHI-IAM-002", "aws_s3_bucket.test-bucket1"),
        ("PHI-IAM-003", "aws_s3_bucket.test-bucket1")}, set()),
    "checkov-tags-tf1.0.json": (1, {("PHI-CLASS-001", "aws_dynamodb_table.basic-dynamodb-table")}, set()),
    "checkov-module-edges-tf1.0.json": (1, {
        ("PHI-CLASS-001", "module.test.module.s3-bucket-1.aws_s3_bucket.this[0]"),
        ("PHI-CLASS-001", "module.test.module.s3-bucket-2.aws_s3_bucket.this[0]")}, set()),
    "checkov-utf16-tf1.0.json": (1, {
        ("PHI-CLASS-001", "aws_s3_bucket.s3-bucket"), ("PHI-IAM-001", "aws_iam_role_policy.fail_1"),
        ("PHI-IAM-002", "aws_s3_bucket.s3-bucket")}, set()),
    "checkov-iam-tf1.1.json": (0, set(), set()),
    "checkov-win-utf16-tf1.2.json": (1, {("PHI-CLASS-001", "aws_s3_bucket.data"),
                                         ("PHI-IAM-002", "aws_s3_bucket.data")}, set()),
    "checkov-nested-modules-tf1.2.json": (1, {
        ("PHI-CLASS-001", "aws_s3_bucket.root_bucket"), ("PHI-CLASS-001", "module.s3_bucket.aws_s3_bucket.this[0]"),
        ("PHI-CLASS-001", "module.s3_module.aws_s3_bucket.module_bucket"),
        ("PHI-CLASS-001", "module.s3_module.module.s3_submodule.aws_s3_bucket.submodule_bucket"),
        ("PHI-IAM-002", "module.s3_bucket.aws_s3_bucket.this[0]"),
        ("PHI-IAM-003", "module.s3_bucket.aws_s3_bucket.this[0]")}, set()),
    "checkov-bucket-policy-tf1.3.json": (1, {("PHI-CLASS-001", "aws_s3_bucket.example"),
                                             ("PHI-IAM-002", "aws_s3_bucket.example")}, set()),
    # trust policies from data sources read at apply: undecided, never a pass
    "checkov-oidc-role-tf1.5.json": (3, set(), {("PHI-IAM-005", f'module.poc.aws_iam_role.{r}["{p}"]')
                                                for r in ("r1", "r6") for p in ("p1", "p2")}),
    # a PostgreSQL instance whose version AWS picks at apply: rds.force_ssl's default is unknown
    "tf1.11-aws5.100-stores.json": (3, {
        ("PHI-CLASS-001", "aws_s3_bucket.logs"),  # no tags, no default_tags on its provider
        ("PHI-ENC-001", "aws_rds_cluster.aurora"), ("PHI-ENC-002", "aws_rds_cluster.aurora"),
        ("PHI-ENC-001", "aws_db_cluster_snapshot.csnap"), ("PHI-ENC-002", "aws_db_cluster_snapshot.csnap"),
        ("PHI-ENC-002", "aws_db_instance.db"), ("PHI-ENC-002", "aws_db_snapshot.snap"),
        ("PHI-ENC-002", "aws_dynamodb_table.t"), ("PHI-ENC-002", "aws_s3_bucket.notes"),
        ("PHI-ENC-003", "aws_kms_key.k"),
        ("PHI-IAM-002", "aws_db_snapshot.snap"), ("PHI-IAM-002", "aws_rds_cluster.aurora"),
        ("PHI-IAM-002", "aws_s3_bucket.legacy"), ("PHI-IAM-002", "aws_s3_bucket.logs"),
        ("PHI-IAM-002", "aws_s3_bucket.notes"), ("PHI-IAM-003", "aws_s3_bucket.legacy"),
        ("PHI-IAM-003", "aws_s3_bucket.logs"), ("PHI-INT-001", "aws_s3_bucket.notes"),
        ("PHI-TLS-001", "aws_s3_bucket.notes"), ("PHI-TLS-001", "aws_rds_cluster.aurora")},
        {("PHI-TLS-001", "aws_db_instance.db")}),
    "tf1.11-aws5.100-modules.json": (1, _MODULE_FAILS, set()),
    # an existing bucket: its ownership controls and any trail recording it are outside the plan
    "tf1.11-aws5.100-update.json": (3, {
        ("PHI-ENC-002", "aws_s3_bucket.records"), ("PHI-ENC-002", "aws_db_instance.db"),
        ("PHI-IAM-002", "aws_s3_bucket.records"), ("PHI-TLS-001", "aws_s3_bucket.records")},
        {("PHI-IAM-003", "aws_s3_bucket.records"), ("PHI-LOG-001", "aws_s3_bucket.records"),
         ("PHI-TLS-001", "aws_db_instance.db")}),
    "tf1.11-aws5.100-modules-powershell-utf16.json": (1, _MODULE_FAILS, set()),
}


def verdicts(result: CliResult, status: str) -> set[tuple[str, str]]:
    return {(f["policy_id"], f["resource"]["name"]) for f in result.json()["findings"] if f["status"] == status}


def test_every_real_plan_is_listed_with_its_source() -> None:
    files = {p.name for p in PLANS.glob("*.json")}
    assert files == set(REAL)
    sources = (PLANS / "SOURCES.md").read_text()
    assert all(f"`{name}`" in sources for name in files)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_plans_are_read_with_their_expected_outcomes(name: str, cli: Cli) -> None:
    code, fails, errors = REAL[name]
    result = cli("scan", str(PLANS / name), "--format", "json")
    assert result.code == code, result.err
    assert verdicts(result, "fail") == fails
    assert verdicts(result, "error") == errors
    assert result.json()["summary"]["collection_errors"] == 0


def test_utf16_and_bom_plans_read_as_their_utf8_original(tmp_path: Path, cli: Cli) -> None:
    text = MODULES_PLAN.read_text(encoding="utf-8")
    expected = outcomes(cli("scan", str(MODULES_PLAN), "--format", "json"))
    for encoding, prefix in (("utf-8", b"\xef\xbb\xbf"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b""),
                             ("utf-16-be", b"")):
        path = tmp_path / f"plan-{encoding}-{len(prefix)}.json"
        path.write_bytes(prefix + text.encode(encoding))
        assert TerraformProvider.claims(str(path)), path.name
        assert outcomes(cli("scan", str(path), "--format", "json")) == expected, path.name
    garbled = tmp_path / "garbled.json"
    garbled.write_bytes(b"\xff\xfe" + text.encode("utf-16-le")[:-1])  # cut inside a character
    result = cli("scan", str(garbled))
    assert result.code == 2 and "not valid UTF-16-LE" in result.err


# --- plan semantics --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stores() -> dict[str, Resource]:
    return collect(STORES_PLAN)[0]


def test_untagged_resources_get_the_default_tags_of_their_provider(tmp_path: Path) -> None:
    found, errors, _ = collect(MODULES_PLAN)
    assert not errors
    # tags_all known only after apply in the plan: tags over the provider's default_tags
    assert found["module.clinical.aws_s3_bucket.this"].tags == {"data_class": "clinical", "team": "billing"}
    assert found["module.exports.aws_s3_bucket.this"].tags == {}  # aws.london sets no default tags
    plan = json.loads(MODULES_PLAN.read_text())
    for change in plan["resource_changes"]:
        if change["address"] == "aws_s3_bucket.plain":
            change["change"]["after_unknown"]["tags_all"] = True
            del change["change"]["after"]["tags_all"]
    for entry in plan["planned_values"]["root_module"]["resources"]:
        entry["values"].pop("tags_all", None)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert collect(path)[0]["aws_s3_bucket.plain"].tags == {"data_class": "administrative", "team": "billing"}
    # default tags the plan cannot resolve (a local value) leave the class unknown: an error, not a guess
    plan["configuration"]["provider_config"]["aws"]["expressions"]["default_tags"] = [
        {"tags": {"references": ["local.tags"]}}]
    path.write_text(json.dumps(plan))
    found, errors, _ = collect(path)
    assert "aws_s3_bucket.plain" not in found
    assert [e.message for e in errors] == ["aws_s3_bucket.plain: tags known only after apply, its data class "
                                           "cannot be told"]
    assert "module.clinical.aws_s3_bucket.this" in found  # its tags_all is in the plan


def test_created_resources_take_the_providers_documented_defaults(stores: dict[str, Resource]) -> None:
    # DynamoDB without an SSE block: an AWS-owned key, always on
    assert stores["aws_dynamodb_table.t"].attributes["encryption"] == {
        "at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
    # a provisioned Aurora cluster without storage_encrypted is not encrypted
    assert stores["aws_rds_cluster.aurora"].attributes["encryption"]["at_rest"] is False
    key = stores["aws_kms_key.k"].attributes
    assert key["symmetric"] is True and key["rotation_enabled"] is False
    notes = stores["aws_s3_bucket.notes"].attributes
    assert notes["encryption"]["algorithm"] == "AES256" and notes["versioning"] is False


def test_defaults_apply_only_to_what_the_configuration_leaves_unset(tmp_path: Path) -> None:
    from phigate_providers.terraform.defaults import CREATE_DEFAULTS, Depends

    cluster = CREATE_DEFAULTS["aws_rds_cluster"]["storage_encrypted"]
    assert isinstance(cluster, Depends)
    assert cluster.resolve({"engine_mode": "serverless"}) is True
    assert cluster.resolve({"engine_mode": "provisioned"}) is False and cluster.resolve({}) is False

    def computed_key(plan: dict[str, Any]) -> None:
        for block in plan["configuration"]["root_module"]["resources"]:
            if block["address"] == "aws_rds_cluster.aurora":
                block["expressions"]["storage_encrypted"] = {"references": ["var.encrypt"]}

    found, _, _ = collect(variant_of(STORES_PLAN, tmp_path, computed_key))
    reason = found["aws_rds_cluster.aurora"].attributes["encryption"]["at_rest"]
    assert isinstance(reason, Unknown) and "known only after apply" in reason.reason


def test_a_default_that_depends_on_a_value_known_only_after_apply_is_not_guessed(tmp_path: Path) -> None:
    def mode_from_a_variable(plan: dict[str, Any]) -> None:  # engine_mode = var.mode, no value
        for block in plan["configuration"]["root_module"]["resources"]:
            if block["address"] == "aws_rds_cluster.aurora":
                block["expressions"]["engine_mode"] = {"references": ["var.mode"]}
        change = change_of(plan, "aws_rds_cluster.aurora")
        change["after"].pop("engine_mode")
        change["after_unknown"]["engine_mode"] = True
        for resource in plan["planned_values"]["root_module"]["resources"]:
            if resource["address"] == "aws_rds_cluster.aurora":
                resource["values"].pop("engine_mode")

    found, _, _ = collect(variant_of(STORES_PLAN, tmp_path, mode_from_a_variable))
    # serverless (encrypted) or provisioned (not): undecided, never a guessed "not encrypted"
    assert isinstance(found["aws_rds_cluster.aurora"].attributes["encryption"]["at_rest"], Unknown)


def variant_of(source: Path, tmp_path: Path, change: Callable[[dict[str, Any]], None],
               name: str = "variant.json") -> Path:
    plan = json.loads(source.read_text(encoding="utf-8"))
    change(plan)
    path = tmp_path / name
    path.write_text(json.dumps(plan))
    return path


def test_a_logging_target_created_in_the_same_plan_means_logging_is_on(stores: dict[str, Resource],
                                                                       tmp_path: Path) -> None:
    assert stores["aws_s3_bucket.notes"].attributes["logging"]["access_logs"] is True

    def target_unknown(plan: dict[str, Any]) -> None:  # a target from a variable without a value
        for block in plan["configuration"]["root_module"]["resources"]:
            if block["address"] == "aws_s3_bucket_logging.notes":
                block["expressions"]["target_bucket"] = {"references": ["var.missing"]}

    found, _, _ = collect(variant_of(STORES_PLAN, tmp_path, target_unknown))
    assert isinstance(found["aws_s3_bucket.notes"].attributes["logging"]["access_logs"], Unknown)


def test_an_update_keeps_the_prior_value_of_what_it_does_not_touch(tmp_path: Path) -> None:
    def updated(plan: dict[str, Any], configured: bool) -> None:
        change = change_of(plan, "aws_s3_bucket.plain")
        change["actions"] = ["update"]
        change["before"] = {**change["after"], "versioning": [{"enabled": True, "mfa_delete": False}]}
        change["after"].pop("versioning", None)
        change["after_unknown"]["versioning"] = True
        planned(plan, "aws_s3_bucket.plain")["values"].pop("versioning", None)
        if configured:
            for block in plan["configuration"]["root_module"]["resources"]:
                if block["address"] == "aws_s3_bucket.plain":
                    block["expressions"]["versioning"] = [{"enabled": {"references": ["var.v"]}}]

    kept, _, _ = collect(variant_of(MODULES_PLAN, tmp_path, lambda p: updated(p, False)))
    assert kept["aws_s3_bucket.plain"].attributes["versioning"] is True
    changed, _, _ = collect(variant_of(MODULES_PLAN, tmp_path, lambda p: updated(p, True), "configured.json"))
    assert isinstance(changed["aws_s3_bucket.plain"].attributes["versioning"], Unknown)


# --- coverage: cluster instances, ACLs, snapshots -------------------------------------------------

def test_a_public_cluster_instance_makes_its_cluster_public(stores: dict[str, Resource], tmp_path: Path) -> None:
    aurora = stores["aws_rds_cluster.aurora"]
    assert aurora.attributes["public_access"] == {"blocked": False, "grants": ["PubliclyAccessible"]}
    assert {j["address"] for j in aurora.raw["joined"]} == {"aws_rds_cluster_instance.aurora[0]",
                                                           "aws_rds_cluster_instance.aurora[1]"}

    def private(plan: dict[str, Any]) -> None:
        change_of(plan, "aws_rds_cluster_instance.aurora[1]")["after"]["publicly_accessible"] = False
        planned(plan, "aws_rds_cluster_instance.aurora[1]")["values"]["publicly_accessible"] = False

    found, _, _ = collect(variant_of(STORES_PLAN, tmp_path, private))
    assert found["aws_rds_cluster.aurora"].attributes["public_access"] == {"blocked": True, "grants": []}


def test_written_acls_are_public_grants_even_where_acls_are_disabled_by_default(
        stores: dict[str, Resource]) -> None:
    legacy, logs = stores["aws_s3_bucket.legacy"].attributes, stores["aws_s3_bucket.logs"].attributes
    assert legacy["public_access"]["grants"] == ["AllUsers:READ"] and legacy["acls_disabled"] is False
    assert logs["public_access"]["grants"] == ["AuthenticatedUsers:READ"] and logs["acls_disabled"] is False
    assert stores["aws_s3_bucket.notes"].attributes["acls_disabled"] is True


def test_snapshots_are_stores_of_their_sources_kind(stores: dict[str, Resource]) -> None:
    snap, csnap = stores["aws_db_snapshot.snap"], stores["aws_db_cluster_snapshot.csnap"]
    assert (snap.kind, snap.type, csnap.type) == ("database", "aws.rds.db_snapshot", "aws.rds.db_cluster_snapshot")
    assert snap.attributes["public_access"] == {"blocked": False, "grants": ["shared_accounts:all"]}
    assert snap.attributes["encryption"]["at_rest"] is True  # as its instance
    assert csnap.attributes["encryption"]["at_rest"] is False  # as its cluster
    assert snap.tags["data_class"] == "clinical" and snap.tags["owner"] == "clinic"
    volume, ebs, copy = (stores[a] for a in ("aws_ebs_volume.v", "aws_ebs_snapshot.s", "aws_ebs_snapshot_copy.c"))
    assert (ebs.kind, ebs.type) == ("volume", "aws.ec2.snapshot")
    assert ebs.attributes["encryption"] == volume.attributes["encryption"]
    assert ebs.attributes["encryption"]["key_manager"] == "customer"
    assert ebs.raw["shared_with"] == ["444455556666"]
    assert copy.tags["data_class"] == "clinical"  # through its source snapshot, from the volume


def test_volumes_and_volume_snapshots_are_judged_for_public_exposure_like_the_live_reader(
        stores: dict[str, Resource], cli: Cli) -> None:
    # A volume cannot be shared; a snapshot's create-volume permissions name accounts, not everyone.
    for address in ("aws_ebs_volume.v", "aws_ebs_snapshot.s", "aws_ebs_snapshot_copy.c"):
        assert stores[address].attributes["public_access"] == {"blocked": True, "grants": []}, address
    report = cli("scan", str(STORES_PLAN), "--only", "PHI-IAM-002", "--show-passed", "--format", "json").json()
    exposure = {f["resource"]["name"]: f["status"] for f in report["findings"]}
    assert exposure["aws_ebs_snapshot.s"] == exposure["aws_ebs_volume.v"] == "pass"
    assert exposure["aws_db_snapshot.snap"] == "fail"


def test_snapshots_are_read_through_iam_as_the_live_reader_reads_them(tmp_path: Path) -> None:
    def snapshot(plan: dict[str, Any]) -> None:
        values = {"db_instance_identifier": "pms", "db_snapshot_identifier": "dump",
                  "shared_accounts": ["111122223333"], "tags": {"data_class": "clinical"}}
        plan["planned_values"]["root_module"]["resources"].append({
            "address": "aws_db_snapshot.dump", "mode": "managed", "type": "aws_db_snapshot", "name": "dump",
            "provider_name": "registry.terraform.io/hashicorp/aws", "values": values})
        plan["resource_changes"].append({
            "address": "aws_db_snapshot.dump", "mode": "managed", "type": "aws_db_snapshot", "name": "dump",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["create"], "before": None, "after": values,
                       "after_unknown": {"db_snapshot_arn": True, "id": True}}})
    resources, _, _ = collect(variant(tmp_path, snapshot))
    etl = resources["aws_iam_role.etl"].attributes  # full admin attached: restores it
    assert etl["can_read_via"]["aws_db_snapshot.dump"] in ("rds:CopyDBSnapshot", "rds:RestoreDBInstanceFromDBSnapshot")
    readers = {name for name, r in resources.items()
               if r.kind == "principal" and "aws_db_snapshot.dump" in r.attributes.get("can_read", ())}
    assert readers == {"aws_iam_role.etl"}


def test_a_snapshot_whose_source_is_not_in_the_plan_is_undecided(tmp_path: Path) -> None:
    def unplanned_source(plan: dict[str, Any]) -> None:
        for block in plan["configuration"]["root_module"]["resources"]:
            if block["address"] == "aws_ebs_snapshot.s":
                block["expressions"]["volume_id"] = {"references": ["var.volume"]}

    found, _, _ = collect(variant_of(STORES_PLAN, tmp_path, unplanned_source))
    assert isinstance(found["aws_ebs_snapshot.s"].attributes["encryption"]["at_rest"], Unknown)


# --- plans that cannot stand for the estate --------------------------------------------------------

@pytest.mark.parametrize(("flag", "value", "words"), [("errored", True, "the plan errored"),
                                                     ("complete", False, "the plan is incomplete")])
def test_errored_or_incomplete_plans_are_incomplete_evidence(tmp_path: Path, cli: Cli, flag: str, value: bool,
                                                            words: str) -> None:
    path = variant_of(MODULES_PLAN, tmp_path, lambda p: p.update({flag: value}))
    result = cli("scan", str(path), "--format", "json")
    assert result.code == 3
    assert any(words in f["message"] for f in result.json()["findings"] if f["status"] == "error")


TARGETED_PLAN = PLANS / "targeted" / "tf1.11-aws5.100-stores-target.json"


def _collection_messages(result: CliResult) -> list[str]:
    return [e["message"] for e in result.json()["collection_errors"]]


@pytest.mark.parametrize("says_incomplete", [True, False])
def test_a_targeted_plan_is_incomplete_evidence_even_when_terraform_does_not_say_so(
        tmp_path: Path, cli: Cli, says_incomplete: bool) -> None:
    # Terraform 1.8 and later write `complete: false` for a -target plan; earlier ones write
    # nothing, and the plan then lists only the targeted bucket of sixteen resources.
    path = TARGETED_PLAN if says_incomplete else variant_of(TARGETED_PLAN, tmp_path,
                                                            lambda p: p.pop("complete"))
    result = cli("scan", str(path), "--format", "json")
    assert result.code == 3, result.err
    messages = _collection_messages(result)
    assert len(messages) == 1
    if says_incomplete:
        assert "the plan is incomplete" in messages[0]
    else:
        assert "14 resource(s) the configuration declares are neither planned nor changed" in messages[0]
        assert "aws_db_instance.db" in messages[0] and "-target" in messages[0]


def test_whole_plans_and_resources_counted_to_nothing_are_not_taken_for_targeted(tmp_path: Path,
                                                                                 cli: Cli) -> None:
    def no_instances(plan: dict[str, Any]) -> None:  # count = 0: declared, rightly never planned
        plan.pop("complete")
        plan["resource_changes"] = [c for c in plan["resource_changes"]
                                    if not c["address"].startswith("aws_rds_cluster_instance.")]
        root = plan["planned_values"]["root_module"]
        root["resources"] = [r for r in root["resources"]
                             if not r["address"].startswith("aws_rds_cluster_instance.")]

    for path in (variant_of(STORES_PLAN, tmp_path, no_instances, "count0.json"),
                 variant_of(MODULES_PLAN, tmp_path, lambda p: p.pop("complete"), "modules.json")):
        result = cli("scan", str(path), "--format", "json")
        assert not any("neither planned nor changed" in m for m in _collection_messages(result)), path


@pytest.mark.parametrize(("change", "pointer"), [
    (lambda p: p["resource_changes"][3].update(address=5), "/resource_changes/3/address"),
    (lambda p: p.update(resource_changes={}), "/resource_changes"),
    (lambda p: p.update(planned_values=[]), "/planned_values"),
    (lambda p: p["planned_values"]["root_module"].update(resources={}), "/planned_values/root_module/resources"),
    (lambda p: p["resource_changes"][2]["change"].update(actions="create"), "/resource_changes/2/change/actions"),
    (lambda p: p["resource_changes"][1]["change"].update(after=[]), "/resource_changes/1/change/after"),
    (lambda p: p["configuration"].update(provider_config=[]), "/configuration/provider_config"),
    (lambda p: p.update(errored="no"), "/errored"),
    (lambda p: p["resource_changes"].append(dict(p["resource_changes"][0])), "/resource_changes/14/address"),
    (lambda p: p["planned_values"]["root_module"]["resources"].append(
        p["planned_values"]["root_module"]["resources"][0]), "/planned_values/root_module/resources/2/address"),
])
def test_malformed_or_duplicated_plans_are_refused_at_their_json_pointer(
        tmp_path: Path, cli: Cli, change: Callable[[dict[str, Any]], None], pointer: str) -> None:
    result = cli("scan", str(variant_of(MODULES_PLAN, tmp_path, change)))
    assert result.code == 2, result.err
    assert f": {pointer}: " in result.err and "Traceback" not in result.err


def test_changes_missing_from_planned_values_are_read_from_the_changes(tmp_path: Path, cli: Cli) -> None:
    expected = outcomes(cli("scan", str(STORES_PLAN), "--format", "json"))
    emptied = variant_of(STORES_PLAN, tmp_path, lambda p: p.update(planned_values={}))
    assert outcomes(cli("scan", str(emptied), "--format", "json")) == expected

    def no_after(plan: dict[str, Any]) -> None:  # a creation whose result the plan does not show
        plan["planned_values"] = {}
        change_of(plan, "aws_s3_bucket.legacy")["after"] = None

    result = cli("scan", str(variant_of(STORES_PLAN, tmp_path, no_after, "cut.json")), "--format", "json")
    assert result.code == 3
    assert any("without planned values" in f["message"] for f in result.json()["findings"])


def test_plans_are_bounded_in_size(tmp_path: Path, cli: Cli) -> None:
    from phigate_providers.terraform.provider import MAX_PLAN_BYTES

    head = b'{"format_version": "1.2", "planned_values": {"root_module": {}}, "pad": "'
    huge = tmp_path / "huge.json"
    with huge.open("wb") as stream:  # sparse: no disk used beyond the head
        stream.write(head)
        stream.truncate(MAX_PLAN_BYTES + 1)
    assert TerraformProvider.claims(str(huge))
    result = cli("scan", str(huge))
    assert result.code == 2 and "-byte limit (PHIGATE_MAX_PLAN_BYTES)" in result.err


def test_unknown_effective_labels_are_labels_over_the_providers_default_labels(tmp_path: Path) -> None:
    def unknown_labels(plan: dict[str, Any]) -> None:
        change = change_of(plan, "google_storage_bucket.imaging")
        change["after"].pop("effective_labels")
        change["after"]["labels"] = None
        change["after_unknown"]["effective_labels"] = True
        values = planned(plan, "google_storage_bucket.imaging")["values"]
        values.pop("effective_labels")
        values["labels"] = None
        plan["configuration"]["provider_config"]["google"]["expressions"]["default_labels"] = {
            "constant_value": {"data_class": "administrative"}}

    found, errors, _ = collect(variant(tmp_path, unknown_labels))
    assert found["google_storage_bucket.imaging"].tags == {"data_class": "administrative"}
    assert not errors


def _nodes(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _nodes(child, (*path, key))
    elif isinstance(node, list):
        for number, child in enumerate(node):
            found += _nodes(child, (*path, number))
    return found


#: Values of every JSON type, put where a plan holds another.
WRONG_TYPES: list[Any] = [None, 7, "x", True, [], {}, [1, "a"], {"references": 5}]


def read_or_refused(original: dict[str, Any], where: tuple[Any, ...], replacement: Any, path: Path) -> None:
    """``original`` with its value at ``where`` replaced is read, or refused with a location
    (InputError, exit 2); never an exception of another kind."""
    plan = json.loads(json.dumps(original))
    parent = plan
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = replacement
    path.write_text(json.dumps(plan))
    try:
        list(TerraformProvider(path).collect())
    except InputError as exc:
        assert exc.location, where


@pytest.mark.parametrize("name", ["tf1.11-aws5.100-stores.json", "checkov-terragoat-tf0.12.json",
                                  "checkov-nested-modules-tf1.2.json"])
def test_any_value_of_a_real_plan_replaced_by_another_type_is_read_or_refused(name: str,
                                                                              tmp_path: Path) -> None:
    """A value of the wrong JSON type anywhere in a plan: refused with a location (InputError,
    exit 2) or read; never an exception of another kind."""
    import random

    original = json.loads((PLANS / name).read_text(encoding="utf-8-sig"))
    paths = _nodes(original)[1:]
    chance = random.Random(20261207)
    for _ in range(120):
        where = chance.choice(paths)
        read_or_refused(original, where, chance.choice(WRONG_TYPES), tmp_path / "mutated.json")


def test_a_snapshot_shared_with_an_account_known_only_after_apply_is_undecided(tmp_path: Path) -> None:
    def unknown_account(plan: dict[str, Any]) -> None:
        change = change_of(plan, "aws_db_snapshot.snap")
        change["after"]["shared_accounts"] = ["111122223333", None]
        change["after_unknown"]["shared_accounts"] = [False, True]
        planned(plan, "aws_db_snapshot.snap")["values"]["shared_accounts"] = ["111122223333"]

    found, _, _ = collect(variant_of(STORES_PLAN, tmp_path, unknown_account))
    exposure = found["aws_db_snapshot.snap"].attributes["public_access"]
    assert isinstance(exposure["blocked"], Unknown) and isinstance(exposure["grants"], Unknown)


def test_cluster_snapshot_copies_are_encrypted_with_the_key_they_name(tmp_path: Path) -> None:
    def copy_of_cluster_snapshot(plan: dict[str, Any]) -> None:
        address = "aws_rds_cluster_snapshot_copy.dr"
        plan["resource_changes"].append({
            "address": address, "mode": "managed", "type": "aws_rds_cluster_snapshot_copy", "name": "dr",
            "change": {"actions": ["create"], "before": None,
                       "after": {"source_db_cluster_snapshot_identifier": None, "kms_key_id": None,
                                 "target_db_cluster_snapshot_identifier": "dr", "tags": None,
                                 "shared_accounts": None},
                       "after_unknown": {"source_db_cluster_snapshot_identifier": True, "kms_key_id": True,
                                         "storage_encrypted": True, "tags_all": True}}})
        plan["configuration"]["root_module"]["resources"].append({
            "address": address, "mode": "managed", "type": "aws_rds_cluster_snapshot_copy", "name": "dr",
            "provider_config_key": "aws",
            "expressions": {"source_db_cluster_snapshot_identifier": {
                "references": ["aws_db_cluster_snapshot.csnap.db_cluster_snapshot_arn", "aws_db_cluster_snapshot.csnap"]},
                "kms_key_id": {"references": ["aws_kms_key.k.arn", "aws_kms_key.k"]}}})

    found, errors, _ = collect(variant_of(STORES_PLAN, tmp_path, copy_of_cluster_snapshot))
    dr = found["aws_rds_cluster_snapshot_copy.dr"]
    assert (dr.kind, dr.type) == ("database", "aws.rds.db_cluster_snapshot")
    assert dr.attributes["encryption"]["at_rest"] is True
    assert dr.attributes["encryption"]["key"] == found["aws_kms_key.k"].id
    assert dr.tags["data_class"] == "clinical"  # the cluster's, through its snapshot
    assert not errors


def test_a_bucket_policy_known_only_after_apply_leaves_only_that_buckets_access_unseen(tmp_path: Path,
                                                                                      cli: Cli) -> None:
    def unknown_policy(plan: dict[str, Any]) -> None:
        change = change_of(plan, "aws_s3_bucket_policy.notes")
        change["after"].pop("policy", None)
        change["after_unknown"]["policy"] = True
        planned(plan, "aws_s3_bucket_policy.notes")["values"].pop("policy", None)

    path = variant(tmp_path, unknown_policy)
    etl = collect(path)[0]["aws_iam_role.etl"].attributes
    # the other stores' policies are known: what the role reads there is exact
    assert "arn:aws:s3:::exemplum-archive" in etl["can_read"] and "arn:aws:s3:::exemplum-notes" not in etl["can_read"]
    assert etl["access_unseen"] == [f"{path}: aws_s3_bucket.notes: resource policy known only after apply"]
    # it already reads clinical and administrative stores: a failure, whatever it may read besides
    result = cli("scan", str(path), "--only", "PHI-SEG-002", "--format", "json")
    assert ("fail", "PHI-SEG-002", "aws_iam_role.etl") in outcomes(result)


def test_a_snapshot_naming_its_source_by_literal_identifier_is_joined_to_it(tmp_path: Path) -> None:
    def literal(plan: dict[str, Any]) -> None:
        for block in plan["configuration"]["root_module"]["resources"]:
            if block["address"] == "aws_db_snapshot.snap":
                block["expressions"]["db_instance_identifier"] = {"constant_value": "db"}
        change_of(plan, "aws_db_snapshot.snap")["after"]["db_instance_identifier"] = "db"

    snap = collect(variant_of(STORES_PLAN, tmp_path, literal))[0]["aws_db_snapshot.snap"]
    assert snap.raw["source"] == "aws_db_instance.db" and snap.tags["data_class"] == "clinical"
    assert snap.attributes["encryption"]["at_rest"] is True


def test_cloud_kms_keys_of_the_plan_are_keys_and_encrypt_the_buckets_naming_them(tmp_path: Path) -> None:
    def planned_key(plan: dict[str, Any]) -> None:
        for address, rtype, after, unknown, expressions in (
                ("google_kms_key_ring.ring", "google_kms_key_ring", {"name": "ring", "location": "europe-west9"},
                 {"id": True}, {"name": {"constant_value": "ring"}, "location": {"constant_value": "europe-west9"}}),
                ("google_kms_crypto_key.scans", "google_kms_crypto_key",
                 {"name": "scans", "rotation_period": None, "labels": None, "skip_initial_version_creation": None},
                 {"id": True, "key_ring": True, "effective_labels": True, "purpose": True, "primary": True},
                 {"name": {"constant_value": "scans"},
                  "key_ring": {"references": ["google_kms_key_ring.ring.id", "google_kms_key_ring.ring"]}})):
            plan["resource_changes"].append({"address": address, "mode": "managed", "type": rtype,
                                             "name": address.split(".")[1],
                                             "change": {"actions": ["create"], "before": None, "after": after,
                                                        "after_unknown": unknown}})
            plan["configuration"]["root_module"]["resources"].append({
                "address": address, "mode": "managed", "type": rtype, "name": address.split(".")[1],
                "provider_config_key": "google", "expressions": expressions})
        change = change_of(plan, "google_storage_bucket.imaging")
        change["after"]["encryption"] = [{"default_kms_key_name": None}]
        change["after_unknown"]["encryption"] = [{"default_kms_key_name": True}]
        planned(plan, "google_storage_bucket.imaging")["values"]["encryption"] = [{}]
        for block in plan["configuration"]["root_module"]["resources"]:
            if block["address"] == "google_storage_bucket.imaging":
                block["expressions"]["encryption"] = [{"default_kms_key_name": {
                    "references": ["google_kms_crypto_key.scans.id", "google_kms_crypto_key.scans"]}}]

    found, errors, _ = collect(variant(tmp_path, planned_key))
    key = found["google_kms_crypto_key.scans"]
    assert (key.kind, key.type, key.region) == ("key", "gcp.kms.crypto_key", "europe-west9")
    assert key.attributes == {"manager": "customer", "symmetric": True, "rotation_enabled": False,
                              "state": "ENABLED"}
    assert found["google_storage_bucket.imaging"].attributes["encryption"] == {
        "at_rest": True, "algorithm": "cmek", "key": key.id, "key_manager": "customer"}
    assert not errors


def test_the_log_of_terraform_plan_json_is_refused_with_what_to_run(tmp_path: Path, cli: Cli) -> None:
    log = tmp_path / "plan.json"  # `terraform plan -json > plan.json`, as Terraform 1.11 writes it
    log.write_text(
        '{"@level":"info","@message":"Terraform 1.11.4","@module":"terraform.ui","@timestamp":'
        '"2026-12-07T08:35:42.624096Z","terraform":"1.11.4","type":"version","ui":"1.2"}\n'
        '{"@level":"info","@message":"aws_s3_bucket.b: Plan to create","@module":"terraform.ui",'
        '"change":{"resource":{"addr":"aws_s3_bucket.b"},"action":"create"},"type":"planned_change"}\n')
    assert TerraformProvider.claims(str(log))
    result = cli("scan", str(log))
    assert result.code == 2
    assert "terraform show -json tfplan" in result.err and f"{log}:1:1" in result.err


def _chain_plan(tmp_path: Path, *, trusted: bool) -> Path:
    """Two buckets, a user reading the administrative one and allowed to assume a role that reads
    the clinical one; the role's trust names the user (or nobody)."""
    account = "111122223333"
    user_arn, role_arn = f"arn:aws:iam::{account}:user/ops", f"arn:aws:iam::{account}:role/etl"
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": user_arn if trusted else f"arn:aws:iam::{account}:user/someone-else"}}]}

    def grant(*statements: dict[str, Any]) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})

    values = {
        "aws_s3_bucket.notes": ("aws_s3_bucket", {"bucket": "exemplum-notes", "arn": "arn:aws:s3:::exemplum-notes", "policy": "",
                                                  "tags": {"data_class": "clinical"},
                                                  "tags_all": {"data_class": "clinical"}}),
        "aws_s3_bucket.exports": ("aws_s3_bucket", {"bucket": "exemplum-exports",
                                                    "arn": "arn:aws:s3:::exemplum-exports", "policy": "",
                                                    "tags": {"data_class": "administrative"},
                                                    "tags_all": {"data_class": "administrative"}}),
        "aws_iam_user.ops": ("aws_iam_user", {"name": "ops", "path": "/", "arn": user_arn, "tags": {},
                                              "tags_all": {}}),
        "aws_iam_user_policy.ops": ("aws_iam_user_policy", {"name": "ops", "user": "ops", "policy": grant(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::exemplum-exports/*"},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn})}),
        "aws_iam_role.etl": ("aws_iam_role", {"name": "etl", "path": "/", "arn": role_arn,
                                              "assume_role_policy": json.dumps(trust), "tags": {},
                                              "tags_all": {}}),
        "aws_iam_role_policy.etl": ("aws_iam_role_policy", {"name": "etl", "role": "etl", "policy": grant(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::exemplum-notes/*"})}),
    }
    resources = [{"address": a, "mode": "managed", "type": t, "name": a.split(".")[1],
                  "provider_name": "registry.terraform.io/hashicorp/aws", "values": v}
                 for a, (t, v) in values.items()]
    changes = [{"address": a, "mode": "managed", "type": t, "name": a.split(".")[1],
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "change": {"actions": ["no-op"], "before": v, "after": v, "after_unknown": {}}}
               for a, (t, v) in values.items()]
    plan = {"format_version": "1.2", "terraform_version": "1.9.8", "complete": True, "errored": False,
            "planned_values": {"root_module": {"resources": resources}}, "resource_changes": changes,
            "configuration": {"root_module": {"resources": []}}}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def test_a_plan_user_that_may_assume_a_clinical_reader_fails_segmentation_with_the_path(
        tmp_path: Path, cli: Cli) -> None:
    resources, _, _ = collect(_chain_plan(tmp_path, trusted=True))
    ops = resources["aws_iam_user.ops"].attributes
    assert ops["can_become"] == ["arn:aws:iam::111122223333:role/etl"]
    assert ops["can_become_via"]["arn:aws:iam::111122223333:role/etl"] == "sts:AssumeRole"
    result = cli("scan", str(tmp_path / "plan.json"), "--only", "PHI-SEG-002", "--format", "json", "-q")
    failing = {f["resource"]["name"]: f for f in result.json()["findings"] if f["status"] == "fail"}
    assert set(failing) == {"aws_iam_user.ops"}
    assert "user/ops → (sts:AssumeRole) role/etl → s3:GetObject → exemplum-notes (clinical)" in (
        failing["aws_iam_user.ops"]["message"])


def test_a_plan_role_whose_trust_does_not_let_the_user_in_is_no_path(tmp_path: Path, cli: Cli) -> None:
    resources, _, _ = collect(_chain_plan(tmp_path, trusted=False))
    assert resources["aws_iam_user.ops"].attributes["can_become"] == []
    result = cli("scan", str(tmp_path / "plan.json"), "--only", "PHI-SEG-002", "--format", "json", "-q")
    assert result.code == 0, result.out


def test_a_key_of_another_account_is_never_the_owners_customer_key(tmp_path: Path) -> None:
    key = "arn:aws:kms:eu-west-3:999988887777:key/0b0b0b0b-1111-2222-3333-444455556666"

    def foreign_key(plan: dict[str, Any]) -> None:
        for values in (planned(plan, "aws_ebs_volume.scratch")["values"],
                       change_of(plan, "aws_ebs_volume.scratch")["after"]):
            values.update(kms_key_id=key, encrypted=True)
        for block in plan["configuration"]["root_module"]["resources"]:
            if block["address"] == "aws_ebs_volume.scratch":
                block.setdefault("expressions", {}).update(
                    kms_key_id={"constant_value": key}, encrypted={"constant_value": True})
    resources, _, _ = collect(variant(tmp_path, foreign_key))
    encryption = resources["aws_ebs_volume.scratch"].attributes["encryption"]
    assert (encryption["key"], encryption["key_manager"]) == (key, "provider")
