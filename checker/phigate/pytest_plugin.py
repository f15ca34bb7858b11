"""pytest plugin: compliance policies as tests (see docs/pytest.md).

Installed with phigate and loaded by every pytest run, so it costs nothing until asked for:
at import time only hook functions, options and marker names; the engine is imported when
``--phigate``, an inventory, fixture folders or one of the fixtures ask for it.
``-p no:phigate`` disables it altogether.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from phigate.pytest_markers import framework_marker

if TYPE_CHECKING:
    from phigate.api import Resource
    from phigate.result import RunResult

SEVERITIES = ("critical", "high", "medium", "low", "info")
FIXTURE_SUFFIXES = (".test.yaml", ".test.yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("phigate", "phigate: compliance policies as tests")
    group.addoption("--phigate", action="store_true",
                    help="collect every selected policy and resource outcome as a test")
    group.addoption("--phigate-inventory", action="append", default=[], metavar="PATH",
                    help="snapshot file or folder, or Terraform plan, to scan (repeatable)")
    group.addoption("--phigate-provider", action="append", default=[], metavar="NAME",
                    help="live provider to collect from, configured by the phigate config file")
    group.addoption("--phigate-policies", action="append", default=[], metavar="PATH",
                    help="policy file or folder (repeatable; default: the bundled pack)")
    group.addoption("--phigate-config", metavar="FILE",
                    help="phigate config file (default: phigate.yaml in the rootdir, if any)")
    group.addoption("--phigate-only", action="append", default=[], metavar="ID",
                    help="evaluate only these policy ids (globs; repeatable)")
    group.addoption("--phigate-waivers", metavar="FILE",
                    help="waiver file: waived failures are reported as xfail")
    group.addoption("--phigate-fixtures", action="append", default=[], metavar="PATH",
                    help="collect the policy fixtures (NAME.test.yaml) under PATH, one test per case")
    for name, kind, text in (
        ("phigate_inventory", "paths", "snapshots or plans to scan (enables the scan)"),
        ("phigate_provider", "linelist", "live providers to collect from (enables the scan)"),
        ("phigate_policies", "paths", "policy files or folders (default: the bundled pack)"),
        ("phigate_config", "string", "phigate config file"),
        ("phigate_only", "linelist", "policy ids (globs) to evaluate"),
        ("phigate_waivers", "string", "waiver file"),
        ("phigate_fixtures", "paths", "folders whose policy fixtures are collected"),
    ):
        parser.addini(name, text, type=kind)  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "phigate: an outcome of the phigate scan (policy and resource)")
    config.addinivalue_line("markers", "phigate_fixture: a case of a phigate policy fixture")
    for severity in SEVERITIES:
        config.addinivalue_line("markers", f"phigate_{severity}: a phigate policy of {severity} severity")
    for marker, keys in _bundled_framework_markers().items():
        config.addinivalue_line("markers", f"{marker}: phigate policies mapped to {', '.join(keys)}")


def _bundled_framework_markers() -> dict[str, list[str]]:
    """Marker name → framework keys, from the bundled catalogues' file names (named after
    their keys): a directory listing, nothing parsed."""
    try:
        folder = resources.files("phigate_policies").joinpath("frameworks")
        keys = sorted(Path(e.name).stem for e in folder.iterdir() if e.name.endswith(".yaml"))
    except (ModuleNotFoundError, OSError):
        return {}
    markers: dict[str, list[str]] = {}
    for key in keys:
        markers.setdefault(framework_marker(key), []).append(key)
    return markers


def _scan_wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("phigate") or config.getoption("phigate_inventory")
                or config.getoption("phigate_provider") or config.getini("phigate_inventory")
                or config.getini("phigate_provider"))


def _fixtures_wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("phigate") or config.getoption("phigate_fixtures")
                or config.getini("phigate_fixtures"))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport,
                                                                         pytest.CollectReport]:
    """The session collects the scan and the requested fixture files after pytest's own walk."""
    report = yield
    if isinstance(collector, pytest.Session) and report.passed:
        config = collector.config
        if _fixtures_wanted(config) and (config.getoption("phigate_fixtures")
                                         or config.getini("phigate_fixtures")):
            from phigate.pytest_items import requested_fixtures

            report.result.extend(requested_fixtures(collector))
        if _scan_wanted(config):
            from phigate.pytest_items import ScanCollector

            report.result.append(ScanCollector.from_parent(collector, name="phigate", nodeid="phigate"))
    return report


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not file_path.name.endswith(FIXTURE_SUFFIXES) or not _fixtures_wanted(parent.config):
        return None
    from phigate.pytest_items import walked_fixture

    return walked_fixture(parent, file_path)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, on the controller: scan once and hand the result to each worker."""
    if _scan_wanted(node.config):
        from phigate.pytest_items import WORKER_KEY, payload_for_workers

        node.workerinput[WORKER_KEY] = payload_for_workers(node.config)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _scan_wanted(config):
        from phigate.pytest_items import summary_line

        line = summary_line(config)
        if line:
            terminalreporter.write_line(line)


# -- fixtures for a team's own tests (phigate.testing, with the session's policies and config) --

@pytest.fixture
def phigate_resource() -> Callable[..., Resource]:
    """Build a resource from its snapshot form, checked against the kind's schema."""
    from phigate.testing import resource

    return resource


@pytest.fixture
def phigate_snapshot() -> Callable[[str | Path], list[Any]]:
    """Read every record of a snapshot file or folder."""
    from phigate.testing import load_snapshot

    return load_snapshot


@pytest.fixture
def phigate_scan(pytestconfig: pytest.Config) -> Callable[..., RunResult]:
    """``phigate_scan(resources_or_snapshot_path, policies=…, only=…)`` → the run's result."""
    from phigate.pytest_items import phigate_config, scan_settings
    from phigate.testing import scan_inventory

    default_policies = list(scan_settings(pytestconfig).policies) or None

    def scan(inventory: Any, *, policies: Any = None, only: Any = None, config: Any = None) -> RunResult:
        return scan_inventory(inventory, policies=policies or default_policies, only=only,
                              config=config or phigate_config(pytestconfig))
    return scan


@pytest.fixture
def assert_compliant(pytestconfig: pytest.Config) -> Callable[..., None]:
    """``assert_compliant(result_or_resources, policy=…)``: AssertionError listing failures."""
    from phigate.pytest_items import phigate_config, scan_settings
    from phigate.testing import assert_compliant as check

    default_policies = list(scan_settings(pytestconfig).policies) or None

    def assert_(subject: Any, policy: Any = None, *, policies: Any = None, config: Any = None) -> None:
        __tracebackhide__ = True
        check(subject, policy, policies=policies or default_policies,
              config=config or phigate_config(pytestconfig))
    return assert_
