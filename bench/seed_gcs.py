#!/usr/bin/env python3
"""Seed a Cloud Storage emulator with a synthetic health-data supplier estate, and its truth.

Deterministic for a given --seed and --scale. Each bucket gets a data-class label (or none, or
an unknown value), a location in or out of the EEA, a default key (a class-dedicated CMEK, a
CMEK shared across classes, or none), uniform access, public access prevention, versioning,
retention, access logging, and an IAM policy drawn from a pool of members (service accounts
per workload, analysts, contractors, everyone), some bindings conditional. The truth lists,
for each policy of the health pack that reads buckets or their access, the ids expected to FAIL,
and those expected to be undecided (ERROR: who may read a bucket through object ACLs is never
read), worked out here from what was seeded and the policies' semantics, not from phigate.

  seed_gcs.py --endpoint http://127.0.0.1:9023 --scale 200 --seed 7 --truth truth.json

The emulator keeps bucket properties only when they are set after creation, so every bucket is
created, then patched. It ignores the project of a listing: seed one project per emulator.

Groups and the domain are bound without saying who is in them; the truth document carries a
directory export (``directory``, for ``--gcp-groups``) in which every group and the domain are
empty, and no user's address is in the domain; it lists the project's service accounts
(``service_accounts``, as ``serviceAccounts.list`` would), none of which anyone may act as:
memberships and impersonation add no access, so the failures are those of the bindings alone.
Without the export the scan reports the segmentation of users who may be in a group as
undecided, rightly.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests

#: Label values and the data class the pack's default classification gives them.
LABELS: dict[str | None, str] = {
    "clinical_notes": "clinical", "clinical": "clinical", "phi": "clinical", "health": "clinical",
    "administrative": "administrative", "pii": "administrative", "admin": "administrative",
    "public": "public", "scratch": "unclassified", None: "unclassified",
}
LABEL_WEIGHTS = {"clinical_notes": 5, "clinical": 3, "phi": 1, "health": 1, "administrative": 5, "pii": 2,
                 "admin": 1, "public": 2, "scratch": 1, None: 1}
#: Locations and whether PHI-RES-001 counts them inside the EEA (London, Zurich: outside).
LOCATIONS = {"EU": True, "EUR4": True, "EUROPE-WEST9": True, "EUROPE-WEST1": True, "EUROPE-NORTH1": True,
             "US": False, "EUROPE-WEST2": False, "EUROPE-WEST6": False, "US-CENTRAL1": False}
LOCATION_WEIGHTS = [8, 3, 8, 2, 1, 2, 1, 1, 1]
#: Whether a role lets its members read objects (or grant themselves that read).
ROLE_READS = {"roles/storage.objectViewer": True, "roles/storage.objectAdmin": True,
              "roles/storage.admin": True, "roles/storage.legacyObjectReader": True,
              "roles/storage.legacyBucketOwner": True, "roles/storage.objectCreator": False,
              "roles/storage.legacyBucketReader": False}
ADMIN_ROLES = {"roles/owner", "roles/editor", "roles/storage.admin"}
POLICIES = ("PHI-CLASS-001", "PHI-ENC-002", "PHI-IAM-001", "PHI-IAM-002", "PHI-IAM-003", "PHI-INT-001",
            "PHI-LOG-001", "PHI-RES-001", "PHI-SEG-001", "PHI-SEG-002")
DOMAIN = "mlm-sante.example"


def members(scale: int, project: str) -> dict[str, list[str]]:
    """Members by role in the estate: workloads reading one class, a few reading both."""
    workloads = max(2, scale // 15)
    return {
        "clinical": [f"serviceAccount:clinical-app-{i}@{project}.iam.gserviceaccount.com"
                     for i in range(workloads)],
        "administrative": [f"serviceAccount:billing-app-{i}@{project}.iam.gserviceaccount.com"
                           for i in range(workloads)],
        "any": [f"group:analysts-{i}@{DOMAIN}" for i in range(max(1, scale // 30))]
               + [f"user:contractor-{i}@supplier.example" for i in range(max(1, scale // 30))]
               + [f"domain:{DOMAIN}"],
        # An outsourced operator: its address is outside the domain, so it is not in domain:DOMAIN.
        "admins": [f"group:gcs-admins@{DOMAIN}", f"user:ops-{project}@infogerance.example"],
        "writers": [f"serviceAccount:ingest@{project}.iam.gserviceaccount.com"],
    }


def plan_bucket(i: int, seed: int, pool: dict[str, list[str]], keys: dict[str, list[str]],
                shared_key: str) -> dict[str, Any]:
    """Everything one bucket will be, decided before any request."""
    r = random.Random(seed * 100_003 + i)
    label = r.choices(list(LABEL_WEIGHTS), weights=list(LABEL_WEIGHTS.values()))[0]
    data_class = LABELS[label]
    name = f"mlm-{seed}-{i:05d}-{(label or 'misc').replace('_', '-')}"
    key_mode = r.choices(["own", "shared", "google"], weights=[6, 1, 3])[0]
    key = {"own": r.choice(keys[data_class]), "shared": shared_key, "google": None}[key_mode]
    retention = r.random() < 0.3
    plan: dict[str, Any] = {
        "name": name, "label": label, "data_class": data_class,
        "location": r.choices(list(LOCATIONS), weights=LOCATION_WEIGHTS)[0],
        "key": key, "uniform": r.random() < 0.8, "pap": r.random() < 0.8,
        "versioning": r.random() < 0.5, "retention_days": r.choice([30, 365, 3650]) if retention else 0,
        "locked": retention and r.random() < 0.3, "logging": r.random() < 0.6,
    }
    plan["bindings"] = _bindings(r, data_class, pool)
    return plan


def _bindings(r: random.Random, data_class: str, pool: dict[str, list[str]]) -> list[dict[str, Any]]:
    bindings: list[dict[str, Any]] = []
    readers = pool["clinical"] if data_class == "clinical" else pool["administrative"]
    chosen = {r.choice(readers)}
    if r.random() < 0.3:
        chosen.add(r.choice(pool["any"]))
    bindings.append({"role": r.choice(["roles/storage.objectViewer", "roles/storage.legacyObjectReader"]),
                     "members": sorted(chosen)})
    bindings.append({"role": "roles/storage.objectCreator", "members": pool["writers"]})
    if r.random() < 0.15:
        bindings.append({"role": "roles/storage.admin", "members": [r.choice(pool["admins"])]})
    if r.random() < 0.15:
        bindings.append({"role": "roles/storage.objectViewer", "members": [r.choice(pool["any"])],
                         "condition": {"title": "office-hours",
                                       "expression": "request.time.getHours('Europe/Paris') < 19"}})
    if r.random() < 0.08:
        bindings.append({"role": "roles/storage.objectViewer",
                         "members": [r.choice(["allUsers", "allAuthenticatedUsers"])]})
    if r.random() < 0.1:
        bindings.append({"role": "roles/storage.legacyBucketReader", "members": [r.choice(pool["any"])]})
    return bindings


def _public(plan: dict[str, Any]) -> bool:
    members_of = {m for b in plan["bindings"] for m in b["members"]}
    return not plan["pap"] or bool({"allUsers", "allAuthenticatedUsers"} & members_of)


def _clinical(plan: dict[str, Any]) -> bool:
    return bool(plan["data_class"] == "clinical")


#: Per bucket: does it fail the policy? (PHI-IAM-001 judges the bucket's IAM policy.)
BUCKET_RULES: dict[str, Any] = {
    "PHI-CLASS-001": lambda p: p["data_class"] == "unclassified",
    "PHI-ENC-002": lambda p: _clinical(p) and not p["key"],
    "PHI-IAM-001": lambda p: _clinical(p) and any(b["role"] in ADMIN_ROLES and b["members"]
                                                  for b in p["bindings"]),
    "PHI-IAM-002": _public,
    "PHI-IAM-003": lambda p: not p["uniform"],
    "PHI-INT-001": lambda p: _clinical(p) and not p["versioning"] and not p["retention_days"],
    # Data Access audit logs are not seeded: access logging alone decides.
    "PHI-LOG-001": lambda p: _clinical(p) and not p["logging"],
    "PHI-RES-001": lambda p: (p["data_class"] in ("clinical", "administrative")
                              and not LOCATIONS[p["location"]]),
}


def truth(plans: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Failing ids per policy, from the policies' where/assert applied to what was seeded."""
    fails: dict[str, list[str]] = {p: [] for p in POLICIES}
    for plan in plans:
        bucket = f"gs://{plan['name']}"
        for policy, failing in BUCKET_RULES.items():
            if failing(plan):
                fails[policy].append(f"{bucket}/iam-policy" if policy == "PHI-IAM-001" else bucket)
    # PHI-SEG-001: a clinical bucket's key also encrypts a bucket of another class.
    key_classes: dict[str, set[str]] = defaultdict(set)
    for plan in plans:
        if plan["key"]:
            key_classes[plan["key"]].add(plan["data_class"])
    fails["PHI-SEG-001"] = [f"gs://{p['name']}" for p in plans
                            if _clinical(p) and p["key"] and key_classes[p["key"]] - {"clinical"}]
    # PHI-SEG-002: a member reads (even conditionally) a clinical and an administrative bucket.
    reads: dict[str, set[str]] = defaultdict(set)
    for plan in plans:
        for binding in plan["bindings"]:
            if ROLE_READS[binding["role"]]:
                for member in binding["members"]:
                    reads[member].add(plan["data_class"])
    fails["PHI-SEG-002"] = [m for m, classes in reads.items() if {"clinical", "administrative"} <= classes]
    return {policy: sorted(ids) for policy, ids in fails.items()}


