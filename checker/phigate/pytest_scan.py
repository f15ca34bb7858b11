"""The scan behind ``pytest --phigate``, reduced to plain data the test items report from.

One scan per test session: providers are read once and every policy decided once; the items
only report what was decided. The result is reduced to JSON-able data (one entry per policy and
resource outcome, the policies' texts, a summary) so that under pytest-xdist the controller scans
once and hands the same data to every worker: the workers collect identical items in identical
order, and a live estate is read once, not once per worker.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phigate.api import CollectionError, InputError
from phigate.config import load_config
from phigate.frameworks import load_frameworks
from phigate.gate import gate
from phigate.load import bundled_pack, load_policies
from phigate.model import Finding, Policy, Severity, Status
from phigate.problems import ProblemsError
from phigate.pytest_markers import framework_marker
from phigate.registry import MissingPlugin
from phigate.result import Framework, summary_to_json
from phigate.run import RunResult, scan
from phigate.selection import NothingToScan, asked_by_run, build_providers, select_policies
from phigate.waivers import load_waivers

SEVERITY_MARKERS = {s.label: f"phigate_{s.label}" for s in Severity}
NOTHING_TO_SCAN = ("nothing to scan: give --phigate-inventory PATH, --phigate-provider NAME "
                   "or providers in the phigate config file")


@dataclass(frozen=True)
class ScanSettings:
    """What to scan and with what, as the command line and the ini file say."""

    inventory: tuple[Path, ...] = ()
    providers: tuple[str, ...] = ()
    policies: tuple[Path, ...] = ()
    config: Path | None = None
    only: tuple[str, ...] = ()
    waivers: Path | None = None


def run(settings: ScanSettings) -> RunResult:
    """Load, select, collect and evaluate; passing outcomes are kept (each is a test)."""
    config = load_config(settings.config)
    targets = [str(p) for p in settings.inventory]
    # Providers take their options from the config file here, sampling included.
    asked = asked_by_run(settings.only, settings.providers, targets, config)
    policies = select_policies(load_policies(list(settings.policies) or [bundled_pack()], config),
                               settings.only, asked=asked, allow_empty=True)
    waiver_file = settings.waivers or config.waivers
    waivers = load_waivers(waiver_file) if waiver_file is not None else None
    providers = build_providers(targets, settings.providers, None, config, nothing=NOTHING_TO_SCAN)
    return gate(scan(providers, policies, config, keep_passed=True, frameworks=load_frameworks()),
                waivers=waivers)


def payload(settings: ScanSettings) -> dict[str, Any]:
    """The scan as plain data, or ``{"problem": text}`` when the input is wrong."""
    try:
        return to_payload(run(settings))
    except ProblemsError as exc:
        lines = [str(p) for p in exc.problems]
        return {"problem": "\n".join([*lines, f"{len(lines)} problem(s); nothing was evaluated."])}
    except NothingToScan as exc:
        return {"problem": str(exc), "nothing_to_scan": True}
    except (InputError, MissingPlugin) as exc:
        return {"problem": str(exc)}


def to_payload(result: RunResult) -> dict[str, Any]:
    """Items in a fixed order (policy, then resource id), with names unique within the run."""
    findings = [f for f in result.findings if f.status is not Status.SKIP]
    labels = _labels(findings)
    items = [_item(f, label, result.frameworks) for f, label in zip(findings, labels, strict=True)]
    items.extend(_collection_items(result.collection_errors))
    return {
        "summary": summary_to_json(result),
        "policies": {p.id: _policy(p) for p in result.policies},
        "items": items,
    }


def _labels(findings: Sequence[Finding]) -> list[str]:
    """``TYPE:NAME`` per finding; where that repeats within a policy, ``TYPE:ID``; where even
    that repeats (one id in several scopes), ``@SCOPE``, and last a counter."""
    def label(f: Finding, by_id: bool) -> str:
        r = f.resource
        return f"{r.type}:{r.id if by_id or not r.name else r.name}"

    by_name = [(f.policy_id, label(f, False)) for f in findings]
    name_counts = Counter(by_name)
    keys = [(f.policy_id, label(f, name_counts[key] > 1)) for f, key in zip(findings, by_name, strict=True)]
    id_counts = Counter(keys)
    keys = [(pid, f"{lab}@{f.resource.scope or f.resource.provider}" if id_counts[(pid, lab)] > 1 else lab)
            for f, (pid, lab) in zip(findings, keys, strict=True)]
    scope_counts = Counter(keys)
    seen: Counter[tuple[str, str]] = Counter()
    labels = []
    for key in keys:
        seen[key] += 1
        labels.append(f"{key[1]}#{seen[key]}" if scope_counts[key] > 1 and seen[key] > 1 else key[1])
    return labels


def _item(finding: Finding, label: str, frameworks: Mapping[str, Framework]) -> dict[str, Any]:
    r = finding.resource
    markers = ["phigate", SEVERITY_MARKERS[finding.severity.label]]
    for key in finding.controls:
        framework = frameworks.get(key)
        if framework is None or not framework.providers or r.provider in framework.providers:
            markers.append(framework_marker(key))
    waiver = finding.waiver
    return {
        "name": f"{finding.policy_id}[{label}]",
        "policy": finding.policy_id,
        "status": finding.status.value,
        "severity": finding.severity.label,
        "markers": list(dict.fromkeys(markers)),
        "keywords": [k for k in (r.kind, r.provider, r.data_class) if k],
        "resource": {"id": r.id, "type": r.type, "kind": r.kind, "provider": r.provider,
                     "scope": r.scope, "region": r.region, "name": r.name, "data_class": r.data_class},
        "message": finding.message,
        "evidence": [{"path": o.path, "op": o.op, "expected": _plain(o.expected),
                      "observed": _plain(o.observed), "outcome": o.outcome, "note": o.note,
                      "against": o.against} for o in finding.evidence],
        "waiver": (None if waiver is None else
                   {"reason": waiver.reason, "owner": waiver.owner,
                    "expires": waiver.expires.isoformat(), "source": waiver.source}),
    }


def _collection_items(errors: Sequence[CollectionError]) -> list[dict[str, Any]]:
    """Whatever a provider could not read is a test error too, as it makes the CLI exit 3,
    even when no selected policy needed it."""
    items = []
    seen: dict[str, int] = {}
    for error in errors:
        what = error.resource_id or ",".join(error.kinds or error.types) or "everything"
        label = ":".join(x for x in (error.provider, error.scope, error.region, what) if x)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}#{seen[label]}"
        items.append({
            "name": f"collection[{label}]", "policy": None, "status": "error", "severity": None,
            "markers": ["phigate"], "keywords": [error.provider],
            "resource": {"id": error.resource_id, "provider": error.provider, "scope": error.scope,
                         "region": error.region, "kinds": list(error.kinds), "types": list(error.types)},
            "message": error.message, "permission": error.permission, "evidence": [], "waiver": None,
        })
    return items


def _policy(policy: Policy) -> dict[str, Any]:
    return {"title": policy.title, "severity": policy.severity.label, "rationale": policy.rationale,
            "remediation": dict(policy.remediation), "source": policy.source,
            "controls": {k: list(v) for k, v in policy.controls.items()}}


def _plain(value: Any) -> Any:
    """Evidence values as JSON would carry them, so every worker renders the same text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.loads(json.dumps(value, default=str))
