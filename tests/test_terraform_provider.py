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

from phigate.api import CollectionError, InputError, Resource
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
    assert not TerraformProvider.claims(str(state))
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
    import argparse
    with pytest.raises(InputError, match="unknown setting"):
        TerraformProvider.configure([str(PLAN)], argparse.Namespace(), {"changed_onyl": True})
    with pytest.raises(InputError, match="true or false"):
        TerraformProvider.configure([str(PLAN)], argparse.Namespace(), {"changed_only": "yes"})


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
@pytest.mark.parametrize(("seed", "modules"), [(20260507, 0.15), (8675309, 0.6)])
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
