"""Collection on a Dask cluster gives the findings of a local run, and a lost slice is an error.

The example estate is split over several snapshot files (references cross the files: principals
in one read stores in another, one key encrypts stores of several), so only a merge of every
slice before evaluation can decide them as a local run does. Workers are real: an in-process
cluster for speed, worker processes where a worker must die.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dask
import pytest
from dask.distributed import LocalCluster

from phigate.api import Provider, Record
from phigate.config import Config
from phigate.executors import arrange, slices_of
from phigate.executors import cluster as cluster_module
from phigate.executors.cluster import ClusterCollection
from phigate.load import bundled_pack, load_policies
from phigate.model import Policy, Status
from phigate.problems import ProblemsError
from phigate.run import RunResult, scan
from phigate.testing import run_context
from phigate_providers.s3_inventory import S3InventoryProvider
from phigate_providers.snapshot import SnapshotProvider
from tests.aws_server import free_port
from tests.test_s3_inventory import rows, write_report

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "supplier-estate.json"
PARTS = 4


@pytest.fixture(scope="module")
def policies() -> list[Policy]:
    return load_policies([bundled_pack()])


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example estate in four files, plus one account that could not be read."""
    folder = tmp_path_factory.mktemp("estate")
    resources = json.loads(EXAMPLE.read_text())["resources"]
    for part in range(PARTS):
        errors = [{"provider": "aws", "message": "ListBuckets: AccessDenied", "scope": "999988887777",
                   "kinds": ["object_store"], "permission": "s3:ListAllMyBuckets"}] if part == 2 else []
        (folder / f"part-{part}.json").write_text(json.dumps(
            {"phigate_snapshot": 1, "resources": resources[part::PARTS], "errors": errors}))
    return folder


