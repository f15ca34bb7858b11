"""IAM deny rules, read as Google's IAM v2 reference writes them: only what is certainly denied
is taken away (conditions, principal sets and exceptions of unknown membership keep a grant)."""

from __future__ import annotations

import pytest

from phigate_providers.gcp.access import PREDEFINED_ROLES, RoleBook
from phigate_providers.gcp.deny import Denials, NoExport, member_of, permission_of, rules_from_api

PROJECT = "projects/exemplum-sante-prod"


@pytest.mark.parametrize(("denied", "permission"), [
    ("storage.googleapis.com/objects.get", "storage.objects.get"),
    ("cloudresourcemanager.googleapis.com/projects.setIamPolicy", "resourcemanager.projects.setIamPolicy"),
    ("iam.googleapis.com/serviceAccountKeys.create", "iam.serviceAccountKeys.create"),
    ("bigquery.googleapis.com/tables.*", "bigquery.tables.*"),
    ("storage.googleapis.com/*", "storage.*"),
])
def test_permissions_are_read_in_their_allow_spelling(denied: str, permission: str) -> None:
    assert permission_of(denied) == permission


@pytest.mark.parametrize(("identifier", "member"), [
    ("principal://goog/subject/Alice@Exemplum.fr", "user:alice@exemplum.fr"),
    ("principal://iam.googleapis.com/projects/-/serviceAccounts/etl@p.iam.gserviceaccount.com",
     "serviceAccount:etl@p.iam.gserviceaccount.com"),
    ("principalSet://goog/group/oncall@exemplum.fr", "group:oncall@exemplum.fr"),
    ("principalSet://goog/public:all", "*"),
    ("principalSet://goog/cloudIdentityCustomerId/C01abc", "principalSet://goog/cloudIdentityCustomerId/C01abc"),
])
def test_principals_are_read_as_allow_policies_name_members(identifier: str, member: str) -> None:
    assert member_of(identifier) == member


class Listed:
    """A directory export listing the on-call group (complete, as exports are taken)."""

    def holds(self, container: str, member: str) -> bool:
        return container == "group:oncall@exemplum.fr" and member == "user:oncall@exemplum.fr"

    def may_hold(self, container: str, member: str) -> bool:
        return self.holds(container, member)


def _denials(*rules: dict[str, object], at: str = PROJECT) -> Denials:
    denials = Denials()
    denials.add(at, rules_from_api({"name": "policies/x/denypolicies/y", "rules": [{"denyRule": r} for r in rules]}))
    return denials


def test_only_what_is_certainly_denied_is_taken_away() -> None:
    everyone = _denials({"deniedPrincipals": ["principalSet://goog/public:all"],
                         "deniedPermissions": ["storage.googleapis.com/objects.get"],
                         "exceptionPrincipals": ["principal://goog/subject/dpo@exemplum.fr",
                                                 "principalSet://goog/group/oncall@exemplum.fr"]})
    for member in ("allUsers", "allAuthenticatedUsers"):  # in no group: the exceptions cannot hold them
        assert everyone.denied(member, {"storage.objects.get"}, (PROJECT, "organizations/1"))
    assert not everyone.denied("user:dpo@exemplum.fr", {"storage.objects.get"}, (PROJECT,))  # excepted
    etl = "serviceAccount:etl@p.iam.gserviceaccount.com"
    assert not everyone.denied(etl, {"storage.objects.get"}, (PROJECT,))  # may be on call
    assert everyone.denied(etl, {"storage.objects.get"}, (PROJECT,), Listed())  # the export says it is not
    assert not everyone.denied("allUsers", {"storage.objects.get"}, ("projects/other",))  # attached elsewhere
    # Every way the role reads must be denied: here getData is, export is not.
    partly = _denials({"deniedPrincipals": ["principalSet://goog/public:all"],
                       "deniedPermissions": ["bigquery.googleapis.com/tables.getData"]})
    assert not partly.denied("allUsers", {"bigquery.tables.getData", "bigquery.tables.export"}, (PROJECT,))
    conditional = _denials({"deniedPrincipals": ["principalSet://goog/public:all"],
                            "deniedPermissions": ["storage.googleapis.com/objects.get"],
                            "denialCondition": {"title": "restricted", "expression": "resource.matchTag('a', 'b')"}})
    assert not conditional.denied("allUsers", {"storage.objects.get"}, (PROJECT,))
    excepted = _denials({"deniedPrincipals": ["principal://goog/subject/a@exemplum.fr"],
                         "deniedPermissions": ["storage.googleapis.com/objects.*"],
                         "exceptionPermissions": ["storage.googleapis.com/objects.get"]})
    assert not excepted.denied("user:a@exemplum.fr", {"storage.objects.get"}, (PROJECT,))
    assert not NoExport().may_hold("group:oncall@exemplum.fr", "allUsers")  # no group holds everyone
    # A project's viewers may be on call: the convenience member is not certainly denied.
    assert not everyone.denied("projectViewer:p", {"storage.objects.get"}, (PROJECT,))


def test_a_role_that_can_rewrite_access_must_be_denied_every_direct_read() -> None:
    roles = RoleBook({})
    assert roles.to_deny("roles/storage.objectViewer", "storage") == {"storage.objects.get"}
    # Owner can grant itself any read: denying objects.get is enough, however it is granted.
    assert roles.to_deny("roles/owner", "storage") == {"storage.objects.get"}
    owner_bq = roles.to_deny("roles/owner", "bigquery")
    assert owner_bq == {"bigquery.tables.getData", "bigquery.tables.export"}
    assert "iam.serviceAccountKeys.create" in roles.to_deny("roles/iam.serviceAccountKeyAdmin", None)
    assert roles.to_deny("roles/storage.objectCreator", "storage") == frozenset()
    assert set(PREDEFINED_ROLES) >= {"roles/owner", "roles/storage.objectViewer"}


def test_a_rule_of_another_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="another shape"):
        rules_from_api({"rules": [{"denyRule": {"deniedPrincipals": "principalSet://goog/public:all"}}]})
    with pytest.raises(ValueError, match="another shape"):
        rules_from_api({"rules": [{"allowRule": {}}]})
