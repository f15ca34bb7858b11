"""Waivers: accepted risk, written down, owned and dated.

A waiver names one policy and the resources whose failures of it are accepted, with a reason, an
owner and an expiry date. Resources are named by id, by Terraform address (what reports show for
a planned resource), or by a glob pattern over either (``module.storage.aws_s3_bucket.*``). A
matching failure becomes ``waived``: it is still reported, with the reason, but no longer moves
the exit code. Expiry is part of the contract, so a forgotten waiver cannot hide a failure
forever: from the day after ``expires`` the waiver stops applying and is reported as expired; a
waiver that matched nothing is reported as unused, so stale entries get noticed and removed.

Errors are not waived unless a waiver says so: an error means phigate could not see the evidence,
and only an explicit ``status: error`` entry (evidence the team knows lives elsewhere, such as a
trail managed in another repository) accepts that. A waiver covers one status, never both, so a
failure waiver never silently accepts an unknown. A waived error is ``waived`` like a waived
failure (its waiver's ``status`` says which it was) and no longer makes the exit code 3;
collection errors are not findings and are never waived.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from phigate.files import read_bounded
from phigate.model import Finding, Status, Waiver, is_waived_error
from phigate.problems import Problem, ProblemsError
from phigate.result import RunResult, WaiverOutcome, WaiverUse
from phigate.validation import errors_to_problems, reference_validator
from phigate.yamlsafe import Located, load_file

_EXPIRES = re.compile(r"/waivers/(\d+)/expires")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TEXT_FIELDS = ("policy", "resource", "reason", "owner", "scope", "provider")
#: What a waiver may cover: ``status`` in the file, failures when it is not given.
WAIVABLE = (Status.FAIL, Status.ERROR)
_TIMESTAMP = "unsupported YAML type tag:yaml.org,2002:timestamp"
#: A plain (unquoted) date, alone as a value: what YAML reads as a timestamp and a waiver means.
_PLAIN_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*(?:#.*)?(?:$|[,}\]])")


@dataclass(frozen=True, slots=True)
class WaiverFile:
    file: str
    waivers: tuple[Waiver, ...]


@cache
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files("phigate.schemas").joinpath("waivers-v1.schema.json").read_text("utf-8")
    return reference_validator(json.loads(text))


def load_waivers(path: Path) -> WaiverFile:
    """Read a waiver file strictly. Every problem is raised together (ProblemsError → exit 2)."""
    file = str(path)
    docs, problems = load_file(path, limit_name="waivers")
    if len(docs) == 1 and isinstance(docs[0].data, dict):
        problems = _accept_plain_dates(path, docs[0], problems)
    if problems:
        raise ProblemsError(problems)
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise ProblemsError([Problem(file, 1, 1, "a waiver file holds one mapping with a "
                                                 "'waivers' list (see docs/ci-gate.md)")])
    doc = docs[0]
    problems = errors_to_problems(_validator().iter_errors(doc.data), doc, file, skip=_is_expires)
    if problems:
        raise ProblemsError(problems)
    return WaiverFile(file, _build(doc, file))


def _accept_plain_dates(path: Path, doc: Located, problems: list[Problem]) -> list[Problem]:
    """``expires: 2026-03-31`` written unquoted is a YAML timestamp, which the strict loader
    refuses everywhere; here it is what the user meant, so it is read back as its text."""
    if not any(p.message.startswith(_TIMESTAMP) for p in problems):
        return problems
    lines = read_bounded(path, "waivers").decode("utf-8").splitlines()
    kept = []
    for problem in problems:
        where = _EXPIRES.fullmatch(problem.pointer)
        if not (where and problem.message.startswith(_TIMESTAMP)):
            kept.append(problem)
            continue
        text = lines[problem.line - 1][problem.column - 1:] if problem.line <= len(lines) else ""
        date = _PLAIN_DATE.match(text)
        entries = doc.data.get("waivers")
        if date and isinstance(entries, list) and isinstance(entries[int(where[1])], dict):
            entries[int(where[1])]["expires"] = date[1]
        else:
            kept.append(replace(problem, message="expires takes a date (YYYY-MM-DD), "
                                                 "not a date and time"))
    return kept


def _is_expires(path: tuple[Any, ...]) -> bool:
    """Dates are checked by ``_date``, which says more than a pattern mismatch."""
    return len(path) == 3 and path[2] == "expires"


def _date(value: Any) -> dt.date | str:
    """The date ``value`` names, or what is wrong with it."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return f"expires takes a date written YYYY-MM-DD, not {json.dumps(value)}"
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return f"'{value}' is not a calendar date"


