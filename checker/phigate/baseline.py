"""Baselines: gate a change on the failures it adds, not on those already there.

A baseline is an earlier phigate JSON report. Findings are matched by their stable id (policy,
provider, scope, resource: ``Finding.fingerprint``; a planned resource by its plan's path in the
repository and its Terraform address, see :mod:`phigate.identity`). A failure whose id failed in
the baseline is *unchanged*: still reported, but it does not make the exit code 1. Any other
failure is *new* and gates as usual. A baseline failure this run evaluated and no longer found
failing is *resolved*; one whose resource this run did not evaluate (``--changed-only`` left it
out, ``--only`` did not select its policy, its scope could not be read) is *not evaluated*:
never called resolved on evidence nobody looked at.

Only failures are forgiven this way. Errors still make the exit code 3 (missing evidence is
never hidden by an old report), and a failure that was *waived* in the baseline is not known
as failing: when its waiver expires, it gates again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from phigate.files import read_bounded
from phigate.model import Status
from phigate.problems import Problem, ProblemsError
from phigate.result import BaselineComparison, KnownFailure, RunResult
from phigate.schema_files import document_schema
from phigate.validation import errors_to_problems, fast_validator, validator
from phigate.yamlsafe import MAX_FILE_BYTES, Located, has_lone_surrogate, load_text

MAX_BASELINE_BYTES = 512 * 1024 * 1024
MAX_PROBLEMS = 20
NOT_A_REPORT = "not a phigate JSON report (write one with `phigate scan … --format json=FILE`)"


@dataclass(frozen=True, slots=True)
class Baseline:
    file: str
    #: The baseline's failures, by finding id.
    failing: Mapping[str, KnownFailure]


def load_baseline(path: Path) -> Baseline:
    """Read and validate a phigate JSON report. Problems raise ProblemsError (exit 2)."""
    file = str(path)
    text = _read(path)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = _json_with_position(text, file)
    if not isinstance(data, dict) or "report_version" not in data:
        raise ProblemsError([Problem(file, 1, 1, NOT_A_REPORT)])
    if not valid_report(data):
        errors = list(validator("report").iter_errors(data))
        if errors:
            raise ProblemsError(_located(errors, data, text, file))
    failing = {}
    for finding in data["findings"]:
        if finding["status"] == Status.FAIL.value:
            r = finding["resource"]
            failing[finding["id"]] = KnownFailure(
                finding["id"], finding["policy_id"], finding["severity"], r["id"], r.get("name"),
                r["provider"], r["scope"], finding["message"], r.get("address"))
    return Baseline(file, failing)


@cache
def _compiled_report_schema() -> Callable[[Any], bool]:
    return fast_validator(document_schema("report"), formats=True).is_valid


def valid_report(data: Any) -> bool:
    """The fast check (a compiled validator: a large report in well under a second); only a
    report it refuses is checked again by jsonschema, which is exact and says where. It also
    asserts the schema's formats (its times and dates), which jsonschema reads as annotations:
    a report refused for a format alone has no jsonschema error to show."""
    try:
        return _compiled_report_schema()(data)
    except ValueError:  # a value JSON has no type for
        return False


def _read(path: Path) -> str:
    file = str(path)
    raw = read_bounded(path, "baseline")  # a regular file, within its limit, or exit 2
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemsError([Problem(file, 1, 1, "file is not valid UTF-8")]) from None


def _json_with_position(text: str, file: str) -> Any:
    """The standard parser, for the line and column of the syntax error the fast one found."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProblemsError([Problem(file, exc.lineno, exc.colno,
                                     f"{NOT_A_REPORT}: invalid JSON: {exc.msg}")]) from None
    except RecursionError:
        raise ProblemsError([Problem(file, 1, 1, f"{NOT_A_REPORT}: nesting too deep")]) from None
    except ValueError as exc:  # an integer of thousands of digits
        raise ProblemsError([Problem(file, 1, 1, f"{NOT_A_REPORT}: invalid JSON: {exc}")]) from None
    if has_lone_surrogate(data):  # which orjson refuses and the standard parser lets through
        raise ProblemsError([Problem(file, 1, 1, f"{NOT_A_REPORT}: a string holds a lone surrogate "
                                                 "escape (\\ud800-\\udfff): not Unicode")])
    return data


def _located(errors: list[Any], data: Any, text: str, file: str) -> list[Problem]:
    """Schema errors at their line and column; positions are worth a second, slow parse only
    for a file small enough, the others point at the top of the file with their pointer."""
    located = Located(data, {}, {})
    if len(text) <= MAX_FILE_BYTES:
        docs, problems = load_text(text, file)
        if len(docs) == 1 and not problems:
            located = docs[0]
    found = errors_to_problems(errors[:MAX_PROBLEMS], located, file)
    return [replace(p, message=f"not a valid phigate JSON report: {p.message}") for p in found]


def compare(result: RunResult, baseline: Baseline,
            evaluated: Set[str] | None = None) -> BaselineComparison:
    """Split this run's failures into new and unchanged; split the baseline's other failures
    into resolved and not evaluated.

    A baseline failure counts as resolved only when this run could have seen it fail again:
    its resource was evaluated (its ``resource_key`` is in ``evaluated``, the keys of every
    resource the run evaluated), its policy was evaluated and decided something on its
    provider's resources, and it is not now an error (unknown) or waived (still failing,
    accepted). Otherwise it is not evaluated. Without ``evaluated`` (nor ``result.evaluated``),
    no resource counts as evaluated.
    """
    failing_now = {f.fingerprint for f in result.findings if f.status is Status.FAIL}
    undecided_now = {f.fingerprint for f in result.findings
                     if f.status in (Status.ERROR, Status.WAIVED)}
    # A listing refused for a whole scope (or provider) names no resource: its resources are
    # absent from this run, unseen rather than fixed.
    unread = {(e.provider, e.scope) for e in result.collection_errors if e.resource_id is None}
    known = baseline.failing.keys()
    seen = evaluated if evaluated is not None else (result.evaluated or frozenset())
    resolved: list[KnownFailure] = []
    not_evaluated: list[KnownFailure] = []
    for k in baseline.failing.values():
        if k.id in failing_now or k.id in undecided_now:
            continue
        decided = (k.resource_key in seen
                   and _decided(result.counts_by_provider.get(k.policy_id, {}).get(k.provider, {}))
                   and (k.provider, k.scope) not in unread and (k.provider, "") not in unread)
        (resolved if decided else not_evaluated).append(k)
    return BaselineComparison(baseline.file, frozenset(failing_now - known),
                              frozenset(failing_now & known), tuple(sorted(resolved, key=_order)),
                              tuple(sorted(not_evaluated, key=_order)))


def with_baseline(result: RunResult, baseline: Baseline) -> RunResult:
    """A new result carrying its comparison with ``baseline`` (see ``compare``)."""
    return replace(result, baseline=compare(result, baseline))


def _order(known: KnownFailure) -> tuple[str, str, str]:
    return (known.policy_id, known.address or known.resource_id, known.id)


def _decided(counts: Mapping[Status, int]) -> bool:
    """Whether the policy passed or failed somewhere (errors and skips decide nothing)."""
    return bool(counts.get(Status.PASS) or counts.get(Status.FAIL) or counts.get(Status.WAIVED))


__all__ = ["Baseline", "BaselineComparison", "KnownFailure", "compare", "load_baseline", "valid_report",
           "with_baseline"]
