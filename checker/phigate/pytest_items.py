"""The test items of ``pytest --phigate``: policy and resource outcomes and policy fixture cases.

Imported only when the plugin is asked for (``--phigate``, an inventory, fixture folders) so a
plain test suite never loads the engine. A scan item reports what the session's single scan
decided; a fixture case item runs its case (a few resources, one policy) when it runs.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from phigate import wording as words
from phigate.config import Config, load_config
from phigate.fixtures import Case, Fixture, load_fixtures, run_case
from phigate.load import load_policies
from phigate.model import Observation, Policy
from phigate.problems import ProblemsError
from phigate.pytest_scan import ScanSettings, payload

#: The key of the scan's data in an xdist worker's ``workerinput``.
WORKER_KEY = "phigate_scan"
_PAYLOAD = pytest.StashKey[dict[str, Any]]()
_CONFIG = pytest.StashKey[Config]()
_POLICIES = pytest.StashKey[dict[Path, list[Policy]]]()
_FIXTURES = pytest.StashKey[dict[Path, "list[Fixture] | ProblemsError"]]()
#: How many fixture files the session collects: ``--phigate`` with fixtures and no inventory
#: runs the fixtures; with neither, it is an error, not an empty green run.
_FIXTURE_FILES = pytest.StashKey[int]()
WRAP = 100


# -- settings -----------------------------------------------------------------------------------

def scan_settings(config: pytest.Config) -> ScanSettings:
    """Command-line options win over the ini file; each is resolved where it was written (the
    command line from the invocation folder, the ini file from its own folder)."""
    return ScanSettings(
        inventory=tuple(_paths(config, "phigate_inventory")),
        providers=tuple(config.getoption("phigate_provider") or config.getini("phigate_provider")),
        policies=tuple(_paths(config, "phigate_policies")),
        config=config_path(config),
        only=tuple(config.getoption("phigate_only") or config.getini("phigate_only")),
        waivers=_file(config, "phigate_waivers"),
    )


def _paths(config: pytest.Config, name: str) -> list[Path]:
    given = config.getoption(name)
    if given:
        return [config.invocation_params.dir / p for p in given]
    return list(config.getini(name))


def _file(config: pytest.Config, name: str) -> Path | None:
    given: str | None = config.getoption(name)
    if given:
        return config.invocation_params.dir / given
    written: str = config.getini(name)
    if not written:
        return None
    return (config.inipath.parent if config.inipath else config.rootpath) / written


def config_path(config: pytest.Config) -> Path | None:
    """The phigate config file named by the options, else ``phigate.yaml`` in the rootdir."""
    default = config.rootpath / "phigate.yaml"
    return _file(config, "phigate_config") or (default if default.is_file() else None)


def phigate_config(config: pytest.Config) -> Config:
    if _CONFIG not in config.stash:
        config.stash[_CONFIG] = load_config(config_path(config))
    return config.stash[_CONFIG]


# -- the scan -----------------------------------------------------------------------------------

def scan_payload(config: pytest.Config) -> dict[str, Any]:
    """The session's scan: handed over by the xdist controller, or run here, once."""
    if _PAYLOAD not in config.stash:
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and WORKER_KEY in workerinput:
            config.stash[_PAYLOAD] = json.loads(workerinput[WORKER_KEY])
        else:
            config.stash[_PAYLOAD] = payload(scan_settings(config))
    return config.stash[_PAYLOAD]


def payload_for_workers(config: pytest.Config) -> str:
    """Scan on the controller, once for every worker; unexpected failures travel as text too,
    since an exception here would stop xdist before any test could report it."""
    try:
        return json.dumps(scan_payload(config))
    except Exception as exc:
        return json.dumps({"problem": f"internal error ({type(exc).__name__}: {exc}); "
                                      "evidence incomplete"})


def summary_line(config: pytest.Config) -> str | None:
    data = config.stash.get(_PAYLOAD, None)
    if data is None or "summary" not in data:
        return None
    s = data["summary"]
    line = (f"phigate: {s['resources']} resources, {s['policies']} policies: {s['fail']} failed, "
            f"{s['error']} error, {s['pass']} passed, {s['waived']} waived, "
            f"{s['skip']} not applicable (not tests)")
    return line + (f"; {s['collection_errors']} collection errors" if s["collection_errors"] else "")


class ScanCollector(pytest.Collector):
    """Every policy and resource outcome of the scan, in a fixed order."""

    def collect(self) -> Iterator[pytest.Item]:
        data = scan_payload(self.config)
        if data.get("nothing_to_scan") and self.config.stash.get(_FIXTURE_FILES, 0):
            return
        if "problem" in data:
            raise self.CollectError(data["problem"])
        known = {line.split(":", 1)[0].strip() for line in self.config.getini("markers")}
        for marker in sorted({m for entry in data["items"] for m in entry["markers"]} - known):
            # A framework the bundled catalogues do not know (a team's own mapping key).
            self.config.addinivalue_line("markers", f"{marker}: phigate policies mapped to this framework")
        for entry in data["items"]:
            item = PolicyItem.from_parent(self, name=entry["name"], nodeid=f"{self.nodeid}::{entry['name']}",
                                          entry=entry, policy=data["policies"].get(entry["policy"]))
            for marker in entry["markers"]:
                item.add_marker(marker)
            item.extra_keyword_matches.update(entry["keywords"])
            yield item