def undecided(plans: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Ids per policy that can be neither passed nor failed: buckets without uniform access let
    their objects' ACLs, which a scan does not read, grant anyone read (the public too unless
    public access prevention is enforced). A member that may so read clinical data it does not
    otherwise read, or administrative data beside clinical data it reads, is marked (``marked``:
    its reach is not all seen); it is undecided for segmentation (PHI-SEG-002) where it may read
    both classes, unless its bindings already fail it, and for clinical data reached beyond its
    bucket grants (PHI-IAM-004, none of which is seeded) only where the bucket it may so read is
    clinical: an administrative bucket's object ACLs cannot give it clinical data."""
    reads: dict[str, set[str]] = {m: set() for p in plans for b in p["bindings"] for m in b["members"]}
    for plan in plans:
        for binding in plan["bindings"]:
            if ROLE_READS[binding["role"]]:
                for member in binding["members"]:
                    reads[member].add(plan["data_class"])
    failing = set(truth(plans)["PHI-SEG-002"])
    found, clinical, both = [], [], []
    for member, classes in reads.items():
        public = member in ("allUsers", "allAuthenticatedUsers")
        fine_grained = {p["data_class"] for p in plans if not p["uniform"] and not (public and p["pap"])}
        may_clinical = "clinical" in fine_grained - classes
        may_administrative = "administrative" in fine_grained - classes and "clinical" in classes
        if may_clinical:
            clinical.append(member)
        if may_clinical or may_administrative:
            found.append(member)
        # Segmentation needs both classes: one it may only gain, beside what it reads, is not enough.
        if ((may_clinical or "clinical" in classes) and (may_administrative or "administrative" in classes)
                and member not in failing):
            both.append(member)
    return {"PHI-IAM-004": sorted(clinical), "PHI-SEG-002": sorted(both), "marked": sorted(found)}


