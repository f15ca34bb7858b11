"""Helpers for a team's own tests: build resources, scan them, assert they comply.

The pytest plugin exposes these as fixtures (``phigate_resource``, ``phigate_snapshot``,
``phigate_scan``, ``assert_compliant``); they work the same imported directly::

    from phigate.testing import assert_compliant, resource

    def test_the_notes_bucket_is_compliant():
        bucket = resource({"id": "arn:aws:s3:::notes", "type": "aws.s3.bucket", ...})
        assert_compliant([bucket], policy="PHI-ENC-*")
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from phigate.api import CollectionError, Context, InputError, Record, Resource, Scope
from phigate.code_providers import CodeProvider
from phigate.config import Config
from phigate.load import bundled_pack, load_policies
from phigate.model import Finding, Status
from phigate.optin import asked_for
from phigate.run import RunResult, scan
from phigate.selection import build_providers, run_context, select_policies
from phigate.snapshot import RecordValidator, error_from_json, locate, resource_from_json

Inventory = str | Path | Iterable[Resource | CollectionError | Context | Mapping[str, Any]]


def resource(record: Mapping[str, Any] | None = None, /, **fields: Any) -> Resource:
    """A resource from its snapshot form (``phigate schema resource``), checked against the
    resource and kind schemas: a typo in an attribute name fails here, not silently later."""
    data = {**(record or {}), **fields}
    built = _record(data, "resource")
    if not isinstance(built, Resource):
        raise InputError("a resource record was expected, not a collection error")
    return built


def _record(data: Mapping[str, Any], label: str) -> Record:
    validator = RecordValidator()
    plain = json.loads(json.dumps(data, default=str))
    if not validator.is_valid(plain):
        if isinstance(plain, dict) and set(plain) == {"error"}:
            problems = validator.error_problems(plain["error"], locate(json.dumps(plain, indent=1), label),
                                                label, ("error",))
        else:
            problems = validator.problems(plain, locate(json.dumps(plain, indent=1), label), label, ())
        raise InputError("invalid record: " + "; ".join(f"{p.message} ({p.pointer or '/'})"
                                                        for p in problems))
    if set(plain) == {"error"}:
        return error_from_json(plain["error"])
    return resource_from_json(plain)


def load_snapshot(path: str | Path) -> list[Record]:
    """Every record of a snapshot file or folder, read and checked by the snapshot provider."""
    providers = build_providers([str(path)], [], None, Config())
    return [record for provider in providers for record in provider.collect()]


class RecordsProvider(CodeProvider):
    """Records handed over in memory, as a provider: the run treats them like any other."""

    name: ClassVar[str] = "records"
    description: ClassVar[str] = "records given in memory to a test"
    permissions: ClassVar[tuple[str, ...]] = ()
    made_by: ClassVar[str] = "phigate.testing.scan_inventory"

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records

    def scopes(self) -> list[Scope]:
        return [Scope(self.name, "in memory")]

    def collect(self) -> Iterator[Record]:
        yield from self.records


PolicyPaths = str | Path | Sequence[str | Path]


def scan_inventory(inventory: Inventory, *, policies: PolicyPaths | None = None,
                   only: str | Sequence[str] | None = None, config: Config | None = None) -> RunResult:
    """Evaluate policies (default: the bundled pack) on a snapshot path or on records
    (``Resource``, ``CollectionError`` or their snapshot form); passing outcomes are kept."""
    config = config or Config()
    paths = [policies] if isinstance(policies, str | Path) else list(policies or [bundled_pack()])
    patterns = [only] if isinstance(only, str) else list(only or [])
    chosen = select_policies(load_policies([Path(p) for p in paths], config), patterns,
                             asked=lambda policy: asked_for(policy, patterns, config, False),
                             allow_empty=True)
    if isinstance(inventory, str | Path):
        providers = build_providers([str(inventory)], [], None, config)
    else:
        records = [r if isinstance(r, Resource | CollectionError | Context) else _record(r, "record")
                   for r in inventory]
        providers = [RecordsProvider(records)]
    return scan(providers, chosen, config, keep_passed=True)


def assert_compliant(subject: RunResult | Inventory, policy: str | Sequence[str] | None = None, *,
                     policies: PolicyPaths | None = None, config: Config | None = None) -> None:
    """Raise AssertionError listing every failure and error (of ``policy``, ids or globs, when
    given). Nothing checked is not compliance: a run that read nothing, or a named policy that
    applied to none of the resources, fails the assertion too."""
    patterns = [policy] if isinstance(policy, str) else list(policy or [])
    result = (subject if isinstance(subject, RunResult)
              else scan_inventory(subject, policies=policies, only=patterns or None, config=config))
    # A pattern naming no policy is a mistake, not a pass.
    select_policies(result.policies, patterns, allow_empty=True)

    def wanted(policy_id: str) -> bool:
        return not patterns or any(fnmatch.fnmatchcase(policy_id, p) for p in patterns)

    problems = [describe(f) for f in result.findings
                if f.status in (Status.FAIL, Status.ERROR) and wanted(f.policy_id)]
    problems += [f"ERROR could not collect from {e.provider} {e.scope}: {e.message}"
                 for e in result.collection_errors]
    decided = {pid for pid, counts in result.counts.items() if wanted(pid)
               and any(counts.get(s, 0) for s in (Status.PASS, Status.FAIL, Status.ERROR, Status.WAIVED))}
    if result.resources_seen == 0 and not result.collection_errors:
        problems.append("nothing was checked: the inventory holds no resource")
    elif patterns and not decided:
        problems.append(f"nothing was checked: {', '.join(patterns)} applied to none of the resources")
    if problems:
        raise AssertionError(f"{len(problems)} compliance problem(s):\n" +
                             "\n".join(f"  {p}" for p in problems))


def describe(finding: Finding) -> str:
    """One line: status, policy, severity, resource and why."""
    r = finding.resource
    return (f"{finding.status.value.upper()} {finding.policy_id} ({finding.severity.label}) "
            f"{r.type}:{r.name or r.id}: {finding.message}")


__all__ = ["RecordsProvider", "assert_compliant", "describe", "load_snapshot", "resource",
           "run_context", "scan_inventory"]