if TYPE_CHECKING:
    from _pytest.outcomes import Failed as _Failed
else:
    _Failed = pytest.fail.Exception  # the public name of pytest's failure outcome


class EvidenceIncomplete(_Failed):
    """Raised in setup, so pytest reports an error; shown as its text (``pytrace=False``)."""

    # As pytest does for its own outcomes: summaries then read "EvidenceIncomplete: …", without
    # this module's path in front.
    __module__ = "builtins"


class PolicyFailure(Exception):
    """A policy failed on a resource: reported as the finding's text, not a traceback."""


class PolicyItem(pytest.Item):
    """One policy on one resource. ``error`` (evidence not collected) errors in setup, so it
    is reported as a test error, never as a pass or a plain failure."""

    def __init__(self, *, entry: dict[str, Any], policy: dict[str, Any] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry
        self.policy = policy

    def setup(self) -> None:
        if self.entry["status"] == "error":
            raise EvidenceIncomplete(render(self.entry, self.policy, self.config.rootpath), pytrace=False)

    def runtest(self) -> None:
        status = self.entry["status"]
        if status == "fail":
            raise PolicyFailure(render(self.entry, self.policy, self.config.rootpath))
        if status == "waived":
            waiver = self.entry["waiver"]
            reason = (f"waived until {waiver['expires']} ({waiver['owner']}): {waiver['reason']} "
                      f"[{_relative(waiver['source'], self.config.rootpath)}]")
            if self.config.getoption("runxfail"):  # asked to see accepted risks fail again
                raise PolicyFailure(render(self.entry, self.policy, self.config.rootpath) + "\n" + reason)
            pytest.xfail(reason)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, PolicyFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        if self.policy is None:
            return self.path, None, self.name
        file, _, line = self.policy["source"].rpartition(":")
        return Path(file), int(line) - 1 if line.isdigit() else None, self.name


# -- rendering ----------------------------------------------------------------------------------

def render(entry: Mapping[str, Any], policy: Mapping[str, Any] | None, root: Path) -> str:
    """The finding as a reviewer reads it: what, on which resource, the evidence, why, the fix."""
    r = entry["resource"]
    if policy is None:  # a collection error
        where = " ".join(x for x in (r["provider"], r["scope"], r["region"]) if x)
        what = r["id"] or ", ".join(r["kinds"] or r["types"]) or "everything in scope"
        lines = [f"could not collect {what} from {where}: evidence incomplete", f"  {entry['message']}"]
        if entry.get("permission"):
            lines.append(f"missing permission: {entry['permission']}")
        return "\n".join(lines)
    verb = ("could not be evaluated (evidence incomplete)" if entry["status"] == "error"
            else "failed")
    place = ", ".join(x for x in (r["provider"], r["scope"], r["region"]) if x)
    lines = [f"{entry['policy']} ({entry['severity']}) {verb}: {policy['title']}",
             f"resource: {r['id']} ({r['type']}; {place}; data class {r['data_class'] or 'unknown'})",
             *_wrapped("finding: ", entry["message"])]
    if entry["evidence"]:
        lines.append("evidence:")
        lines.extend(f"  {_evidence(o)}" for o in entry["evidence"])
    lines.extend(_wrapped("rationale: ", policy["rationale"]))
    remediation = policy["remediation"]
    fix = remediation.get(r["provider"]) or remediation.get("default") or next(iter(remediation.values()), "")
    if fix:
        lines.extend(_wrapped("remediation: ", fix))
    lines.append(f"policy: {_relative(policy['source'], root)}")
    controls = "; ".join(f"{k} {', '.join(v)}" for k, v in policy["controls"].items())
    if controls:
        lines.append(f"controls: {controls}")
    return "\n".join(lines)


def _evidence(o: Mapping[str, Any]) -> str:
    mark = {"error": "?", "true": "ok"}.get(o["outcome"], "no")
    if o["against"]:
        mark = "AGAINST"
    seen = Observation(o["path"], o["op"], o["expected"], o["observed"], o["outcome"], o["note"] or "",
                       bool(o["against"]))
    return f"[{mark}] {words.observation(seen)}"


def _wrapped(label: str, text: str) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), WRAP, initial_indent=label, subsequent_indent="  ",
                         break_long_words=False, break_on_hyphens=False) or [label.rstrip()]



def _relative(source: str, root: Path) -> str:
    try:
        return str(Path(source).relative_to(root))
    except ValueError:
        return source


# -- policy fixtures ----------------------------------------------------------------------------

def fixture_roots(config: pytest.Config) -> list[Path]:
    """Folders (or files) whose fixtures ``--phigate-fixtures`` or ``phigate_fixtures`` ask for."""
    return _paths(config, "phigate_fixtures")


