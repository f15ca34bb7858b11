"""Engine benchmark: the bundled pack on a generated JSON Lines snapshot, beside two yardsticks.

* engine: ``SnapshotProvider.collect()`` streamed into ``Evaluator.run`` with the bundled pack,
  the path ``phigate scan`` takes. An *evaluation* is one outcome: one policy decided on one
  resource, ``skip`` included.
* floor: a hand-written single-purpose loop (``orjson.loads`` per line, the parser the engine
  uses, and dict access) deciding the same rules; the speed a general engine should stay close to.
* rego: the same rules in OPA's Rego (``bench/rego/phibench.rego``) run by ``regopy`` on a smaller
  estate, for reference.

Every measurement runs in a fresh subprocess and reads its own peak (``VmHWM``, which starts
afresh at exec, unlike ``ru_maxrss``). CPU seconds are the figure to compare (the machine is
shared); wall is shown too.

usage: python bench/engine.py [--resources 1000000] [--rego-resources 100000] [--seed 7]
                              [--skip-rego] [--json]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from _measure import peak_mb

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
REGO_MODULE = ROOT / "bench" / "rego" / "phibench.rego"
for _src in ("checker", "providers"):
    if str(ROOT / _src) not in sys.path:
        sys.path.insert(0, str(ROOT / _src))

PASS, FAIL, ERROR, SKIP = "pass", "fail", "error", "skip"
#: Policies to evaluate: the bundled pack unless ``--pack`` names another folder.
PACK: Path | None = None

# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------

#: Share of each kind in the estate (accounts and region settings are added per scope).
KIND_WEIGHTS = {"object_store": 300, "table": 150, "volume": 140, "database": 50, "key": 50,
                "principal": 150, "access_policy": 140, "db_schema": 15, "db_server": 5}
STORES = ("object_store", "table", "volume", "database")
#: Tag values as suppliers write them; the classifier maps them (``none``: no tag at all).
CLASS_TAGS = (("clinical", 25), ("clinical_notes", 5), ("admin", 12), ("pii", 8),
              ("public", 10), ("none", 40))
REGIONS = (("eu-west-3", 50), ("eu-central-1", 28), ("eu-west-2", 2), ("us-east-1", 15),
           ("ap-southeast-2", 5))
SCOPE_SIZE = 20_000  # resources per account: one account record and its region settings each


def ident(kind: str, n: int) -> tuple[str, str]:
    """(id, type) of the n-th resource of a kind. The type follows from n, so a reference made
    by number alone names the right id (every 7th bucket is on GCS, every other table and
    every 10th principal in PostgreSQL)."""
    if kind == "object_store":
        return ((f"gs://phi-bkt-{n:07d}", "gcp.storage.bucket") if n % 7 == 0
                else (f"arn:aws:s3:::phi-bkt-{n:07d}", "aws.s3.bucket"))
    if kind == "table":
        return ((f"postgres://db1/ehr/public/t{n:07d}", "postgres.table") if n % 2
                else (f"arn:aws:dynamodb:eu-west-3:111111111111:table/t{n:07d}", "aws.dynamodb.table"))
    if kind == "principal":
        return ((f"postgres://db1/role/r{n:07d}", "postgres.role") if n % 10 == 0
                else (f"arn:aws:iam::111111111111:role/r{n:07d}", "aws.iam.role"))
    return {"volume": (f"arn:aws:ec2:eu-west-3:111111111111:volume/vol-{n:07d}", "aws.ec2.volume"),
            "database": (f"arn:aws:rds:eu-west-3:111111111111:db:db{n:07d}", "aws.rds.instance"),
            "key": (f"arn:aws:kms:eu-west-3:111111111111:key/k{n:07d}", "aws.kms.key"),
            "access_policy": (f"arn:aws:iam::111111111111:policy/p{n:07d}", "aws.iam.policy"),
            "db_schema": (f"postgres://db1/ehr/s{n:05d}", "postgres.schema"),
            "db_server": (f"postgres://srv{n:05d}", "postgres.server")}[kind]


class Generator:
    """A deterministic estate: the same seed and size give the same bytes."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.rng = n, random.Random(seed)
        total = sum(KIND_WEIGHTS.values())
        #: How many of each kind to expect; references point below these, so a few dangle
        #: (a reference to a resource not in the inventory must give ``error``, not ``pass``).
        self.expected = {k: max(1, n * w // total) for k, w in KIND_WEIGHTS.items()}
        self.counters: Counter[str] = Counter()
        self._kinds, self._kind_w = zip(*KIND_WEIGHTS.items(), strict=True)
        self._tags, self._tag_w = zip(*CLASS_TAGS, strict=True)
        self._regions, self._region_w = zip(*REGIONS, strict=True)

    def p(self, probability: float) -> bool:
        return self.rng.random() < probability

    def ref(self, kind: str) -> str:
        return ident(kind, self.rng.randrange(self.expected[kind]))[0]

    def records(self) -> Iterator[dict[str, Any]]:
        """Resources in the shape of ``resource_to_json`` (data_class left to the classifier)."""
        choices = self.rng.choices
        for i in range(self.n):
            scope = f"{100000000000 + i // SCOPE_SIZE}"
            if i % SCOPE_SIZE == 0:
                yield self._account(scope)
                for region, _ in REGIONS:
                    yield self._region_settings(scope, region)
            kind = choices(self._kinds, self._kind_w)[0]
            number = self.counters[kind]
            self.counters[kind] += 1
            rid, rtype = ident(kind, number)
            tag = choices(self._tags, self._tag_w)[0]
            raw: dict[str, Any] = {"created": f"2024-{1 + i % 12:02d}-01T00:00:00Z"}
            if rtype == "postgres.role":  # one in 50 may run programs as the server
                raw["server_access_roles"] = [] if number % 50 else ["pg_execute_server_program"]
            yield {"id": rid, "type": rtype, "kind": kind, "provider": rtype.split(".")[0],
                   "scope": scope, "region": choices(self._regions, self._region_w)[0],
                   "name": rid.rsplit("/", 1)[-1].rsplit(":", 1)[-1],
                   "tags": {} if tag == "none" else {"data_class": tag, "owner": "team-a"},
                   "data_class": None, "attributes": getattr(self, "_" + kind)(rtype),
                   "raw": raw}

    def _drop(self, attributes: dict[str, Any], keep: tuple[str, ...] = ("encryption",),
              probability: float = 0.03) -> dict[str, Any]:
        """Leave one attribute out now and then: the provider could not read it. Attributes
        that feed derived lists (``encryption.key`` → ``key.encrypts``, ``schema`` →
        ``db_schema.tables``) are kept: one unread source makes the engine refuse the whole
        list, which would turn those rules into all-error."""
        if attributes and self.p(probability):
            names = sorted(set(attributes) - set(keep))
            if names:
                del attributes[self.rng.choice(names)]
        return attributes

    def _encryption(self) -> dict[str, Any]:
        if not self.p(0.9):
            return {"at_rest": False, "algorithm": None, "key": None, "key_manager": None}
        if self.p(0.6):
            return self._drop({"at_rest": True, "algorithm": "aws:kms", "key": self.ref("key"),
                               "key_manager": "customer"}, ("key",), 0.02)
        return {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}

    def _public_access(self) -> dict[str, Any]:
        return {"blocked": self.p(0.9), "grants": ["*"] if self.p(0.03) else []}

    def _object_store(self, rtype: str) -> dict[str, Any]:
        return self._drop({
            "encryption": self._encryption(), "public_access": self._public_access(),
            "acls_disabled": self.p(0.85), "secure_transport_required": self.p(0.7),
            "versioning": self.p(0.75),
            "logging": {"access_logs": self.p(0.6), "data_events": self.p(0.4)},
            "retention": {"enabled": self.p(0.1), "locked": False, "days": None},
            "soft_delete_days": 7 if rtype.startswith("gcp") else None})

    def _table(self, rtype: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {"encryption": self._encryption(),
                                      "public_access": self._public_access(), "schema": None}
        if rtype == "postgres.table":
            attributes |= {"database": "ehr", "schema": self.ref("db_schema"), "owner": "app",
                           "row_security": {"enabled": self.p(0.6), "forced": self.p(0.4)},
                           "grants": [{"grantee": "PUBLIC" if self.p(0.03) else "app_ro",
                                       "privileges": ["SELECT"]}]}
        return self._drop(attributes, ("encryption", "schema"))

    def _volume(self, rtype: str) -> dict[str, Any]:
        # A volume is never public (it attaches within its account), as the providers say.
        return self._drop({"encryption": self._encryption(), "size_gb": 100,
                           "attached_to": [f"i-{self.rng.randrange(10**6):07d}"],
                           "public_access": {"blocked": True, "grants": []}})

    def _database(self, rtype: str) -> dict[str, Any]:
        return self._drop({"engine": "postgres", "encryption": self._encryption(),
                           "public_access": self._public_access(),
                           "deletion_protection": self.p(0.8), "backup_retention_days": 7})

    def _key(self, rtype: str) -> dict[str, Any]:
        symmetric = self.p(0.9)
        return self._drop({"manager": "customer" if self.p(0.85) else "provider",
                           "state": "Enabled" if self.p(0.95) else "Disabled",
                           "spec": "SYMMETRIC_DEFAULT" if symmetric else "RSA_2048",
                           "symmetric": symmetric, "rotation_enabled": self.p(0.8),
                           "aliases": []})

    def _principal(self, rtype: str) -> dict[str, Any]:
        can_read = [self.ref(self.rng.choice(STORES)) for _ in range(self.rng.randrange(6))]
        third_party = rtype != "postgres.role" and self.p(0.1)
        return self._drop({
            "principal_type": "db_role" if rtype == "postgres.role" else "role",
            "login": True, "superuser": rtype == "postgres.role" and self.p(0.05),
            "bypass_rls": rtype == "postgres.role" and self.p(0.02), "member_of": [],
            "can_read": can_read, "can_read_via_wildcard": can_read[:1] if self.p(0.1) else [],
            "third_party": third_party,
            "trusted_accounts": ["999999999999"] if third_party else [],
            "external_id_required": self.p(0.7) if third_party else None}, ())

    def _access_policy(self, rtype: str) -> dict[str, Any]:
        if self.p(0.1):  # a GCS bucket's IAM policy: role bindings on one store
            role = "roles/storage.admin" if self.p(0.2) else "roles/storage.objectViewer"
            return self._drop({"attached_to": [], "target": self.ref("object_store"),
                               "statements": [{"effect": "Allow", "actions": [role]}],
                               "bindings": [{"role": role, "members": ["group:ops@example.org"]}],
                               "full_admin": False}, ())
        admin = self.p(0.03)
        statement = ({"effect": "Allow", "actions": ["*"], "resources": ["*"]} if admin else
                     {"effect": "Allow", "actions": ["s3:GetObject"],
                      "resources": [self.ref("object_store")]})
        return self._drop({"attached_to": [self.ref("principal")], "statements": [statement],
                           "full_admin": admin, "target": None}, ())

    def _db_schema(self, rtype: str) -> dict[str, Any]:
        return {"database": "ehr", "owner": "app"}

    def _db_server(self, rtype: str) -> dict[str, Any]:
        return self._drop({"version": "16.4", "ssl": self.p(0.9), "log_connections": self.p(0.7),
                           "secure_transport_required": self.p(0.8),
                           "logging": {"access_logs": self.p(0.7), "data_events": False}}, ())

    def _account(self, scope: str) -> dict[str, Any]:
        return {"id": f"aws:account:{scope}", "type": "aws.account", "kind": "account",
                "provider": "aws", "scope": scope, "region": None, "name": scope, "tags": {},
                "data_class": None, "attributes": {
                    "audit_trail": {"multi_region": self.p(0.85), "trails": ["main"]},
                    "logging": {"access_logs": self.p(0.85), "data_events": self.p(0.5)}},
                "raw": {}}

    def _region_settings(self, scope: str, region: str) -> dict[str, Any]:
        return {"id": f"aws:region_settings:{scope}:{region}", "type": "aws.ec2.region_settings",
                "kind": "region_settings", "provider": "aws", "scope": scope, "region": region,
                "name": None, "tags": {}, "data_class": None,
                "attributes": {"ebs_encryption_by_default": self.p(0.8)}, "raw": {}}


def write_snapshot(n: int, seed: int, path: Path) -> Path:
    """Write (once per size and seed) the JSON Lines snapshot, through phigate's own writer."""
    from phigate.api import Scope
    from phigate.snapshot import resource_from_json, write_jsonl

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    records = (resource_from_json(r) for r in Generator(n, seed).records())
    with partial.open("w", encoding="utf-8") as out:
        write_jsonl(records, [Scope("bench", f"seed-{seed}")], out)
    partial.rename(path)
    return path


# --------------------------------------------------------------------------------------------
# Measurements (each in its own subprocess)
# --------------------------------------------------------------------------------------------

def _usage(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    figures = work()
    figures["wall_s"] = time.perf_counter() - w0
    figures["cpu_s"] = time.process_time() - c0
    # Linux reports kilobytes. The peak covers the whole subprocess: interpreter, imports, work.
    figures["peak_rss_mb"] = peak_mb()
    return figures


def _ensure_pack_importable() -> None:
    """``bundled_pack()`` reads the installed ``phigate_policies``; from a checkout (only
    ``checker`` and ``providers`` on the path) map it to ``policies/`` as the wheel does."""
    try:
        import phigate_policies  # noqa: F401
    except ModuleNotFoundError:
        spec = importlib.util.spec_from_file_location(
            "phigate_policies", ROOT / "policies" / "__init__.py",
            submodule_search_locations=[str(ROOT / "policies")])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["phigate_policies"] = module
        spec.loader.exec_module(module)


def load_pack(only: set[str] | None = None) -> list[Any]:
    from phigate.load import bundled_pack, load_policies

    _ensure_pack_importable()
    policies = load_policies([PACK or bundled_pack()])
    return [p for p in policies if only is None or p.id in only]


def measure_engine(snapshot: Path, only: set[str] | None) -> dict[str, Any]:
    from phigate.evaluate import Evaluator, InventoryIndex
    from phigate.model import Status
    from phigate_providers.snapshot import SnapshotProvider

    c0 = time.process_time()
    policies = load_pack(only)
    load_cpu = time.process_time() - c0

    def work() -> dict[str, Any]:
        # The path `phigate scan` takes: every decision tallied per policy, and only failures
        # and errors handed back as outcomes (those are what reports explain).
        evaluator = Evaluator(policies)
        index = InventoryIndex(evaluator.policies)
        emit = frozenset({Status.FAIL, Status.ERROR})
        records = SnapshotProvider([snapshot]).collect()
        handed_back = sum(1 for _ in evaluator.run(records, index, emit))
        counts = Counter({(pid, status.value): n for pid, by_status in evaluator.tallies().items()
                          for status, n in by_status.items() if n})
        return {"counts": _nest(counts), "handed_back": handed_back}

    figures = _usage(work)
    figures["policy_load_cpu_s"] = load_cpu
    figures["policies"] = sorted(p.id for p in policies)
    return figures


def measure_evaluate(snapshot: Path) -> dict[str, Any]:
    """Evaluation alone: the same resources, read beforehand (not timed), then decided.

    In a streamed scan reading and deciding interleave, and timing one inside the other
    costs as much as what is timed; so the decisions are timed here on their own.
    """
    from phigate.evaluate import Evaluator, InventoryIndex
    from phigate.model import Status
    from phigate_providers.snapshot import SnapshotProvider

    policies = load_pack(None)
    records = list(SnapshotProvider([snapshot]).collect())
    gc.collect()
    gc.freeze()  # the pre-read estate is not the engine's to rescan

    def once() -> dict[str, Any]:
        evaluator = Evaluator(policies)
        index = InventoryIndex(evaluator.policies)
        emit = frozenset({Status.FAIL, Status.ERROR})
        sum(1 for _ in evaluator.run(records, index, emit))
        return {"evaluations": sum(sum(s.values()) for s in evaluator.tallies().values())}

    # Best of three, as timeit reports: on a shared machine, noise only ever adds time.
    runs = [_usage(once) for _ in range(3)]
    best = min(runs, key=lambda run: run["cpu_s"])
    best["runs_cpu_s"] = [run["cpu_s"] for run in runs]
    return best


def measure_read(snapshot: Path) -> dict[str, Any]:
    """The provider alone: read, parse, validate and build every resource, decide nothing."""
    from phigate_providers.snapshot import SnapshotProvider

    def work() -> dict[str, Any]:
        count = 0
        for _ in SnapshotProvider([snapshot]).collect():
            count += 1
        return {"resources": count}
    return _usage(work)


def measure_floor(snapshot: Path, only: set[str] | None, parse_only: bool) -> dict[str, Any]:
    return _usage(lambda: ({"resources": floor_parse(snapshot)} if parse_only
                           else {"counts": floor_decide(snapshot, only)}))


def measure_rego(snapshot: Path, rules: set[str]) -> dict[str, Any]:
    from regopy import Interpreter

    def work() -> dict[str, Any]:
        c0 = time.process_time()
        with snapshot.open(encoding="utf-8") as stream:
            next(stream)  # header
            text = "[" + ",".join(line.rstrip("\n") for line in stream) + "]"
        rego = Interpreter()
        rego.add_module("phibench", REGO_MODULE.read_text(encoding="utf-8"))
        rego.set_input_term(text)
        setup = time.process_time() - c0
        c1 = time.process_time()
        fails = {}
        for rule in sorted(rules):
            # Query each rule's set by name: asking for `fail` would compute every rule.
            out = rego.query(f"x := data.phibench.{rule[4:].lower().replace('-', '_')}")
            fails[rule] = json.loads(str(out))["bindings"]["x"] if out else []
        return {"setup_cpu_s": setup, "query_cpu_s": time.process_time() - c1,
                "fail": {rule: len(ids) for rule, ids in fails.items()}}
    return _usage(work)


def _nest(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    nested: dict[str, dict[str, int]] = {}
    for (policy_id, status), n in sorted(counts.items()):
        nested.setdefault(policy_id, {})[status] = n
    return nested


# --------------------------------------------------------------------------------------------
# Floor: the same rules, hand-written for this data
# --------------------------------------------------------------------------------------------
# Each rule mirrors its YAML policy in policies/health, three-valued answers included (True,
# False, None = undecided), so that floor and engine must agree outcome for outcome: that
# agreement is what makes the speed ratio meaningful. Parameters are their defaults.

_M: Any = object()  # an attribute left out of the record (not seen), unlike a present null
Tri = bool | None
Rule = Callable[[dict[str, Any], dict[str, Any], str], Tri]
CLASSES = {"clinical": "clinical", "clinical_notes": "clinical", "phi": "clinical",
           "health": "clinical", "administrative": "administrative", "admin": "administrative",
           "pii": "administrative", "public": "public"}
EEA = frozenset({"eu-west-1", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1",
                 "eu-south-2", "EU", "EUR4", "eu", "eur4"})  # the AWS part of PHI-RES-001's list
ADMIN_ROLES = frozenset({"roles/owner", "roles/editor", "roles/storage.admin"})
POSTGRES = re.compile("^postgres(ql)?://")


def _at(attributes: dict[str, Any], outer: str, inner: str) -> Any:
    """``outer.inner``: null under null, not seen under anything else that is not a mapping."""
    value = attributes.get(outer, _M)
    if type(value) is dict:
        return value.get(inner, _M)
    return None if value is None else _M


def _eq(value: Any, expected: Any) -> Tri:
    if value is _M:
        return None
    return value is expected if type(expected) is bool else value == expected


def _all(*parts: Tri) -> Tri:
    return False if False in parts else None if None in parts else True


def _any(*parts: Tri) -> Tri:
    return True if True in parts else None if None in parts else False


def _not(part: Tri) -> Tri:
    return None if part is None else not part


def _some(items: Any, test: Callable[[Any], Tri]) -> Tri:
    if type(items) is not list:
        return None
    unseen = False
    for item in items:
        found = test(item)
        if found is True:
            return True
        unseen = unseen or found is None
    return None if unseen else False


def _len0(value: Any) -> Tri:
    return None if type(value) is not list else len(value) == 0


def _region_in_eea(region: Any) -> Tri:
    # not all(starts_with "", not_in EEA): a null region cannot be judged by starts_with.
    return None if type(region) is not str else region in EEA


#: The databases PHI-TLS-001 judges (those taking clients' connections themselves).
TLS_DATABASES = frozenset({"aws.rds.db_instance", "aws.rds.db_cluster", "aws.redshift.cluster",
                           "aws.opensearch.domain", "aws.elasticache.replication_group"})
#: rule id → (kinds, where, assert) for the rules decided on the resource in hand.
STREAMING: dict[str, tuple[tuple[str, ...], Rule | None, Rule]] = {
    "PHI-CLASS-001": (STORES, None, lambda d, a, dc: dc != "unclassified"),
    "PHI-ENC-001": (STORES, None, lambda d, a, dc: _eq(_at(a, "encryption", "at_rest"), True)),
    "PHI-ENC-002": (STORES, lambda d, a, dc: dc == "clinical",
                    lambda d, a, dc: _all(_eq(_at(a, "encryption", "at_rest"), True),
                                          _eq(_at(a, "encryption", "key_manager"), "customer"))),
    "PHI-ENC-003": (("key",),
                    lambda d, a, dc: _all(_eq(a.get("manager", _M), "customer"),
                                          _eq(a.get("symmetric", _M), True),
                                          _eq(a.get("state", _M), "Enabled")),
                    lambda d, a, dc: _eq(a.get("rotation_enabled", _M), True)),
    "PHI-ENC-004": (("region_settings",), None,
                    lambda d, a, dc: _eq(a.get("ebs_encryption_by_default", _M), True)),
    "PHI-IAM-002": (("object_store", "database", "table", "volume"), None,
                    lambda d, a, dc: _all(_eq(_at(a, "public_access", "blocked"), True),
                                          _len0(_at(a, "public_access", "grants")))),
    "PHI-IAM-003": (("object_store",), None, lambda d, a, dc: _eq(a.get("acls_disabled", _M), True)),
    "PHI-IAM-006": (("principal",),
                    lambda d, a, dc: _all(POSTGRES.search(d["id"]) is not None,
                                          _eq(a.get("login", _M), True), d["name"] != "postgres"),
                    lambda d, a, dc: _all(_eq(a.get("superuser", _M), False),
                                          _eq(a.get("bypass_rls", _M), False),
                                          _len0(d["raw"].get("server_access_roles", _M)))),
    "PHI-IAM-007": (("table",),
                    lambda d, a, dc: POSTGRES.search(d["id"]) is not None and dc == "clinical",
                    lambda d, a, dc: _all(_eq(_at(a, "row_security", "enabled"), True),
                                          _eq(_at(a, "row_security", "forced"), True))),
    "PHI-INT-001": (("object_store",), lambda d, a, dc: dc == "clinical",
                    lambda d, a, dc: _any(_eq(a.get("versioning", _M), True),
                                          _eq(_at(a, "retention", "enabled"), True))),
    "PHI-LOG-001": (("account", "object_store", "db_server"),
                    lambda d, a, dc: d["kind"] != "object_store" or dc == "clinical",
                    lambda d, a, dc: _any(_eq(_at(a, "logging", "access_logs"), True),
                                          _all(d["kind"] == "object_store",
                                               _eq(_at(a, "logging", "data_events"), True)))),
    "PHI-RES-001": (STORES, lambda d, a, dc: dc in ("clinical", "administrative"),
                    lambda d, a, dc: _region_in_eea(d["region"])),
    "PHI-TLS-001": (("object_store", "db_server", "database"),
                    lambda d, a, dc: d["kind"] == "db_server" or (dc == "clinical" and (
                        d["kind"] == "object_store" or d["type"] in TLS_DATABASES)),
                    lambda d, a, dc: _eq(a.get("secure_transport_required", _M), True)),
}
#: Rules that follow references or derived lists: decided after the stream from dict indexes.
DEFERRED = ("PHI-IAM-001", "PHI-IAM-004", "PHI-IAM-005", "PHI-SEG-001", "PHI-SEG-002",
            "PHI-SEG-003")
FLOOR_RULES = frozenset(STREAMING) | frozenset(DEFERRED)
END_OPENING = b'{"phigate_snapshot_end'  # the JSON Lines end record: its count, no resource


def floor_parse(snapshot: Path) -> int:
    """What the floor pays before deciding anything: read and parse every line."""
    loads, count = orjson.loads, 0
    with snapshot.open("rb") as stream:
        for line in _record_lines(stream):
            loads(line)
            count += 1
    return count


def _record_lines(stream: Any) -> Any:
    """The record lines of a JSON Lines snapshot: not the header, not the end line."""
    next(stream)
    for line in stream:
        if line.startswith(END_OPENING):
            return
        yield line


class _Seen:
    """What the deferred rules need from the whole inventory, as plain dicts and lists."""

    def __init__(self) -> None:
        self.store_class: dict[str, str] = {}  # store id → data class
        self.key_ids: set[str] = set()
        self.key_users: dict[str, list[str]] = {}  # key id → stores it encrypts
        self.key_unseen = False  # some store's encryption was not read: encrypts is unknown
        self.clinical_keys: list[Any] = []  # encryption.key of each clinical store
        self.principals: list[tuple[str, Any, dict[str, Any]]] = []  # (id, name, attributes)
        self.policies: list[dict[str, Any]] = []  # access_policy attributes
        self.schema_ids: list[str] = []
        self.schema_tables: dict[str, list[str]] = {}  # schema id → its tables' data classes
        self.schema_unseen = False


def floor_decide(snapshot: Path, only: set[str] | None) -> dict[str, dict[str, int]]:  # noqa: PLR0912
    # One flat loop on purpose: the floor is what plain, single-purpose code costs.
    wanted = FLOOR_RULES if only is None else FLOOR_RULES & only
    tally = {rule: [0, 0, 0, 0] for rule in sorted(wanted)}  # pass, fail, error, skip
    by_kind: dict[str, list[tuple[list[int], Rule | None, Rule]]] = {}
    for rule, (kinds, where, check) in STREAMING.items():
        if rule in wanted:
            for kind in kinds:
                by_kind.setdefault(kind, []).append((tally[rule], where, check))
    seen = _Seen()
    loads, classes, store_class = orjson.loads, CLASSES, seen.store_class
    with snapshot.open("rb") as stream:
        for line in _record_lines(stream):
            d = loads(line)
            kind, a = d["kind"], d["attributes"]
            dc = d["data_class"]
            if dc is None:
                tag = d["tags"].get("data_class")
                dc = "unclassified" if tag is None else classes.get(tag.strip().lower(),
                                                                    "unclassified")
            for counts, where, check in by_kind.get(kind, ()):
                applies = True if where is None else where(d, a, dc)
                if applies is not True:
                    counts[3 if applies is False else 2] += 1
                    continue
                result = check(d, a, dc)
                counts[0 if result is True else 1 if result is False else 2] += 1
            if kind in STORES:
                store_class[d["id"]] = dc
                encryption = a.get("encryption", _M)
                key = encryption.get("key", _M) if type(encryption) is dict else encryption
                if type(key) is str:
                    seen.key_users.setdefault(key, []).append(d["id"])
                elif key is _M:
                    seen.key_unseen = True
                if dc == "clinical":
                    seen.clinical_keys.append(_at(a, "encryption", "key"))
                if kind == "table":
                    schema = a.get("schema", _M)
                    if type(schema) is str:
                        seen.schema_tables.setdefault(schema, []).append(dc)
                    elif schema is _M:
                        seen.schema_unseen = True
            elif kind == "principal":
                seen.principals.append((d["id"], d["name"], a))
            elif kind == "access_policy":
                seen.policies.append(a)
            elif kind == "key":
                seen.key_ids.add(d["id"])
            elif kind == "db_schema":
                seen.schema_ids.append(d["id"])
    _decide_deferred(seen, tally)
    names = (PASS, FAIL, ERROR, SKIP)
    return {rule: {names[i]: n for i, n in enumerate(counts) if n}
            for rule, counts in tally.items()}


def _decide_deferred(seen: _Seen, tally: dict[str, list[int]]) -> None:
    store_class = seen.store_class

    def count(rule: str, applies: Tri, decide: Callable[[], Tri]) -> None:
        counts = tally.get(rule)
        if counts is None:
            return
        if applies is not True:
            counts[3 if applies is False else 2] += 1
            return
        result = decide()
        counts[0 if result is True else 1 if result is False else 2] += 1

    def of_class(wanted: str) -> Callable[[Any], Tri]:
        def test(store: Any) -> Tri:
            found = store_class.get(store)
            return None if found is None else found == wanted
        return test

    clinical, administrative = of_class("clinical"), of_class("administrative")
    for pid, name, a in seen.principals:
        can_read = a.get("can_read", _M)
        count("PHI-IAM-004", True,
              lambda a=a: _not(_some(a.get("can_read_via_wildcard", _M), clinical)))
        count("PHI-IAM-005", _all(_eq(a.get("third_party", _M), True),
                                  _eq(a.get("principal_type", _M), "role")),
              lambda a=a, r=can_read: _all(_eq(a.get("external_id_required", _M), True),
                                           _not(_some(r, clinical))))
        count("PHI-SEG-002", not (POSTGRES.search(pid) is not None and name == "postgres"),
              lambda r=can_read: _not(_all(_some(r, clinical), _some(r, administrative))))
    for a in seen.policies:
        count("PHI-IAM-001", None if type(a.get("attached_to", _M)) is not list else True,
              lambda a=a: _not(_any(_eq(a.get("full_admin", _M), True), _iam_001_binding(a, store_class))))
    for key in seen.clinical_keys:
        # where: clinical and encryption.key exists (a null key names nothing to share: skip)
        count("PHI-SEG-001", None if key is _M else key is not None, lambda key=key: _not(
            None if key not in seen.key_ids or seen.key_unseen
            else _some(seen.key_users.get(key, []), lambda s: _not(clinical(s)))))
    for schema in seen.schema_ids:
        tables = None if seen.schema_unseen else seen.schema_tables.get(schema, [])
        count("PHI-SEG-003", True, lambda t=tables: _not(_all(
            _some(t, lambda c: c == "clinical"), _some(t, lambda c: c == "administrative"))))
    # Clinical stores are the only ones PHI-SEG-001 applies to; the others are skipped.
    if "PHI-SEG-001" in tally:
        tally["PHI-SEG-001"][3] += sum(1 for c in store_class.values() if c != "clinical")


def _iam_001_binding(a: dict[str, Any], store_class: dict[str, str]) -> Tri:
    """An admin role bound on a clinical store to a member (no member is allow-listed)."""
    admin_statement = _some(a.get("statements", _M), lambda st: _all(
        _eq(st.get("effect", _M), "Allow"),
        _some(st.get("actions", _M), lambda act: type(act) is str and act in ADMIN_ROLES)))
    target = a.get("target", _M)
    on_clinical = (None if target is _M else False if target is None
                   else None if target not in store_class else store_class[target] == "clinical")
    bound = _some(a.get("bindings", _M), lambda b: _all(
        None if "role" not in b else b["role"] in ADMIN_ROLES,
        _some(b.get("members", _M), lambda m: True)))
    return _all(admin_statement, on_clinical, bound)


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------

#: Rules written in bench/rego/phibench.rego (failures only: Rego has no third value).
REGO_LOCAL = ("PHI-ENC-001", "PHI-ENC-002", "PHI-ENC-003", "PHI-IAM-002")
REGO_JOIN = ("PHI-SEG-002",)


def _child(what: str, snapshot: Path, only: set[str] | None = None) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", what,
               "--snapshot", str(snapshot)]
    if only is not None:
        command += ["--only", ",".join(sorted(only))]
    if PACK is not None:
        command += ["--pack", str(PACK)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measurement '{what}' failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _evaluations(counts: dict[str, dict[str, int]]) -> int:
    return sum(sum(per.values()) for per in counts.values())


def _fails(counts: dict[str, dict[str, int]], rules: Any) -> dict[str, int]:
    return {rule: counts.get(rule, {}).get(FAIL, 0) for rule in rules}


def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"seed": args.seed}
    c0 = time.process_time()
    big = write_snapshot(args.resources, args.seed, OUT / f"estate-{args.resources}-s{args.seed}.jsonl")
    report["generate_cpu_s"] = time.process_time() - c0
    engine = _child("engine", big)
    pack = set(engine["policies"])
    read = _child("read", big)
    alone = _child("evaluate", big)
    shared = pack & FLOOR_RULES
    floor = _child("floor", big, shared)
    floor_parse = _child("floor-parse", big)
    # The ratio compares the same work: when the floor lacks some pack rules, time the engine
    # on the rules both decide.
    same = engine if shared == pack else _child("engine", big, shared)
    evaluations = _evaluations(engine["counts"])
    report["engine"] = {
        "resources": read["resources"], "policies": len(pack), "evaluations": evaluations,
        "cpu_s": engine["cpu_s"], "wall_s": engine["wall_s"],
        "evals_per_cpu_s": evaluations / engine["cpu_s"],
        "decide_cpu_s": alone["cpu_s"],
        "evals_per_decide_cpu_s": alone["evaluations"] / max(alone["cpu_s"], 1e-9),
        "peak_rss_mb": engine["peak_rss_mb"], "policy_load_cpu_s": engine["policy_load_cpu_s"],
    }
    report["read"] = {"cpu_s": read["cpu_s"], "wall_s": read["wall_s"],
                      "us_per_resource": 1e6 * read["cpu_s"] / read["resources"],
                      "peak_rss_mb": read["peak_rss_mb"]}
    same_decide = same["cpu_s"] - read["cpu_s"]
    floor_decide_s = floor["cpu_s"] - floor_parse["cpu_s"]
    report["floor"] = {
        "rules": sorted(shared), "missing_in_floor": sorted(pack - FLOOR_RULES),
        "evaluations": _evaluations(floor["counts"]),
        "engine_evaluations": _evaluations(same["counts"]),
        "cpu_s": floor["cpu_s"], "parse_cpu_s": floor_parse["cpu_s"],
        "peak_rss_mb": floor["peak_rss_mb"], "engine_cpu_s": same["cpu_s"],
        "ratio": same["cpu_s"] / floor["cpu_s"],
        "decide_ratio": same_decide / max(floor_decide_s, 1e-9),
        "agree": {rule: same["counts"].get(rule, {}) == floor["counts"].get(rule, {})
                  for rule in sorted(shared)},
        "disagreements": {rule: {"engine": same["counts"].get(rule, {}),
                                 "floor": floor["counts"].get(rule, {})}
                          for rule in sorted(shared)
                          if same["counts"].get(rule, {}) != floor["counts"].get(rule, {})},
    }
    if not args.skip_rego:
        report["rego"] = run_rego(args, pack)
    return report


def run_rego(args: argparse.Namespace, pack: set[str]) -> list[dict[str, Any]]:
    """Per-resource rules at ``--rego-resources``; the reference rule at a smaller size, since
    regopy's time for it grows with the square of the estate (29 s at 10k, 121 s at 20k)."""
    groups = [(args.rego_resources, set(REGO_LOCAL) & pack),
              (min(args.rego_resources, args.rego_join_resources), set(REGO_JOIN) & pack)]
    results = []
    for size, rules in groups:
        if not rules:
            continue
        estate = write_snapshot(size, args.seed, OUT / f"estate-{size}-s{args.seed}.jsonl")
        rego = _child("rego", estate, rules)
        engine = _child("engine", estate, rules)
        floor = _child("floor", estate, rules)
        fails = {"rego": {rule: rego["fail"].get(rule, 0) for rule in sorted(rules)},
                 "phigate": _fails(engine["counts"], sorted(rules)),
                 "floor": _fails(floor["counts"], sorted(rules))}
        results.append({
            "resources": size, "rules": sorted(rules), "cpu_s": rego["cpu_s"],
            "wall_s": rego["wall_s"], "setup_cpu_s": rego["setup_cpu_s"],
            "query_cpu_s": rego["query_cpu_s"], "peak_rss_mb": rego["peak_rss_mb"],
            "engine_cpu_s": engine["cpu_s"], "floor_cpu_s": floor["cpu_s"],
            "ratio_to_engine": rego["cpu_s"] / engine["cpu_s"], "fails": fails,
            "agree": {rule: len({fails[t][rule] for t in fails}) == 1 for rule in sorted(rules)}})
    return results


def print_table(report: dict[str, Any]) -> None:
    e, r, f = report["engine"], report["read"], report["floor"]
    rows = [
        ("resources", f"{e['resources']:,}"),
        ("policies in the pack", f"{e['policies']}"),
        ("evaluations (outcomes)", f"{e['evaluations']:,}"),
        ("engine CPU / wall", f"{e['cpu_s']:.1f} s / {e['wall_s']:.1f} s"),
        ("evaluations per CPU second", f"{e['evals_per_cpu_s']:,.0f}  (streamed, reading included)"),
        ("reading alone", f"{r['cpu_s']:.1f} s  ({r['us_per_resource']:.1f} µs/resource: "
                          "read, parse, validate, build)"),
        ("evaluating alone", f"{e['decide_cpu_s']:.1f} s  ({e['evals_per_decide_cpu_s']:,.0f} "
                             "evaluations/s on pre-read resources, best of 3; target ≥ 500,000)"),
        ("engine peak RSS", f"{e['peak_rss_mb']:,.0f} MB  (target < 1,536)"),
        ("policy load", f"{e['policy_load_cpu_s']:.2f} s CPU"),
        ("floor rules", f"{len(f['rules'])} ({', '.join(f['rules'])})"),
        ("  not in the floor", ", ".join(f["missing_in_floor"]) or "none"),
        ("floor CPU (parse part)", f"{f['cpu_s']:.1f} s ({f['parse_cpu_s']:.1f} s), "
                                        f"{f['peak_rss_mb']:,.0f} MB"),
        ("engine / floor, same rules", f"{f['ratio']:.2f}x  (target ≤ 2x; "
                                       f"engine {f['engine_cpu_s']:.1f} s)"),
        ("  decide only", f"{f['decide_ratio']:.2f}x"),
        ("engine = floor, per rule", _agreement(f["agree"])),
    ]
    for g in report.get("rego", []):
        rows += [
            (f"rego, {g['resources']:,} resources",
             f"{g['cpu_s']:.1f} s CPU (load {g['setup_cpu_s']:.1f} s, query {g['query_cpu_s']:.1f} s), "
             f"{g['peak_rss_mb']:,.0f} MB"),
            ("  rules", ", ".join(g["rules"])),
            ("  phigate / floor, same rules", f"{g['engine_cpu_s']:.2f} s / {g['floor_cpu_s']:.2f} s"),
            ("  rego / phigate", f"{g['ratio_to_engine']:.1f}x"),
            ("  failures agree (3 ways)", _agreement(g["agree"])),
        ]
        rows += [(f"    {rule}", "  ".join(f"{tool} {g['fails'][tool][rule]:,}" for tool in g["fails"]))
                 for rule in g["rules"]]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for rule, counts in f["disagreements"].items():
        print(f"DISAGREE {rule}: engine {counts['engine']} floor {counts['floor']}")


def _agreement(agree: dict[str, bool]) -> str:
    bad = [rule for rule, ok in agree.items() if not ok]
    return f"{len(agree) - len(bad)}/{len(agree)}" + (f"  (differ: {', '.join(bad)})" if bad else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--rego-resources", type=int, default=100_000)
    parser.add_argument("--rego-join-resources", type=int, default=10_000,
                        help="estate size for the reference rule in Rego (quadratic in regopy)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-rego", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--pack", type=Path, help="policy folder (default: the bundled pack)")
    # Internal: one measurement, run in a fresh subprocess by the parent.
    parser.add_argument("--measure", help=argparse.SUPPRESS,
                        choices=("engine", "evaluate", "read", "floor", "floor-parse", "rego"))
    parser.add_argument("--snapshot", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global PACK  # noqa: PLW0603 - one setting shared by the parent and its children
    PACK = args.pack
    if args.measure:
        only = set(args.only.split(",")) if args.only else None
        measures: dict[str, Callable[[], dict[str, Any]]] = {
            "engine": lambda: measure_engine(args.snapshot, only),
            "evaluate": lambda: measure_evaluate(args.snapshot),
            "read": lambda: measure_read(args.snapshot),
            "floor": lambda: measure_floor(args.snapshot, only, parse_only=False),
            "floor-parse": lambda: measure_floor(args.snapshot, only, parse_only=True),
            "rego": lambda: measure_rego(args.snapshot, only or {*REGO_LOCAL, *REGO_JOIN}),
        }
        print(json.dumps(measures[args.measure]()))
        return 0
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
