"""Terraform plans nobody on the team wrote (tests/data/terraform/public/SOURCES.md), each judged
with exact outcomes, and the inputs a real plan never is: refused with the field, or incomplete
evidence, never read as a smaller estate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phigate.api import InputError, Resource, Unknown
from phigate_providers.terraform import TerraformProvider

from .conftest import DATA, CliResult

PUBLIC = DATA / "terraform" / "public"
OWN = DATA / "plans" / "tf1.11-aws5.100-stores.json"

Cli = Callable[..., CliResult]

#: file -> (exit code, passes, failures, errors): each exact, so a verdict that changes is seen.
EXPECTED: dict[str, tuple[int, int, set[tuple[str, str]], set[tuple[str, str]]]] = {
    # two modules' monitoring roles of one name (one kept, one created): which policies the role ends with cannot be told
    "infracost-rds-modules-tf0.14.json": (3, 3, {
        ("PHI-CLASS-001", "module.db.module.db_1.module.db_instance.aws_db_instance.this[0]"),
        ("PHI-CLASS-001", "module.db.module.db_2.module.db_instance.aws_db_instance.this[0]"),
        ("PHI-ENC-001", "module.db.module.db_1.module.db_instance.aws_db_instance.this[0]"),
        ("PHI-ENC-001", "module.db.module.db_2.module.db_instance.aws_db_instance.this[0]"),
    }, {
        ("PHI-IAM-004", "module.db.module.db_1.module.db_instance.aws_iam_role.enhanced_monitoring[0]"),
        ("PHI-IAM-004", "module.db.module.db_2.module.db_instance.aws_iam_role.enhanced_monitoring[0]"),
        ("PHI-SEG-002", "module.db.module.db_1.module.db_instance.aws_iam_role.enhanced_monitoring[0]"),
        ("PHI-SEG-002", "module.db.module.db_2.module.db_instance.aws_iam_role.enhanced_monitoring[0]"),
    }),
    "regula-aws-and-google-buckets-tf0.13.json": (1, 3, {
        ("PHI-CLASS-001", "aws_s3_bucket.example"),
        ("PHI-CLASS-001", "google_storage_bucket.example"),
        ("PHI-IAM-002", "aws_s3_bucket.example"),
        ("PHI-IAM-002", "google_storage_bucket.example"),
        ("PHI-IAM-003", "google_storage_bucket.example"),
    }, set()),
    "regula-bucket-policy-allowlist-tf1.0.json": (1, 14, {
        ("PHI-CLASS-001", "aws_s3_bucket.allowget-external-policy"),
        ("PHI-CLASS-001", "aws_s3_bucket.allowget-inline-policy"),
        ("PHI-CLASS-001", "aws_s3_bucket.allowlist-external-policy"),
        ("PHI-CLASS-001", "aws_s3_bucket.allowlist-inline-policy"),
        ("PHI-CLASS-001", "aws_s3_bucket.denylist-external-policy"),
        ("PHI-CLASS-001", "aws_s3_bucket.denylist-inline-policy"),
        ("PHI-CLASS-001", "aws_s3_bucket.nopolicy-bucket"),
        ("PHI-IAM-002", "aws_s3_bucket.allowget-external-policy"),
        ("PHI-IAM-002", "aws_s3_bucket.allowget-inline-policy"),
        ("PHI-IAM-002", "aws_s3_bucket.allowlist-external-policy"),
        ("PHI-IAM-002", "aws_s3_bucket.allowlist-inline-policy"),
        ("PHI-IAM-002", "aws_s3_bucket.denylist-external-policy"),
        ("PHI-IAM-002", "aws_s3_bucket.denylist-inline-policy"),
        ("PHI-IAM-002", "aws_s3_bucket.nopolicy-bucket"),
    }, set()),
    "regula-bucket-sse-tf0.13.json": (1, 6, {
        ("PHI-CLASS-001", "aws_s3_bucket.aes_encrypted"),
        ("PHI-CLASS-001", "aws_s3_bucket.kms_encrypted"),
        ("PHI-CLASS-001", "aws_s3_bucket.unencrypted"),
        ("PHI-ENC-003", "aws_kms_key.key"),
        ("PHI-IAM-002", "aws_s3_bucket.aes_encrypted"),
        ("PHI-IAM-002", "aws_s3_bucket.kms_encrypted"),
        ("PHI-IAM-002", "aws_s3_bucket.unencrypted"),
    }, set()),
    # existing buckets: Object Ownership is outside the plan, unless an ACL is written or reported; the root user is not the plan's
    "regula-cloudtrail-issue355-tf1.1.json": (3, 2, {
        ("PHI-CLASS-001", "aws_s3_bucket.cloudtrail"),
        ("PHI-CLASS-001", "aws_s3_bucket.logging"),
        ("PHI-IAM-002", "aws_s3_bucket.cloudtrail"),
        ("PHI-IAM-002", "aws_s3_bucket.logging"),
        ("PHI-IAM-003", "aws_s3_bucket.logging"),
        ("PHI-LOG-001", "aws_cloudtrail.cloudtrail"),
    }, {
        ("PHI-AUTH-004", "aws_cloudtrail.cloudtrail"),
        ("PHI-IAM-003", "aws_s3_bucket.cloudtrail"),
    }),
    "regula-google-cryptokey-tf0.13.json": (1, 2, {
        ("PHI-ENC-003", "google_kms_crypto_key.invalid_key_1"),
    }, set()),
    # users put in groups: group policies are not mapped
    "regula-iam-user-policies-tf0.13.json": (3, 27, set(), {
        ("PHI-IAM-004", "aws_iam_user.valid_group_blank_user"),
        ("PHI-IAM-004", "aws_iam_user.valid_group_empty_list_user"),
        ("PHI-IAM-004", "aws_iam_user.valid_group_missing_user"),
        ("PHI-SEG-002", "aws_iam_user.valid_group_blank_user"),
        ("PHI-SEG-002", "aws_iam_user.valid_group_empty_list_user"),
        ("PHI-SEG-002", "aws_iam_user.valid_group_missing_user"),
    }),
    # a policy document naming a bucket created alongside: known only after apply
    "regula-policy-document-tf0.13.json": (3, 2, {
        ("PHI-CLASS-001", "aws_s3_bucket.example"),
        ("PHI-IAM-002", "aws_s3_bucket.example"),
    }, {
        ("PHI-IAM-001", "aws_iam_policy.example"),
    }),
    "terrascan-buckets-tf1.0.json": (1, 4, {
        ("PHI-CLASS-001", "aws_s3_bucket.demo-example"),
        ("PHI-CLASS-001", "aws_s3_bucket.demo-s3"),
        ("PHI-IAM-002", "aws_s3_bucket.demo-example"),
        ("PHI-IAM-002", "aws_s3_bucket.demo-s3"),
    }, set()),
    "tfcompliance-dynamodb-kms-tf0.12.json": (1, 2, {
        ("PHI-CLASS-001", "aws_dynamodb_table.test"),
        ("PHI-ENC-003", "aws_kms_key.test"),
    }, set()),
    # two buckets named mybucket, settings apart: the apply fails on one, which cannot be told
    "tfcompliance-exclude-resources-tf0.13.json": (3, 5, {
        ("PHI-CLASS-001", "aws_s3_bucket.log_bucket"),
        ("PHI-CLASS-001", "aws_s3_bucket.mybucket"),
        ("PHI-CLASS-001", "aws_s3_bucket.mybucket2"),
        ("PHI-ENC-003", "aws_kms_key.mykey"),
        ("PHI-IAM-002", "aws_s3_bucket.log_bucket"),
        ("PHI-IAM-002", "aws_s3_bucket.mybucket"),
        ("PHI-IAM-002", "aws_s3_bucket.mybucket2"),
        ("PHI-IAM-003", "aws_s3_bucket.log_bucket"),
    }, set()),
    # no provider block at all: no default tags, so the buckets' tags are their own; three
    # buckets named test-bucket, one with another public access block
    "tfcompliance-for-each-modules-tf0.15.json": (3, 8, {
        ("PHI-CLASS-001", 'module.test2.aws_s3_bucket.test["a"]'),
        ("PHI-CLASS-001", 'module.test["a"].aws_s3_bucket.test["a"]'),
        ("PHI-CLASS-001", 'module.test["b"].aws_s3_bucket.test["a"]'),
        ("PHI-IAM-002", 'module.test2.aws_s3_bucket.test["a"]'),
    }, set()),
    # two roles of one name and the same (no) policies: whichever exists reads nothing
    "tfcompliance-for-each-role-name-tf0.13.json": (0, 4, set(), set()),
    "tfcompliance-issue-120-tf0.12.json": (1, 1, {
        ("PHI-CLASS-001", "aws_rds_cluster.default"),
        ("PHI-ENC-001", "aws_rds_cluster.default"),
    }, set()),
    # volumes leaving `encrypted` unset: the account's default decides, not in the plan
    "tfcompliance-issue-153-tf0.12.json": (3, 2, {
        ("PHI-CLASS-001", "aws_ebs_volume.fail"),
        ("PHI-CLASS-001", "aws_ebs_volume.success"),
    }, {
        ("PHI-ENC-001", "aws_ebs_volume.fail"),
        ("PHI-ENC-001", "aws_ebs_volume.success"),
    }),
    "tfcompliance-issue-174-tf0.12.json": (1, 4, {
        ("PHI-CLASS-001", "aws_s3_bucket.b"),
        ("PHI-CLASS-001", "aws_s3_bucket.c"),
        ("PHI-IAM-002", "aws_s3_bucket.b"),
        ("PHI-IAM-002", "aws_s3_bucket.c"),
    }, set()),
    "tfcompliance-issue-243-tf0.12.json": (1, 10, {
        ("PHI-CLASS-001", "aws_s3_bucket.another_failure"),
        ("PHI-CLASS-001", "aws_s3_bucket.another_skip"),
        ("PHI-CLASS-001", "aws_s3_bucket.failure"),
        ("PHI-CLASS-001", "aws_s3_bucket.skip"),
        ("PHI-CLASS-001", "aws_s3_bucket.success"),
        ("PHI-IAM-002", "aws_s3_bucket.another_failure"),
        ("PHI-IAM-002", "aws_s3_bucket.another_skip"),
        ("PHI-IAM-002", "aws_s3_bucket.failure"),
        ("PHI-IAM-002", "aws_s3_bucket.skip"),
        ("PHI-IAM-002", "aws_s3_bucket.success"),
    }, set()),
    # AmazonEC2RoleforSSM, an AWS-managed policy whose document the plan does not hold
    "tfcompliance-issue-249-tf0.12.json": (3, 4, set(), {
        ("PHI-IAM-001", "aws_iam_role_policy_attachment.systems-manager-role"),
        ("PHI-IAM-004", "aws_iam_role.instance_role"),
        ("PHI-IAM-004", "module.myapp-asg.module.iam.aws_iam_role.role"),
        ("PHI-SEG-002", "aws_iam_role.instance_role"),
        ("PHI-SEG-002", "module.myapp-asg.module.iam.aws_iam_role.role"),
    }),
    "tfcompliance-issue-260-tf0.12.json": (1, 5, {
        ("PHI-CLASS-001", "aws_sqs_queue.failure"),
        ("PHI-CLASS-001", "aws_sqs_queue.success"),
    }, set()),
    "tfcompliance-issue-307-tf0.12.json": (1, 1, {
        ("PHI-CLASS-001", "aws_sns_topic.test"),
        ("PHI-ENC-001", "aws_sns_topic.test"),
    }, set()),
    # no provider block: no default tags
    "tfcompliance-issue-386-tf0.15.json": (1, 2, {
        ("PHI-CLASS-001", "module.module_with_var.aws_sns_topic.this"),
        ("PHI-ENC-003", "aws_kms_key.should_pass"),
    }, set()),
    "tfcompliance-issue-401-tf0.12.json": (1, 0, {
        ("PHI-CLASS-001", "aws_db_instance.default"),
        ("PHI-ENC-001", "aws_db_instance.default"),
        ("PHI-IAM-002", "aws_db_instance.default"),
    }, set()),
    "tfcompliance-issue-456-tf0.13.json": (1, 6, {
        ("PHI-CLASS-001", "aws_s3_bucket.nonmodulebucket"),
        ("PHI-IAM-002", "aws_s3_bucket.nonmodulebucket"),
    }, set()),
    # values blanked by the test's authors: an empty inline policy and empty policy ARNs are unknown
    "tfcompliance-issue-522-tf1.0.json": (3, 2, {
        ("PHI-CLASS-001", "aws_cloudwatch_log_group.log_group"),
    }, {
        ("PHI-IAM-001", "aws_iam_role_policy.lambda_execution_policy"),
        ("PHI-IAM-004", "aws_iam_role.lambda_execution_role"),
        ("PHI-SEG-002", "aws_iam_role.lambda_execution_role"),
    }),
    "tfcompliance-multi-module-referencing-tf0.15.json": (1, 21, {
        ("PHI-CLASS-001", "aws_s3_bucket.no_module_boundary"),
        ("PHI-CLASS-001", "module.first_layer.aws_s3_bucket.should_not_fail_first_layer"),
        ("PHI-CLASS-001", "module.first_layer.module.second_layer.aws_s3_bucket.should_not_fail_second_layer"),
        ("PHI-CLASS-001", "module.first_layer.module.second_layer.module.third_layer.aws_s3_bucket.test"),
        ("PHI-CLASS-001", "module.root_layer.aws_s3_bucket.should_not_fail_first_layer"),
        ("PHI-CLASS-001", "module.root_layer.module.second_layer.aws_s3_bucket.should_not_fail_second_layer"),
        ("PHI-CLASS-001", "module.root_layer.module.second_layer.module.third_layer.aws_s3_bucket.test"),
    }, set()),
    # four roles of one name, none with a policy
    "tfcompliance-same-role-name-tf0.12.json": (1, 16, {
        ("PHI-CLASS-001", "aws_cloudwatch_log_group.example1"),
        ("PHI-CLASS-001", "aws_cloudwatch_log_group.example2"),
        ("PHI-CLASS-001", "aws_cloudwatch_log_group.example3"),
        ("PHI-CLASS-001", "aws_cloudwatch_log_group.example4"),
    }, set()),
}


#: Plans with collection errors, and how many (every other plan: none).
COLLECTION_ERRORS = {"tfcompliance-exclude-resources-tf0.13.json": 2, "tfcompliance-for-each-modules-tf0.15.json": 3}


def verdicts(result: CliResult, status: str) -> set[tuple[str, str]]:
    return {(f["policy_id"], f["resource"]["name"]) for f in result.json()["findings"] if f["status"] == status}


def collect(path: Path) -> tuple[dict[str, Resource], list[Any]]:
    found: dict[str, Resource] = {}
    others: list[Any] = []
    for record in TerraformProvider(path).collect():
        if isinstance(record, Resource):
            found[record.name or record.id] = record
        else:
            others.append(record)
    return found, others


def rewrite(source: Path, tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    plan = json.loads(source.read_text())
    change(plan)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def test_every_public_plan_is_listed_with_its_source() -> None:
    files = {p.name for p in PUBLIC.glob("*.json")}
    assert files == set(EXPECTED)
    sources = (PUBLIC / "SOURCES.md").read_text()
    assert all(f"`{name}`" in sources for name in files)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_public_plans_are_read_with_their_expected_outcomes(name: str, cli: Cli) -> None:
    code, passes, fails, errors = EXPECTED[name]
    result = cli("scan", str(PUBLIC / name), "--format", "json", "--show-passed")
    assert result.code == code, result.err
    assert verdicts(result, "fail") == fails
    assert verdicts(result, "error") == errors
    summary = result.json()["summary"]
    assert (summary["pass"], summary["collection_errors"]) == (passes, COLLECTION_ERRORS.get(name, 0))


# --- what the public plans taught ---------------------------------------------------------------

SAME_NAME = PUBLIC / "tfcompliance-for-each-role-name-tf0.13.json"


def test_roles_of_one_name_are_read_not_a_crash(tmp_path: Path) -> None:
    # for_each over a literal name: two planned roles, one IAM role. With the same policies
    # (none here) whichever exists reads the same.
    found, _ = collect(SAME_NAME)
    roles = [r for r in found.values() if r.type == "aws.iam.role"]
    assert len(roles) == 2 and all(r.attributes["can_read"] == [] for r in roles)

    def give_one_a_policy(plan: dict[str, Any]) -> None:
        for entry in plan["planned_values"]["root_module"]["resources"]:
            if entry["address"] == 'aws_iam_role.test_iam_role["repository_1"]':
                entry["values"]["managed_policy_arns"] = ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    found, _ = collect(rewrite(SAME_NAME, tmp_path, give_one_a_policy))
    for role in (r for r in found.values() if r.type == "aws.iam.role"):
        can_read = role.attributes["can_read"]
        assert isinstance(can_read, Unknown) and "IAM names are unique in an account" in can_read.reason


def test_no_provider_block_means_no_default_tags(tmp_path: Path) -> None:
    plan = PUBLIC / "tfcompliance-for-each-modules-tf0.15.json"
    found, errors = collect(plan)
    assert not [e for e in errors if "tags" in e.message]
    assert found['module.test["a"].aws_s3_bucket.test["a"]'].tags == {}

    def alias_elsewhere(plan: dict[str, Any]) -> None:
        # A provider block of that provider (an alias) whose default tags the plan cannot resolve:
        # the buckets' provider may be it, so their class stays unknown.
        plan["configuration"]["provider_config"] = {"aws.other": {
            "name": "aws", "alias": "other",
            "expressions": {"default_tags": [{"tags": {"references": ["local.tags"]}}]}}}
    found, errors = collect(rewrite(plan, tmp_path, alias_elsewhere))
    assert not found and [e.message.endswith("its data class cannot be told") for e in errors] == [True] * 3


def test_stores_of_one_name_with_different_settings_are_incomplete_evidence(tmp_path: Path) -> None:
    plan = PUBLIC / "tfcompliance-for-each-modules-tf0.15.json"
    _, errors = collect(plan)
    # module.test2's public access block lets bucket policies be public, the others' do not
    assert sorted(e.resource_id for e in errors) == [
        'module.test2.aws_s3_bucket.test["a"]', 'module.test["a"].aws_s3_bucket.test["a"]',
        'module.test["b"].aws_s3_bucket.test["a"]']
    assert all("are all arn:aws:s3:::test-bucket with different settings" in e.message for e in errors)

    def alike(plan: dict[str, Any]) -> None:
        for entry in plan["planned_values"]["root_module"]["child_modules"]:
            for resource in entry["resources"]:
                if resource["type"] == "aws_s3_bucket_public_access_block":
                    resource["values"]["block_public_policy"] = True
        for change in plan["resource_changes"]:
            if change["type"] == "aws_s3_bucket_public_access_block":
                change["change"]["after"]["block_public_policy"] = True
    found, errors = collect(rewrite(plan, tmp_path, alike))
    assert len(found) == 3 and not errors  # whichever exists is judged alike


def test_an_existing_bucket_with_an_acl_written_or_reported_honours_acls() -> None:
    found, _ = collect(PUBLIC / "regula-cloudtrail-issue355-tf1.1.json")
    assert found["aws_s3_bucket.logging"].attributes["acls_disabled"] is False  # acl = "log-delivery-write"
    # the owner's full control alone: S3 reports that with ACLs enforced off or on
    assert "acls_disabled" not in found["aws_s3_bucket.cloudtrail"].attributes


def test_short_aws_managed_service_policies_are_read(tmp_path: Path) -> None:
    def code_deploy(plan: dict[str, Any]) -> None:
        for entry in plan["planned_values"]["root_module"]["resources"]:
            if entry["type"] == "aws_iam_role":
                entry["values"]["managed_policy_arns"] = [
                    "arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforAWSCodeDeploy"]
    found, _ = collect(rewrite(PUBLIC / "tfcompliance-issue-456-tf0.13.json", tmp_path, code_deploy))
    role = next(r for r in found.values() if r.type == "aws.iam.role")
    buckets = {r.id for r in found.values() if r.type == "aws.s3.bucket"}
    assert buckets and buckets <= set(role.attributes["can_read"])  # s3:GetObject on every bucket


def test_an_empty_policy_document_is_unknown_and_a_managed_inline_policy_counted_once() -> None:
    # a role in the state reads back, in its inline_policy blocks, the policy its
    # aws_iam_role_policy manages: one policy, not two; its document was blanked to ""
    found, _ = collect(PUBLIC / "tfcompliance-issue-522-tf1.0.json")
    [policy] = [r for r in found.values() if r.kind == "access_policy"]
    assert policy.name == "aws_iam_role_policy.lambda_execution_policy"
    statements = policy.attributes["statements"]
    assert isinstance(statements, Unknown) and "the policy document is empty" in statements.reason


# --- inputs a real plan never is -----------------------------------------------------------------

def _with(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], Path]:
    def write(tmp_path: Path) -> Path:
        return rewrite(OWN, tmp_path, change)
    return write


def _text(edit: Callable[[str], str]) -> Callable[[Path], Path]:
    def write(tmp_path: Path) -> Path:
        path = tmp_path / "plan.json"
        path.write_text(edit(OWN.read_text()))
        return path
    return write


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        owner = plan
        for step in path[:-1]:
            owner = owner[step]
        owner[path[-1]] = value
    return change


def _state(tmp_path: Path) -> Path:
    plan = json.loads(OWN.read_text())
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"format_version": "1.0", "terraform_version": "1.11.4",
                                "values": {"root_module": plan["planned_values"]["root_module"]}}))
    return path


REFUSED = {
    "a newer major format": (_with(_set(("format_version",), "2.0")), "/format_version: format 2.0"),
    "a key written twice": (_text(lambda t: t.replace('"resource_changes":', '"resource_changes": [], '
                                                     '"resource_changes":', 1)),
                            "the key 'resource_changes' is written twice"),
    "a key written twice, spaced": (_text(lambda t: t.replace('{"format_version"', '{"format_version" : "1.2", '
                                                              '"format_version"', 1)),
                                    "the key 'format_version' is written twice"),
    "an action no Terraform writes": (_with(_set(("resource_changes", 0, "change", "actions"), ["explode"])),
                                      "/resource_changes/0/change/actions: 'explode'"),
    "a mode no Terraform writes": (_with(_set(("planned_values", "root_module", "resources", 0, "mode"), "x")),
                                   "/planned_values/root_module/resources/0/mode: 'x' is not a resource mode"),
    "a variable that is not an object": (_with(_set(("variables",), {"tags": "x"})), "/variables/tags"),
    "state instead of a plan": (_state, "this is Terraform state"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_terraform_never_writes_is_refused_with_the_field(case: str, tmp_path: Path, cli: Cli) -> None:
    write, message = REFUSED[case]
    path = write(tmp_path)
    assert TerraformProvider.claims(str(path))
    result = cli("scan", str(path))
    assert result.code == 2 and message in result.err, result.err
    assert "Traceback" not in result.err
    with pytest.raises(InputError):
        list(TerraformProvider(path).collect())


@pytest.mark.parametrize("document", [
    {"format_version": "1.2", "planned_values": {}},
    {"format_version": "1.2", "resource_changes": []},
    {"format_version": "1.2", "planned_values": {"root_module": {}}, "resource_changes": []},
])
def test_a_plan_of_nothing_without_its_configuration_is_never_a_clean_estate(document: dict[str, Any],
                                                                              tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    result = cli("scan", str(path), "--format", "json")
    assert result.code == 3
    [error] = result.json()["collection_errors"]
    assert "no resource and no configuration" in error["message"]


def test_a_plan_of_an_empty_configuration_is_clean(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format_version": "1.2", "planned_values": {"root_module": {}},
                                "configuration": {"root_module": {}}}))
    assert cli("scan", str(path)).code == 0


@pytest.mark.parametrize(("encoding", "mark"), [("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-be", b"\x00\x00\xfe\xff"),
                                                ("utf-32-le", b""), ("utf-32-be", b"")])
def test_utf32_plans_read_as_their_utf8_original(encoding: str, mark: bytes, tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(mark + OWN.read_text(encoding="utf-8").encode(encoding))
    assert TerraformProvider.claims(str(path))
    read = cli("scan", str(path), "--format", "json").json()["findings"]
    original = cli("scan", str(OWN), "--format", "json").json()["findings"]
    assert [(f["status"], f["policy_id"], f["resource"]["name"]) for f in read] == [
        (f["status"], f["policy_id"], f["resource"]["name"]) for f in original]