def explicit_roots(config: pytest.Config) -> list[Path]:
    """Paths given on the command line (not ``testpaths``): with the plugin asked for, the
    fixtures pytest meets there are collected as it walks them."""
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return []
    return [(config.invocation_params.dir / arg.split("::", 1)[0]).resolve() for arg in config.args]


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def walked_fixture(parent: pytest.Collector, file_path: Path) -> FixtureFile | None:
    """The fixture file pytest met while walking a path given on its command line."""
    if any(_under(file_path.resolve(), root) for root in explicit_roots(parent.config)):
        _count_fixture_files(parent.config, 1)
        return FixtureFile.from_parent(parent, path=file_path)
    return None


def _count_fixture_files(config: pytest.Config, count: int) -> None:
    config.stash[_FIXTURE_FILES] = config.stash.get(_FIXTURE_FILES, 0) + count


def requested_fixtures(session: pytest.Session) -> list[FixtureFile]:
    """Fixture files under the requested roots that pytest's own walk will not reach."""
    from phigate.fixtures import fixture_files

    walked = explicit_roots(session.config)
    files = [f for f in fixture_files(fixture_roots(session.config))
             if not any(_under(f.resolve(), root) for root in walked)]
    nodes = []
    for file in dict.fromkeys(f.resolve() for f in files):
        try:
            nodeid = file.relative_to(session.config.rootpath).as_posix()
        except ValueError:
            nodeid = file.as_posix()
        nodes.append(FixtureFile.from_parent(session, path=file, nodeid=nodeid))
    _count_fixture_files(session.config, len(nodes))
    return nodes


def _policy_root(config: pytest.Config, file: Path) -> Path:
    """Where the policies of a fixture are looked for: the outermost requested root holding the
    file (as ``phigate test ROOT`` would), else the file's own folder."""
    roots = [r.resolve() for r in [*fixture_roots(config), *explicit_roots(config)]]
    holding = sorted((r for r in roots if _under(file, r)), key=lambda r: len(r.parts))
    root = holding[0] if holding else file.parent
    return root.parent if root.is_file() else root


def _shown(config: pytest.Config, path: Path) -> Path:
    """``path`` relative to the invocation folder when inside it, as ``phigate test`` names
    files in its messages."""
    try:
        return path.resolve().relative_to(config.invocation_params.dir.resolve())
    except ValueError:
        return path


def _fixtures(config: pytest.Config, root: Path, file: Path) -> list[Fixture]:
    """The fixtures of ``file``, read with every other fixture under ``root`` in one pass (each
    pass compiles the record schemas, a noticeable cost per file). A problem elsewhere under the
    root is that file's collection error, not this one's."""
    cache = config.stash.setdefault(_FIXTURES, {})
    if root not in cache:
        try:
            loaded: list[Fixture] | ProblemsError = load_fixtures([root])
        except ProblemsError as exc:
            loaded = exc
        cache[root] = loaded
    found = cache[root]
    if isinstance(found, ProblemsError):
        return load_fixtures([_shown(config, file)])
    return [f for f in found if Path(f.file).resolve() == file]


def _policies(config: pytest.Config, root: Path) -> list[Policy]:
    cache = config.stash.setdefault(_POLICIES, {})
    if root not in cache:
        cache[root] = load_policies([root], phigate_config(config))
    return cache[root]


class FixtureFile(pytest.File):
    """A ``NAME.test.yaml`` file: one test per case. Problems in it are collection errors."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            root = _shown(self.config, _policy_root(self.config, self.path.resolve()))
            fixtures = _fixtures(self.config, root, self.path.resolve())
            by_id = {p.id: p for p in _policies(self.config, root)}
        except ProblemsError as exc:
            _problems(self, exc)
        for fixture in fixtures:
            if fixture.policy_id not in by_id:
                raise self.CollectError(f"{fixture.file}:1:1: fixture for unknown policy "
                                        f"'{fixture.policy_id}' (/policy)")
            for case in fixture.cases:
                item = CaseItem.from_parent(self, name=case.name, policy=by_id[fixture.policy_id], case=case)
                item.add_marker("phigate_fixture")
                item.extra_keyword_matches.add(fixture.policy_id)
                yield item


def _problems(node: pytest.Collector, exc: ProblemsError) -> NoReturn:
    lines = [str(p) for p in exc.problems]
    raise node.CollectError("\n".join([*lines, f"{len(lines)} problem(s)"])) from None


class CaseMismatch(Exception):
    """A fixture case whose outcomes differ from what it expects."""


class CaseItem(pytest.Item):
    def __init__(self, *, policy: Policy, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy
        self.case = case

    def runtest(self) -> None:
        result = run_case(self.policy, self.case, phigate_config(self.config))
        if not result.passed:
            raise CaseMismatch("\n".join([f"{result.location}: {result.policy_id} / {result.case}:",
                                          *(f"  {d}" for d in result.differences)]))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, CaseMismatch):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        line = self.case.location.rpartition(":")[2]
        return self.path, int(line) - 1 if line.isdigit() else None, f"{self.policy.id}: {self.name}"


__all__ = ["CaseItem", "FixtureFile", "PolicyItem", "ScanCollector", "payload_for_workers",
           "requested_fixtures", "scan_payload", "summary_line", "walked_fixture"]
