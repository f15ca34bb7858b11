"""Compliance frameworks as data, and per-control views of a run.

Each framework (HIPAA, GDPR, ISO/IEC 27001:2022, HDS, CIS benchmarks …) is a catalogue of
controls with version-qualified ids and a one-line paraphrase; policies map to them by id.
A control is *satisfied* when the policies mapped to it passed on at least one resource and
failed or erred on none, *failed* when one failed, *not evaluated* when one could not be
evaluated (errors, no failure) or when none applied to anything (no evidence either way), and
*not covered* when no selected policy maps to it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from phigate.load import FRAMEWORKS_FOLDER, bundled_pack
from phigate.model import Policy, Status
from phigate.problems import Problem, ProblemsError
from phigate.result import Framework, RunResult
from phigate.validation import schema_problems
from phigate.yamlsafe import load_file


@dataclass(frozen=True, slots=True)
class ControlView:
    id: str
    title: str
    status: str  # satisfied | failed | not_evaluated | not_covered
    policies: tuple[str, ...]


CONTROL_STATES = ("satisfied", "failed", "not_evaluated", "not_covered")


def load_frameworks(folder: Path | None = None) -> dict[str, Framework]:
    """Every catalogue in ``folder`` (default: the bundled one). Raises ProblemsError."""
    folder = folder or bundled_pack() / FRAMEWORKS_FOLDER
    problems: list[Problem] = []
    found: dict[str, Framework] = {}
    for file in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        docs, file_problems = load_file(file)
        problems.extend(file_problems)
        for doc in docs:
            found_problems = schema_problems("framework", doc, str(file))
            problems.extend(found_problems)
            if found_problems:
                continue
            data = doc.data
            found[data["framework"]] = Framework(
                data["framework"], data["title"], str(data.get("version", "")),
                {c["id"]: c["title"] for c in data["controls"]}, tuple(data.get("providers", ())))
    if problems:
        raise ProblemsError(problems)
    return found


def resolve(key: str, frameworks: Mapping[str, Framework]) -> str | None:
    """The catalogue ``key`` names: itself, or the one whose key is ``key`` plus a version
    (``hds`` → ``hds-2024``, ``cis-aws`` → ``cis-aws-7.0.0``) when exactly one is."""
    if key in frameworks:
        return key
    versioned = [k for k in frameworks if re.fullmatch(re.escape(key) + r"-[0-9][0-9.]*", k)]
    return versioned[0] if len(versioned) == 1 else None


def select(policies: Sequence[Policy], keys: Iterable[str],
           frameworks: Mapping[str, Framework]) -> list[Policy]:
    """The policies mapped to any of the frameworks ``keys`` (or their unversioned aliases);
    unknown keys raise KeyError."""
    resolved = {k: resolve(k, frameworks) for k in keys}
    unknown = [k for k, found in resolved.items() if found is None]
    if unknown:
        raise KeyError(", ".join(unknown))
    wanted = [k for k in resolved.values() if k is not None]
    return [p for p in policies if any(k in p.controls for k in wanted)]


#: Policies may map to frameworks phigate does not ship when the key says so (``x-soc2``).
CUSTOM_PREFIX = "x-"


def control_problems(policies: Sequence[Policy], frameworks: Mapping[str, Framework]) -> list[Problem]:
    """A mapping to a framework or control that does not exist is a mistake that silently
    drops the policy from that framework's view: each one is a located problem, with the
    closest known name. Keys starting with ``x-`` name frameworks of the team's own."""
    problems: list[Problem] = []
    for policy in policies:
        for key, ids in policy.controls.items():
            if key.startswith(CUSTOM_PREFIX):
                continue
            framework = frameworks.get(key)
            if framework is None:
                hint = _closest(key, list(frameworks))
                problems.append(_located(policy, f"/controls/{key}", True,
                                         f"unknown framework '{key}'{hint}; a framework of your own "
                                         f"starts with '{CUSTOM_PREFIX}'"))
                continue
            for i, cid in enumerate(ids):
                if cid not in framework.controls:
                    hint = _closest(cid, list(framework.controls))
                    problems.append(_located(policy, f"/controls/{key}/{i}", False,
                                             f"{key} has no control '{cid}'{hint}"))
    return problems


def _closest(name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _located(policy: Policy, pointer: str, key: bool, message: str) -> Problem:
    """A problem at ``pointer`` of the document defining ``policy`` (read again: only when wrong)."""
    file, _, line = policy.source.rpartition(":")
    position = (int(line) if line.isdigit() else 1, 1)
    docs, _ = load_file(Path(file))
    for doc in docs:
        if isinstance(doc.data, dict) and doc.data.get("id") == policy.id:
            position = doc.key_at(pointer) if key else doc.at(pointer)
            break
    return Problem(file, position[0], position[1], message, pointer)


def control_views(framework: Framework, policies: Sequence[Policy],
                  counts: Mapping[str, Mapping[Status, int]]) -> list[ControlView]:
    """Each control of ``framework`` judged from the outcomes of the policies mapped to it."""
    mapped: dict[str, list[str]] = {cid: [] for cid in framework.controls}
    for policy in policies:
        for cid in policy.controls.get(framework.key, ()):
            mapped.setdefault(cid, []).append(policy.id)
    views = []
    for cid, policy_ids in mapped.items():
        views.append(ControlView(cid, framework.controls.get(cid, ""),
                                 _state(policy_ids, counts), tuple(sorted(policy_ids))))
    return views


def compliance(result: RunResult) -> list[tuple[Framework, list[ControlView]]]:
    """Per framework the run's policies map to: each control judged from the run's outcomes."""
    used = sorted({k for p in result.policies for k in p.controls if k in result.frameworks})
    views = []
    for key in used:
        framework = result.frameworks[key]
        counts = (framework.counts(result.counts_by_provider) if framework.providers
                  else result.counts)
        views.append((framework, control_views(framework, result.policies, _unwaived(counts))))
    return views


def _unwaived(counts: Mapping[str, Mapping[Status, int]]) -> dict[str, dict[Status, int]]:
    """Counts with waived outcomes judged as failures: a waiver accepts a risk for the gate,
    it does not make the control satisfied."""
    return {pid: {**c, Status.FAIL: c.get(Status.FAIL, 0) + c.get(Status.WAIVED, 0)}
            for pid, c in counts.items()}


def _state(policy_ids: Sequence[str], counts: Mapping[str, Mapping[Status, int]]) -> str:
    if not policy_ids:
        return "not_covered"
    totals = {status: sum(counts.get(pid, {}).get(status, 0) for pid in policy_ids)
              for status in (Status.PASS, Status.FAIL, Status.ERROR)}
    if totals[Status.FAIL]:
        return "failed"
    if totals[Status.ERROR] or not totals[Status.PASS]:
        return "not_evaluated"  # a control nothing was checked against is not satisfied
    return "satisfied"
