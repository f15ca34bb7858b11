"""Compliance frameworks as data, and per-control views of a run.

Each framework (HIPAA, GDPR, ISO/IEC 27001:2022, HDS, CIS benchmarks …) is a catalogue of
controls with version-qualified ids and a one-line paraphrase; policies map to them by id.
A control is *satisfied* when the policies mapped to it passed on at least one resource and
failed or erred on none, *failed* when one failed, *not evaluated* when one could not be
evaluated (errors, no failure) or when none applied to anything (no evidence either way), and
*not covered* when no selected policy maps to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from phigate.load import FRAMEWORKS_FOLDER, bundled_pack
from phigate.model import Policy, Status
from phigate.problems import Problem, ProblemsError
from phigate.validation import schema_problems
from phigate.yamlsafe import load_file


@dataclass(frozen=True, slots=True)
class Framework:
    key: str
    title: str
    version: str
    #: control id → one-line paraphrase, in catalogue order
    controls: Mapping[str, str]
    #: Providers the framework covers (empty: all); its views count only their outcomes.
    providers: tuple[str, ...] = ()

    def counts(self, by_provider: Mapping[str, Mapping[str, Mapping[Status, int]]]
               ) -> dict[str, dict[Status, int]]:
        """Per policy, the outcomes on resources of the providers this framework covers."""
        totals: dict[str, dict[Status, int]] = {}
        for pid, providers in by_provider.items():
            total = totals.setdefault(pid, {})
            for provider, counts in providers.items():
                if self.providers and provider not in self.providers:
                    continue
                for status, n in counts.items():
                    total[status] = total.get(status, 0) + n
        return totals


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


def select(policies: Sequence[Policy], keys: Iterable[str],
           frameworks: Mapping[str, Framework]) -> list[Policy]:
    """The policies mapped to any of the frameworks ``keys``; unknown keys raise KeyError."""
    wanted = list(keys)
    unknown = [k for k in wanted if k not in frameworks]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [p for p in policies if any(k in p.controls for k in wanted)]


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