@pytest.fixture(scope="module")
def process_cluster() -> Iterator[str]:
    """Two worker processes, for the tests where one dies; a task may lose one worker and be
    re-run, not two."""
    with (dask.config.set({"distributed.scheduler.allowed-failures": 1}),
          LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster):
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def threads_cluster() -> Iterator[str]:
    """Two workers in this process: fast, enough for everything but a dying worker."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def outcome(result: RunResult) -> dict[str, Any]:
    """What a report says, in a comparable form."""
    return {
        "findings": [(f.policy_id, f.resource.id, f.status.value, f.message,
                      [(o.path, o.op, json.dumps(o.observed, default=str), o.outcome) for o in f.evidence])
                     for f in result.findings],
        "counts": result.counts,
        "errors": result.collection_errors,
        "scopes": result.scopes,
        "resources": result.resources_seen,
    }


def on_cluster(providers: list[Provider], address: str, **options: Any) -> ClusterCollection:
    return ClusterCollection(providers, scheduler=address, **options)


# --- the same findings ------------------------------------------------------------------------


def test_a_cluster_run_gives_the_findings_of_a_local_run(estate: Path, threads_cluster: str,
                                                         policies: list[Policy]) -> None:
    local = scan([SnapshotProvider([estate])], policies, Config(), keep_passed=True)
    remote = scan([on_cluster([SnapshotProvider([estate])], threads_cluster)], policies, Config(),
                  keep_passed=True)
    assert len(slices_of(SnapshotProvider([estate]))) == PARTS
    assert outcome(remote) == outcome(local)
    assert local.totals()[Status.FAIL] > 0 and local.collection_errors
    # the cross-file references were decided, not left undecided
    seg = {f.resource.id: f.status for f in local.findings if f.policy_id == "PHI-SEG-002"}
    assert Status.FAIL in seg.values() and Status.PASS in seg.values()


def test_several_providers_and_a_provider_without_slices(estate: Path, threads_cluster: str, tmp_path: Path,
                                                         policies: list[Policy]) -> None:
    for bucket in ("exemplum-prod-clinical-notes", "exemplum-scans", "exemplum-invoices"):
        write_report(tmp_path, bucket, rows(bucket, {"NOT-SSE": 2, "SSE-S3": 1}), file_format="Parquet")

    def providers() -> list[Provider]:
        (reports,) = S3InventoryProvider.configure([str(tmp_path)], run_context())
        return [SnapshotProvider([estate / "part-0.json"]), WholeOnly([EXAMPLE]), reports]

    local = scan(providers(), policies, Config())
    remote = scan([on_cluster(providers(), threads_cluster)], policies, Config())
    assert len(slices_of(providers()[2])) == 3 and len(slices_of(providers()[1])) == 1
    assert outcome(remote) == outcome(local)
    # the clinical bucket of the estate, seen through its inventory
    assert ("PHI-ENC-005", "s3-inventory:exemplum-prod-clinical-notes/daily", "fail") in [
        f[:3] for f in outcome(local)["findings"]]


def test_a_slice_that_cannot_travel_is_collected_in_the_client(threads_cluster: str,
                                                              policies: list[Policy]) -> None:
    local = scan([SnapshotProvider([EXAMPLE])], policies, Config())
    remote = scan([on_cluster([Unpicklable([EXAMPLE])], threads_cluster)], policies, Config())
    assert outcome(remote) == outcome(local)


def test_the_command_line_runs_on_a_scheduler(estate: Path, threads_cluster: str, tmp_path: Path,
                                              cli: Callable[..., Any]) -> None:
    local, remote = tmp_path / "local.json", tmp_path / "remote.json"
    first = cli("scan", str(estate), "--quiet", "--format", f"json={local}")
    second = cli("scan", str(estate), "--quiet", "--format", f"json={remote}", "--executor", "dask",
                 "--scheduler", threads_cluster)
    assert first.code == second.code == 3  # failures, and the unreadable account
    strip = ("started", "finished", "duration_seconds")
    reports = [{k: v for k, v in json.loads(p.read_text()).items() if k not in strip} for p in (local, remote)]
    assert reports[0] == reports[1]


# --- failures ---------------------------------------------------------------------------------


def test_a_slice_that_raises_once_is_retried(estate: Path, threads_cluster: str, tmp_path: Path,
                                             policies: list[Policy]) -> None:
    local = scan([SnapshotProvider([estate])], policies, Config())
    flaky = Faulty([estate], fault="raise", marker=tmp_path / "raised", times=1)
    remote = scan([on_cluster([flaky], threads_cluster)], policies, Config())
    assert (tmp_path / "raised").exists()
    assert outcome(remote) == outcome(local)


def test_a_slice_that_keeps_failing_is_an_error_for_its_scope(estate: Path, threads_cluster: str,
                                                              tmp_path: Path, policies: list[Policy]) -> None:
    broken = Faulty([estate], fault="raise", marker=tmp_path / "raised", times=99)
    remote = scan([on_cluster([broken], threads_cluster, retries=1)], policies, Config(), keep_passed=True)
    assert (tmp_path / "raised").read_text() == "2"  # one attempt and one retry
    _no_pass_for_the_lost_slice(remote, estate, policies)
    assert len(remote.collection_errors) == 2  # the lost slice, and the unreadable account


def test_a_worker_killed_mid_run_changes_no_finding(estate: Path, tmp_path: Path, process_cluster: str,
                                                   policies: list[Policy]) -> None:
    local = scan([SnapshotProvider([estate])], policies, Config())
    killer = Faulty([estate], fault="exit", marker=tmp_path / "killed", times=1)
    remote = scan([on_cluster([killer], process_cluster)], policies, Config())
    assert (tmp_path / "killed").read_text() == "1"  # a worker did die
    assert outcome(remote) == outcome(local)


def test_a_slice_whose_workers_keep_dying_is_an_error_never_a_pass(estate: Path, tmp_path: Path,
                                                                   process_cluster: str,
                                                                   policies: list[Policy]) -> None:
    killer = Faulty([estate], fault="exit", marker=tmp_path / "killed", times=99)
    remote = scan([on_cluster([killer], process_cluster)], policies, Config(), keep_passed=True)
    assert (tmp_path / "killed").read_text() == "2"
    _no_pass_for_the_lost_slice(remote, estate, policies)


def test_a_slice_that_never_answers_is_an_error_not_an_endless_wait(estate: Path, threads_cluster: str,
                                                                   tmp_path: Path,
                                                                   policies: list[Policy]) -> None:
    _RELEASE.clear()
    stuck = Faulty([estate], fault="hang", marker=tmp_path / "hung", times=99)
    try:
        remote = scan([on_cluster([stuck], threads_cluster, timeout=2.0)], policies, Config(), keep_passed=True)
    finally:
        _RELEASE.set()  # the worker thread still waits: let it go
    assert (tmp_path / "hung").read_text() == "1"
    lost = [e.message for e in remote.collection_errors if "could not be collected" in e.message]
    # On a busy machine a healthy slice may outlast the short wait too: it is then lost alike.
    assert f"snapshot slice {Faulty.VICTIM + 1}/{PARTS} could not be collected (TimeoutError): " \
           "its resources were not seen" in lost
    _no_pass_for_the_lost_slice(remote, estate, policies)


def _no_pass_for_the_lost_slice(remote: RunResult, estate: Path, policies: list[Policy]) -> None:
    """The victim's resources are nowhere, every policy is an error for its file, and nothing
    passes that a local run did not pass. (Other slices may be lost too: a dying worker takes
    the task it was running and the results it held with it.)"""
    files = {str(f): {r["id"] for r in json.loads(f.read_text())["resources"]} for f in sorted(estate.iterdir())}
    victim = str(estate / f"part-{Faulty.VICTIM}.json")
    lost = {e.scope for e in remote.collection_errors if "could not be collected" in e.message}
    assert victim in lost
    for scope in lost:
        assert not any(f.resource.id in files[scope] for f in remote.findings)
        errored = {f.policy_id for f in remote.findings if f.status is Status.ERROR and f.resource.scope == scope}
        assert errored == {p.id for p in policies}
    assert remote.exit_code(min(p.severity for p in policies)) == 3
    local = scan([SnapshotProvider([estate])], policies, Config(), keep_passed=True)
    seen = {rid for scope, ids in files.items() if scope not in lost for rid in ids}
    statuses = {(f.policy_id, f.resource.id): f.status for f in local.findings}
    for finding in remote.findings:
        if finding.status is Status.PASS:
            assert statuses[(finding.policy_id, finding.resource.id)] is Status.PASS
    # A failure stays a failure, or turns into an error where a reference led into a lost slice.
    remote_statuses = {(f.policy_id, f.resource.id): f.status for f in remote.findings}
    for (policy_id, resource_id), status in statuses.items():
        if status is Status.FAIL and resource_id in seen:
            assert remote_statuses[(policy_id, resource_id)] in (Status.FAIL, Status.ERROR)
    assert len(lost) < PARTS


def test_input_problems_of_a_slice_stop_the_run(estate: Path, threads_cluster: str, tmp_path: Path,
                                                policies: list[Policy]) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.json").write_text((estate / "part-0.json").read_text())
    (bad / "b.json").write_text('{"phigate_snapshot": 1, "resources": [{"id": 3}]}')
    with pytest.raises(ProblemsError):
        scan([on_cluster([SnapshotProvider([bad])], threads_cluster)], policies, Config())
    (bad / "b.json").write_text((estate / "part-0.json").read_text())  # the same ids twice
    with pytest.raises(ProblemsError, match="duplicate resource id"):
        scan([on_cluster([SnapshotProvider([bad])], threads_cluster)], policies, Config())


# --- options ----------------------------------------------------------------------------------


def test_executor_options_are_checked(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("scan", str(EXAMPLE), "--scheduler", "tcp://127.0.0.1:8786").code == 2
    assert cli("scan", str(EXAMPLE), "--executor", "dask", "--scheduler", "127.0.0.1:8786").code == 2
    assert cli("scan", str(EXAMPLE), "--executor", "dask", "--scheduler", "tcp://x:1",
               "--dask-workers", "2").code == 2
    assert cli("scan", str(EXAMPLE), "--executor", "dask", "--dask-workers", "0").code == 2
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", "1s")
    result = cli("scan", str(EXAMPLE), "--quiet", "--executor", "dask", "--scheduler",
                 f"tcp://127.0.0.1:{free_port()}")
    assert result.code == 2 and "cannot reach the Dask scheduler" in result.err


def test_the_local_executor_leaves_providers_alone_and_never_imports_dask() -> None:
    providers = [SnapshotProvider([EXAMPLE])]
    assert arrange(providers, argparse.Namespace(executor="local", scheduler=None, dask_workers=None)) == providers
    code = ("import sys; from phigate.cli import main; code = main(['scan', sys.argv[1], '--quiet', '--only', 'PHI-ENC-002']); "
            "loaded = [m for m in ('dask', 'distributed', 'duckdb') if m in sys.modules]; "
            "print(code, loaded)")
    done = subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert done.stdout.strip().splitlines()[-1] == "1 []"


# --- test providers ---------------------------------------------------------------------------


class WholeOnly(SnapshotProvider):
    """A provider that does not split: collected as one task."""

    slices = None  # type: ignore[assignment]


class Unpicklable(WholeOnly):
    """Holds what cannot be pickled (a lock), as a provider with an open connection would."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__(paths)
        self.lock = threading.Lock()