def _build(doc: Located, file: str) -> tuple[Waiver, ...]:
    waivers: list[Waiver] = []
    problems: list[Problem] = []
    first_seen: dict[tuple[str, str, str | None, str | None, Status], int] = {}
    for i, entry in enumerate(doc.data["waivers"]):
        line, col = doc.at(f"/waivers/{i}")
        blank = [k for k in _TEXT_FIELDS if k in entry and not entry[k].strip()]
        for name in blank:
            problems.append(Problem(file, *doc.at(f"/waivers/{i}/{name}"), f"{name} is blank",
                                    f"/waivers/{i}/{name}"))
        expires = _date(entry.get("expires"))
        if isinstance(expires, str):
            problems.append(Problem(file, *doc.at(f"/waivers/{i}/expires"), expires,
                                    f"/waivers/{i}/expires"))
        if blank or isinstance(expires, str):
            continue
        status = Status(entry.get("status", Status.FAIL.value))
        key = (entry["policy"], entry["resource"], entry.get("scope"), entry.get("provider"), status)
        if key in first_seen:
            problems.append(Problem(file, line, col, "the same policy, resource, scope, provider "
                                    f"and status as the waiver at line {first_seen[key]}",
                                    f"/waivers/{i}"))
            continue
        first_seen[key] = line
        waivers.append(Waiver(entry["policy"], entry["resource"], entry["reason"].strip(),
                              entry["owner"].strip(), expires, entry.get("scope"),
                              entry.get("provider"), f"{file}:{line}", status))
    if problems:
        raise ProblemsError(problems)
    return tuple(waivers)


def apply_waivers(result: RunResult, waivers: WaiverFile, today: dt.date) -> RunResult:
    """A new result where the failures (and errors) unexpired waivers cover are ``waived``,
    tallies included, and whose ``waivers`` says what each waiver did.

    The first matching waiver in file order applies. A waiver covers its ``status`` only:
    failures by default, errors when it says ``status: error``. Passes and not-applicable
    outcomes are left as they are.
    """
    live = [w for w in waivers.waivers if not w.expired(today)]
    stale = [w for w in waivers.waivers if w.expired(today)]
    covered: dict[Waiver, list[str]] = {w: [] for w in waivers.waivers}
    counts = {pid: dict(c) for pid, c in result.counts.items()}
    by_provider = {pid: {provider: dict(c) for provider, c in providers.items()}
                   for pid, providers in result.counts_by_provider.items()}
    findings: list[Finding] = []
    for finding in result.findings:
        if finding.status not in WAIVABLE:
            findings.append(finding)
            continue
        waiver = next((w for w in live if w.status is finding.status and w.matches(finding)), None)
        if waiver is not None:
            covered[waiver].append(finding.fingerprint)
            findings.append(replace(finding, status=Status.WAIVED, waiver=waiver))
            _move_tally(counts, by_provider, finding)
            continue
        for old in stale:
            if old.status is finding.status and old.matches(finding):
                covered[old].append(finding.fingerprint)
        findings.append(finding)
    outcome = WaiverOutcome(
        waivers.file, today,
        applied=tuple(WaiverUse(w, tuple(covered[w])) for w in live if covered[w]),
        expired=tuple(WaiverUse(w, tuple(covered[w])) for w in stale),
        unused=tuple(w for w in live if not covered[w]))
    return replace(result, findings=tuple(findings), counts=counts, counts_by_provider=by_provider,
                   waivers=outcome)


def _move_tally(counts: dict[str, dict[Status, int]],
                by_provider: dict[str, dict[str, dict[Status, int]]], finding: Finding) -> None:
    """One outcome of the policy moves from its status (fail or error) to waived, overall and
    for its provider (in the new result's own copies of the tallies)."""
    tallies: Iterable[dict[Status, int]] = (
        counts.setdefault(finding.policy_id, {}),
        by_provider.setdefault(finding.policy_id, {}).setdefault(finding.resource.provider, {}),
    )
    for tally in tallies:
        tally[finding.status] = tally.get(finding.status, 0) - 1
        tally[Status.WAIVED] = tally.get(Status.WAIVED, 0) + 1


__all__ = ["WAIVABLE", "Waiver", "WaiverFile", "WaiverOutcome", "WaiverUse", "apply_waivers",
           "is_waived_error", "load_waivers"]
