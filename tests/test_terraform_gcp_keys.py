"""User-managed keys of Google service accounts in a Terraform plan (``google_service_account_key``),
read into the ``access_keys`` the gcp provider gives live service accounts, so PHI-AUTH-005 gates
the plan as it judges the estate.

The plans are written in the shape ``terraform show -json`` gives for the ``hashicorp/google``
provider 6.x (see :mod:`tests.test_terraform_gcp_stores`): a new key's ``name``,
``valid_after`` and ``valid_before`` are known only after apply; a key already in the state has
them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phigate.api import Unknown
from phigate.clock import report_time
from phigate_providers.gcp.keys import access_keys

from .conftest import CliResult
from .test_terraform_gcp_stores import PROJECT, block, collect, dataset, plan_file, ref
from .test_terraform_provider import outcomes

Cli = Callable[..., CliResult]
ETL = f"etl@{PROJECT}.iam.gserviceaccount.com"
AUDIT = f"audit@{PROJECT}.iam.gserviceaccount.com"
KEY_NAME = f"projects/{PROJECT}/serviceAccounts/{ETL}/keys/3f1a9c0d2b"


def readers(*emails: str) -> list[dict[str, Any]]:
    """A clinical dataset each service account may read."""
    clinical = dataset("clinical", "clinical_dw", labels={"data_class": "clinical"})
    grants = [block(f"google_bigquery_dataset_iam_member.{email.split('@')[0]}",
                    {"role": "roles/bigquery.dataViewer", "member": f"serviceAccount:{email}",
                     "dataset_id": "clinical_dw"}, {"etag": True}) for email in emails]
    return [clinical, *grants]


def new_key(name: str, account: Any) -> dict[str, Any]:
    """A key the apply creates, naming its account by a literal or a reference."""
    unknown = {"name": True, "valid_after": True, "valid_before": True, "private_key": True, "public_key": True}
    values: dict[str, Any] = {"key_algorithm": "KEY_ALG_RSA_2048", "private_key_type": "TYPE_GOOGLE_CREDENTIALS_FILE"}
    expressions: dict[str, Any] = {}
    if isinstance(account, dict):
        unknown["service_account_id"] = True
        expressions["service_account_id"] = account
    else:
        values["service_account_id"] = account
        expressions["service_account_id"] = {"constant_value": account}
    return block(f"google_service_account_key.{name}", values, unknown, expressions)


def kept_key(name: str, *, after: str, before: str) -> dict[str, Any]:
    """A key already in the state, unchanged by the plan."""
    values = {"service_account_id": f"projects/{PROJECT}/serviceAccounts/{ETL}", "name": KEY_NAME,
              "valid_after": after, "valid_before": before, "key_algorithm": "KEY_ALG_RSA_2048"}
    return block(f"google_service_account_key.{name}", values, actions=("no-op",))


def test_a_new_key_is_an_active_key_made_today_and_fails_the_gate(tmp_path: Path, cli: Cli) -> None:
    path = plan_file(tmp_path, *readers(ETL, AUDIT), new_key("etl", ETL))
    found, errors, _ = collect(path)
    assert not errors
    today = report_time().date().isoformat()
    assert found["etl"].attributes["access_keys"] == [{"active": True, "created": today, "age_days": 0}]
    # The plan manages no key of the other: none to show (keys made elsewhere are the audit's).
    assert found["audit"].attributes["access_keys"] == []
    result = cli("scan", str(path), "--only", "PHI-AUTH-005", "--format", "json", "--show-passed")
    judged = {(s, a) for s, p, a in outcomes(result) if p == "PHI-AUTH-005"}
    assert judged == {("fail", "etl"), ("pass", "audit")}
    assert result.code == 1


def test_a_key_in_the_state_is_listed_as_live_and_an_expired_one_is_inactive(tmp_path: Path, cli: Cli) -> None:
    now = report_time()
    past, future = (now - dt.timedelta(days=30)).isoformat(), (now + dt.timedelta(days=3650)).isoformat()
    for before, active in ((future, True), (past, False)):
        path = plan_file(tmp_path, *readers(ETL), kept_key("old", after="2024-01-02T08:00:00Z", before=before))
        found, _, _ = collect(path)
        live = access_keys([{"name": KEY_NAME, "validAfterTime": "2024-01-02T08:00:00Z", "validBeforeTime": before,
                             "keyType": "USER_MANAGED"}], now)
        assert found["etl"].attributes["access_keys"] == live
        assert live[0]["active"] is active and live[0]["id_hash"].startswith("sha256:")
        assert KEY_NAME not in str(found["etl"])  # a fingerprint, never the key's name
        result = cli("scan", str(path), "--only", "PHI-AUTH-005", "--format", "json", "--show-passed")
        assert ("fail" if active else "pass", "PHI-AUTH-005", "etl") in outcomes(result)


def test_a_key_of_a_planned_account_is_its_accounts_by_reference(tmp_path: Path) -> None:
    account = block("google_service_account.etl", {"account_id": "etl", "display_name": "ETL"},
                    {"email": True, "member": True, "name": True, "unique_id": True})
    found, _, provider = collect(plan_file(tmp_path, *readers(ETL), account,
                                           new_key("etl", ref("google_service_account.etl", "name"))))
    # Its email is known only after apply: its account_id at the provider's project.
    assert [k["active"] for k in found["etl"].attributes["access_keys"]] == [True]
    assert not [n for n in provider.notices() if "google_service_account_key" in n]  # read, not skipped


def test_a_key_whose_account_cannot_be_told_leaves_every_accounts_keys_unknown(tmp_path: Path, cli: Cli) -> None:
    path = plan_file(tmp_path, *readers(ETL, AUDIT), new_key("someone", "104857600123456789012"))
    found, _, _ = collect(path)
    for name in ("etl", "audit"):
        keys = found[name].attributes["access_keys"]
        assert isinstance(keys, Unknown) and "unique id" in keys.reason
    result = cli("scan", str(path), "--only", "PHI-AUTH-005", "--format", "json")
    assert {(s, a) for s, p, a in outcomes(result)} == {("error", "etl"), ("error", "audit")}


def hmac_key(name: str, email: str, *, state: str = "ACTIVE", created: str | None = None,
             access_id: str | None = None) -> dict[str, Any]:
    """A Cloud Storage HMAC key: made by the apply (``created`` None), or already in the state."""
    values: dict[str, Any] = {"service_account_email": email, "state": state, "project": PROJECT}
    if created is None:
        return block(f"google_storage_hmac_key.{name}", values,
                     {"access_id": True, "secret": True, "time_created": True, "updated": True, "id": True},
                     {"service_account_email": {"constant_value": email}})
    values.update(access_id=access_id, time_created=created, updated=created, id=f"{PROJECT}/{access_id}")
    return block(f"google_storage_hmac_key.{name}", values, actions=("no-op",))


def test_an_hmac_key_is_a_long_lived_key_of_its_service_account(tmp_path: Path, cli: Cli) -> None:
    """An HMAC key signs Cloud Storage requests as the account with a secret kept outside Google:
    a new one, or an active one in the state, fails the gate; an inactive one does not."""
    access = "GOOG1EPLANNEDACCESSID000000000000000000000000000000000000"
    path = plan_file(tmp_path, *readers(ETL, AUDIT), hmac_key("etl", ETL),
                     hmac_key("audit", AUDIT, state="INACTIVE", created="2024-01-02T08:00:00Z", access_id=access))
    found, errors, _ = collect(path)
    assert not errors
    today = report_time().date().isoformat()
    assert found["etl"].attributes["access_keys"] == [{"active": True, "created": today, "age_days": 0}]
    [kept] = found["audit"].attributes["access_keys"]
    assert kept["active"] is False and kept["created"] == "2024-01-02" and access not in str(kept)
    result = cli("scan", str(path), "--only", "PHI-AUTH-005", "--format", "json", "--show-passed")
    judged = {(s, a) for s, p, a in outcomes(result) if p == "PHI-AUTH-005"}
    assert judged == {("fail", "etl"), ("pass", "audit")}
