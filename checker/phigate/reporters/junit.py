"""JUnit XML for CI test views: one suite per policy, one test case per policy and resource.

A test case is named by the resource's Terraform address for a planned resource (what the code
says), by its id otherwise; its class is the policy id. ``fail`` is a ``<failure>`` (message and
evidence), ``error`` (could not evaluate) an ``<error>``, ``waived`` a ``<skipped>`` carrying the
waiver's reason (``waived error:`` when the waiver accepted an error). Passing outcomes are test
cases only when the run kept them (``--show-passed``). The ``tests``, ``failures``, ``errors``
and ``skipped`` attributes of every suite, and of the root, count the test cases listed, as
JUnit readers expect; the run's own counts of the policy's outcomes are the suite properties
``passed``, ``failed``, ``error``, ``waived`` and ``not-applicable`` (not-applicable outcomes are
never test cases). Collection errors get a suite of their own, one ``<error>`` each, so missing
evidence shows in the test view even when no policy turned it into an error.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import IO, ClassVar

from phigate import wording as words
from phigate.api import CollectionError
from phigate.model import Finding, Policy, Status
from phigate.result import RunResult
from phigate.safetext import visible

COLLECTION_SUITE = "phigate.collection"
#: Characters XML 1.0 cannot hold even escaped: shown as visible escapes instead.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class JunitReporter:
    name: ClassVar[str] = "junit"

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        root = junit_tree(result)
        ET.indent(root)
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(ET.tostring(root, encoding="unicode"))
        out.write("\n")


def junit_tree(result: RunResult) -> ET.Element:
    by_policy: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_policy.setdefault(finding.policy_id, []).append(finding)
    finished = result.finished or result.started
    root = ET.Element("testsuites", {"name": "phigate",
                                     "time": f"{(finished - result.started).total_seconds():.3f}"})
    for policy in result.policies:
        root.append(_policy_suite(policy, result.counts.get(policy.id, {}),
                                  by_policy.get(policy.id, []), result))
    if result.collection_errors:
        root.append(_collection_suite(result.collection_errors, result))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root:
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    return root


def _policy_suite(policy: Policy, counts: Mapping[Status, int], findings: list[Finding],
                  result: RunResult) -> ET.Element:
    listed = [f for f in findings if f.status is not Status.SKIP]  # not applicable: no test run
    listed_counts = {status: sum(1 for f in listed if f.status is status) for status in Status}
    suite = ET.Element("testsuite", _clean_attrs({
        "name": policy.id,
        "tests": str(len(listed)),
        "failures": str(listed_counts[Status.FAIL]),
        "errors": str(listed_counts[Status.ERROR]),
        "skipped": str(listed_counts[Status.WAIVED]),
        "timestamp": _timestamp(result),
    }))
    properties = ET.SubElement(suite, "properties")
    _property(properties, "title", policy.title)
    _property(properties, "severity", policy.severity.label)
    for status, name in _RUN_COUNTS:
        _property(properties, name, str(counts.get(status, 0)))
    for framework, controls in sorted(policy.controls.items()):
        for control in controls:
            _property(properties, "control", f"{framework}/{control}")
    names = [_case_name(f) for f in listed]
    repeated = {n for n, times in Counter(names).items() if times > 1}
    for finding, name in zip(listed, names, strict=True):
        # The same address in two plans: the plan tells the cases apart.
        suite.append(_case(finding, f"{name} ({finding.resource.scope})" if name in repeated else name))
    return suite


#: The run's counts of a policy's outcomes, as suite properties.
_RUN_COUNTS = ((Status.PASS, "passed"), (Status.FAIL, "failed"), (Status.ERROR, "error"),
               (Status.WAIVED, "waived"), (Status.SKIP, "not-applicable"))


def _case_name(finding: Finding) -> str:
    return finding.resource.address or finding.resource.id


def _case(finding: Finding, name: str) -> ET.Element:
    case = ET.Element("testcase", _clean_attrs({"classname": finding.policy_id, "name": name}))
    if finding.status is Status.FAIL:
        failure = ET.SubElement(case, "failure", _clean_attrs({
            "message": finding.message, "type": finding.severity.label}))
        failure.text = _clean(_details(finding))
    elif finding.status is Status.ERROR:
        error = ET.SubElement(case, "error", _clean_attrs({
            "message": f"not evaluated: {finding.message}", "type": "not-evaluated"}))
        error.text = _clean(_details(finding))
    elif finding.status is Status.WAIVED:
        waiver = finding.waiver
        reason = f"waived {waiver.covers}: {waiver}" if waiver is not None else "waived"
        ET.SubElement(case, "skipped", _clean_attrs({"message": reason}))
    return case


def _details(finding: Finding) -> str:
    r = finding.resource
    where = ", ".join(x for x in (r.type, f"provider {r.provider}", r.scope and f"scope {r.scope}",
                                  r.region and f"region {r.region}") if x)
    lines = [f"resource: {r.id} ({where})", *([f"address: {r.address}"] if r.address else []),
             f"severity: {finding.severity.label}",
             f"message: {finding.message}"]
    if finding.evidence:
        lines.append("evidence:")
        lines += [f"  {words.observation(o)}"
                  for o in finding.evidence]
    if finding.controls:
        lines.append("controls: " + "; ".join(f"{k} {', '.join(v)}"
                                              for k, v in sorted(finding.controls.items())))
    # Each line shown whole: a value's own line breaks and control characters as code points.
    return "\n".join(visible(line) for line in lines)



def _collection_suite(errors: Sequence[CollectionError], result: RunResult) -> ET.Element:
    suite = ET.Element("testsuite", {"name": COLLECTION_SUITE, "tests": str(len(errors)),
                                     "failures": "0", "errors": str(len(errors)), "skipped": "0",
                                     "timestamp": _timestamp(result)})
    for error in errors:
        where = " ".join(x for x in (error.provider, error.scope, error.region or "") if x)
        case = ET.SubElement(suite, "testcase", _clean_attrs({
            "classname": COLLECTION_SUITE,
            "name": f"{where} {error.resource_id}" if error.resource_id else where}))
        element = ET.SubElement(case, "error", _clean_attrs({
            "message": f"could not collect: {error.message}", "type": "collection-error"}))
        facts = [("kinds", ", ".join(error.kinds)), ("types", ", ".join(error.types)),
                 ("resource", error.resource_id or ""), ("permission", error.permission or "")]
        element.text = _clean("\n".join(f"{k}: {v}" for k, v in facts if v)) or None
    return suite


def _property(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "property", _clean_attrs({"name": name, "value": value}))


def _timestamp(result: RunResult) -> str:
    # JUnit's schema wants a local date-time without offset; the run's start is UTC.
    return result.started.replace(tzinfo=None).isoformat(timespec="seconds")


def _clean(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def _clean_attrs(attrs: dict[str, str]) -> dict[str, str]:
    return {k: _clean(v) for k, v in attrs.items()}


__all__ = ["JunitReporter", "junit_tree"]