#: Lets a hung slice go (the threads cluster runs slices in this process).
_RELEASE = threading.Event()


class Faulty(SnapshotProvider):
    """Snapshot files, one of whose slices fails its first ``times`` attempts: by raising, or by
    killing the worker process that runs it. ``marker`` counts the attempts (across processes)."""

    VICTIM = 1

    def __init__(self, paths: list[Path], *, fault: str = "", marker: Path | None = None,
                 times: int = 0) -> None:
        super().__init__(paths)
        self.fault, self.marker, self.times = fault, marker, times

    def slices(self) -> list[SnapshotProvider]:
        parts = super().slices()
        parts[self.VICTIM] = _FailingPart(parts[self.VICTIM].paths, self.fault, self.marker, self.times)
        return parts


class _FailingPart(SnapshotProvider):
    def __init__(self, paths: list[Path], fault: str, marker: Path | None, times: int) -> None:
        super().__init__(paths)
        self.fault, self.marker, self.times = fault, marker, times

    def collect(self) -> Iterator[Record]:
        assert self.marker is not None
        attempts = int(self.marker.read_text()) if self.marker.exists() else 0
        if attempts < self.times:
            self.marker.write_text(str(attempts + 1))
            if self.fault == "exit":
                os._exit(1)  # the worker process dies mid-task
            if self.fault == "hang":  # a call that never returns, until the test lets it go
                _RELEASE.wait(timeout=120)
                return
            raise RuntimeError("transient failure")
        yield from super().collect()