def seed(endpoint: str, scale: int, seed_value: int, project: str) -> dict[str, Any]:
    """Create the estate on the emulator at ``endpoint``; return the truth document."""
    kms = f"projects/{project}-kms/locations/europe-west9/keyRings/ring-{seed_value}/cryptoKeys"
    per_class = max(1, scale // 40)
    keys = {c: [f"{kms}/{c}-{j}" for j in range(per_class)] for c in sorted(set(LABELS.values()))}
    shared_key = f"{kms}/shared-0"
    pool = members(scale, project)
    plans = [plan_bucket(i, seed_value, pool, keys, shared_key) for i in range(scale)]
    with requests.Session() as session:
        for plan in plans:
            _create(session, endpoint.rstrip("/") + "/storage/v1", project, plan)
    used_keys = sorted({p["key"] for p in plans if p["key"]})
    bound = {m for listed in pool.values() for m in listed}
    containers = sorted(m for m in bound if m.startswith(("group:", "domain:")))
    return {"seed": seed_value, "scale": scale, "project": project,
            "directory": {container: [] for container in containers},
            "service_accounts": sorted(m.removeprefix("serviceAccount:") for m in bound
                                       if m.startswith("serviceAccount:")),
            "counts": {"buckets": len(plans), "keys": len(used_keys),
                       "members": len({m for p in plans for b in p["bindings"] for m in b["members"]})},
            "keys": used_keys, "expected_failures": truth(plans), **_undecided_and_marked(plans)}


def _undecided_and_marked(plans: list[dict[str, Any]]) -> dict[str, Any]:
    found = undecided(plans)
    marked = found.pop("marked")
    return {"expected_errors": found, "marked": marked}


def _create(session: requests.Session, api: str, project: str, plan: dict[str, Any]) -> None:
    """Create, then patch (the emulator drops properties given at creation), then set IAM."""
    name = plan["name"]
    labels = {"owner": "mlm", **({"data_class": plan["label"]} if plan["label"] else {})}
    properties: dict[str, Any] = {
        "location": plan["location"], "labels": labels,
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": plan["uniform"]},
                             "publicAccessPrevention": "enforced" if plan["pap"] else "inherited"},
        "versioning": {"enabled": plan["versioning"]},
    }
    if plan["key"]:
        properties["encryption"] = {"defaultKmsKeyName": plan["key"]}
    if plan["retention_days"]:
        properties["retentionPolicy"] = {"retentionPeriod": str(plan["retention_days"] * 86_400),
                                         "isLocked": plan["locked"]}
    if plan["logging"]:
        properties["logging"] = {"logBucket": f"{name}-logs", "logObjectPrefix": "access/"}
    for method, url, body in (
        ("POST", f"{api}/b?project={project}", {"name": name}),
        ("PATCH", f"{api}/b/{name}", properties),
        ("PUT", f"{api}/b/{name}/iam", {"version": 3, "bindings": plan["bindings"]}),
    ):
        session.request(method, url, json=body, timeout=30).raise_for_status()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:9023", help="the emulator's URL")
    parser.add_argument("--scale", type=int, default=100, help="number of buckets")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--project", default="mlm-sante-prod")
    parser.add_argument("--truth", type=Path, default=Path("truth.json"))
    args = parser.parse_args(argv)
    document = seed(args.endpoint, args.scale, args.seed, args.project)
    args.truth.write_text(json.dumps(document, indent=1) + "\n")
    print(json.dumps({policy: len(ids) for policy, ids in document["expected_failures"].items()}))


if __name__ == "__main__":
    main()
