"""Bounded reads and safe writes: no input file can hang a run or exhaust its memory, and no
output file can be redirected by another user or left readable by them."""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from phigate.files import LIMITS, atomic_write, limit, open_bounded, read_bounded
from phigate.problems import ProblemsError
from phigate.testing import run_context
from phigate_providers.snapshot import SnapshotProvider
from phigate_providers.terraform.provider import TerraformProvider

from .conftest import DATA, ROOT, CliResult, resource

EXAMPLE = ROOT / "examples" / "supplier-estate.json"
PLAN = DATA / "terraform" / "clinic"
Cli = Callable[..., CliResult]


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    """A reader that blocks on a FIFO would hang the suite: fail it after 20 s instead."""
    def expired(*_: object) -> None:
        raise TimeoutError("a reader blocked")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


def _plan() -> Path:
    return next(p for p in sorted(PLAN.rglob("*.json")) if "format_version" in p.read_text())


# -- the reader itself ---------------------------------------------------------------------

def test_a_fifo_with_no_writer_is_refused_without_blocking(fifo: Path) -> None:
    with pytest.raises(ProblemsError, match=r"pipe.json:1:1: not a regular file \(a pipe\)"):
        read_bounded(fifo, "baseline")


def test_a_character_device_is_refused_unread() -> None:
    with pytest.raises(ProblemsError, match=r"/dev/zero:1:1: not a regular file \(a character device\)"):
        read_bounded(Path("/dev/zero"), "config")


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "waivers.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ProblemsError, match="character device"):
        read_bounded(link, "waivers")


def test_a_file_over_its_limit_is_refused_and_names_the_variable(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"x" * 2048)
    monkeypatch.setenv("PHIGATE_MAX_BASELINE_BYTES", "1024")
    assert limit("baseline") == 1024
    with pytest.raises(ProblemsError, match=r"2048 bytes, over the 1024-byte limit "
                                            r"\(PHIGATE_MAX_BASELINE_BYTES\)"):
        read_bounded(big, "baseline")
    monkeypatch.setenv("PHIGATE_MAX_BASELINE_BYTES", "4096")
    assert read_bounded(big, "baseline") == b"x" * 2048


def test_a_file_growing_past_its_limit_while_read_is_refused(tmp_path: Path) -> None:
    growing = tmp_path / "grow.jsonl"
    growing.write_bytes(b"a" * 100)
    with open_bounded(growing, "snapshot_lines", max_bytes=150) as stream:
        assert stream.read(10) == b"a" * 10
        with growing.open("ab") as more:
            more.write(b"b" * 100)  # now 200 bytes: past the limit it was opened with
        with pytest.raises(ProblemsError, match="grew past the 150-byte limit"):
            stream.read()


@pytest.mark.parametrize("value", ["0", "-5", "lots"])
def test_a_limit_that_is_no_positive_number_is_an_input_error(value: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHIGATE_MAX_CONFIG_BYTES", value)
    with pytest.raises(ProblemsError, match="PHIGATE_MAX_CONFIG_BYTES:1:1: takes a positive number"):
        limit("config")


# -- every reader, through the command line -----------------------------------------------

def test_a_config_naming_dev_zero_as_its_waivers_is_refused(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "phigate.yaml"
    config.write_text("waivers: /dev/zero\n")
    result = cli("scan", str(EXAMPLE), "--config", str(config))
    assert result.code == 2
    assert "/dev/zero:1:1: not a regular file (a character device)" in result.err
    assert "Traceback" not in result.err


def test_dev_zero_as_the_config_file_is_refused(cli: Cli) -> None:
    result = cli("scan", str(EXAMPLE), "--config", "/dev/zero")
    assert result.code == 2 and "not a regular file" in result.err


def test_a_fifo_as_the_baseline_is_refused_without_hanging(cli: Cli, fifo: Path) -> None:
    result = cli("scan", str(EXAMPLE), "--baseline", str(fifo))
    assert result.code == 2
    assert f"{fifo}:1:1: not a regular file (a pipe)" in result.err


def test_a_fifo_as_the_waiver_file_is_refused_without_hanging(cli: Cli, fifo: Path) -> None:
    result = cli("scan", str(EXAMPLE), "--waivers", str(fifo))
    assert result.code == 2 and "not a regular file (a pipe)" in result.err


def test_a_fifo_or_device_given_as_a_scan_target_is_not_read(cli: Cli, fifo: Path) -> None:
    for target in (str(fifo), "/dev/zero"):
        result = cli("scan", target)
        assert result.code == 2, target
        assert "not a phigate snapshot or a Terraform plan" in result.err


def test_the_snapshot_reader_refuses_a_fifo_and_a_device(fifo: Path) -> None:
    # As a config's `providers.snapshot.paths` names them: the reader is reached directly.
    for path in (fifo, Path("/dev/zero")):
        provider = SnapshotProvider.configure([], run_context(settings={"paths": [str(path)]}))[0]
        with pytest.raises(ProblemsError, match="not a regular file"):
            list(provider.collect())


def test_the_snapshot_reader_refuses_a_document_over_its_limit(
        write_snapshot: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_snapshot([resource(f"r{i}", "object_store") for i in range(50)])
    monkeypatch.setenv("PHIGATE_MAX_SNAPSHOT_BYTES", "1000")
    with pytest.raises(ProblemsError, match=r"over the 1000-byte limit \(PHIGATE_MAX_SNAPSHOT_BYTES\)"):
        list(SnapshotProvider([path]).collect())


def test_the_json_lines_reader_stops_at_its_limit(write_snapshot: Callable[..., Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_snapshot([resource(f"r{i}", "object_store") for i in range(50)], name="s.jsonl")
    monkeypatch.setenv("PHIGATE_MAX_SNAPSHOT_LINES_BYTES", "1000")
    with pytest.raises(ProblemsError, match="PHIGATE_MAX_SNAPSHOT_LINES_BYTES"):
        list(SnapshotProvider([path]).collect())


def test_the_plan_reader_refuses_a_plan_over_its_limit(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan()
    assert TerraformProvider.claims(str(plan))
    monkeypatch.setenv("PHIGATE_MAX_PLAN_BYTES", "100")
    result = cli("scan", str(plan))
    assert result.code == 2
    assert "-byte limit (PHIGATE_MAX_PLAN_BYTES)" in result.err


def test_the_plan_reader_refuses_a_fifo(fifo: Path) -> None:
    with pytest.raises(ProblemsError, match="not a regular file"):
        TerraformProvider(fifo).read()
    assert not TerraformProvider.claims(str(fifo))


# -- writes --------------------------------------------------------------------------------

def test_a_collected_snapshot_is_private_and_no_temporary_file_is_left(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "snap.jsonl"
    result = cli("collect", str(EXAMPLE), "-o", str(out), "-q")
    assert result.code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["snap.jsonl"]


def test_collect_refuses_to_write_through_a_symlink(cli: Cli, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    out = tmp_path / "snap.json"
    out.symlink_to(victim)
    result = cli("collect", str(EXAMPLE), "-o", str(out))
    assert result.code == 2 and "is a symbolic link" in result.err
    assert victim.read_text() == "untouched"


def test_the_old_predictable_temporary_name_is_not_followed(cli: Cli, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    (tmp_path / "snap.json.partial").symlink_to(victim)  # what another user could plant
    result = cli("collect", str(EXAMPLE), "-o", str(tmp_path / "snap.json"), "-q")
    assert result.code == 0
    assert victim.read_text() == "untouched"
    assert json.loads((tmp_path / "snap.json").read_text())["phigate_snapshot"]


def test_report_files_are_private_and_never_written_through_a_link(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "report.sarif"
    assert cli("scan", str(EXAMPLE), "--format", f"sarif={report}").code == 1
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    link = tmp_path / "report.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    result = cli("scan", str(EXAMPLE), "--format", f"json={link}")
    assert result.code == 2 and "is a symbolic link" in result.err
    assert not (tmp_path / "elsewhere.json").exists()


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("before")
    with pytest.raises(RuntimeError), atomic_write(target) as out:
        out.write("half")
        raise RuntimeError("cut")
    assert target.read_text() == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_every_limit_is_documented_with_its_default() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    units = {1024 ** 3: "GiB", 1024 ** 2: "MiB", 1024: "KiB"}
    for name, default in LIMITS.items():
        size = next(f"{default // unit} {label}" for unit, label in units.items() if default % unit == 0)
        assert f"| {size} | `PHIGATE_MAX_{name.upper()}_BYTES` |" in text, name


def test_a_terraform_file_linked_to_a_device_is_refused_unread(cli: Cli, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "clinic"
    shutil.copytree(PLAN, folder)
    (folder / "main.tf").unlink()
    (folder / "main.tf").symlink_to("/dev/zero")  # git commits symlinks: a pull request can add one
    result = cli("scan", str(folder / "plan.json"), "--tf-dir", str(folder))
    assert result.code == 2
    assert "main.tf:1:1: not a regular file (a character device)" in result.err


def test_a_report_keeps_the_mode_its_owner_gave_it_and_a_snapshot_never_does(cli: Cli, tmp_path: Path) -> None:
    report, snapshot = tmp_path / "report.json", tmp_path / "snap.json"
    for path in (report, snapshot):
        path.write_text("{}")
        path.chmod(0o644)  # published by its owner
    assert cli("scan", str(EXAMPLE), "--format", f"json={report}").code == 1
    assert cli("collect", str(EXAMPLE), "-o", str(snapshot), "-q").code == 0
    assert stat.S_IMODE(report.stat().st_mode) == 0o644
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    assert json.loads(report.read_text())["findings"]


def test_the_audit_html_and_an_exported_snapshot_are_private_and_never_follow_a_link(
        cli: Cli, tmp_path: Path) -> None:
    store = str(tmp_path / "history.db")
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    html = tmp_path / "index.html"
    html.symlink_to(victim)
    audit = cli("audit", str(EXAMPLE), "--store", store, "--keep-snapshot", "--html", str(html), "-q")
    assert audit.code == 1  # the audit's verdict stands; the report was refused
    assert "the HTML report was not written" in audit.err and "is a symbolic link" in audit.err
    assert victim.read_text() == "untouched"
    html.unlink()
    assert cli("audit", str(EXAMPLE), "--store", store, "--html", str(html), "-q").code == 1
    assert stat.S_IMODE(html.stat().st_mode) == 0o600
    exported = tmp_path / "run1.jsonl"
    assert cli("history", "--store", store, "--snapshot", "1", "-o", str(exported)).code == 0
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    link = tmp_path / "link.jsonl"
    link.symlink_to(victim)
    result = cli("history", "--store", store, "--snapshot", "1", "-o", str(link))
    assert result.code == 2 and "is a symbolic link" in result.err
    assert victim.read_text() == "untouched"


def test_the_systems_own_streams_are_written_in_place(cli: Cli) -> None:
    import threading

    assert cli("collect", str(EXAMPLE), "-o", "/dev/null", "-q").code == 0
    assert Path("/dev/null").is_char_device()  # not replaced by a file
    read, write = os.pipe()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(os.fdopen(read, "rb").read()))
    reader.start()
    try:
        assert cli("scan", str(EXAMPLE), "--format", f"markdown=/dev/fd/{write}").code == 1
    finally:
        os.close(write)
        reader.join(10)
    assert received[0].startswith(b"## phigate: ")


def test_a_json_lines_record_longer_than_any_record_is_refused_unread(
        write_snapshot: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from phigate_providers import snapshot

    monkeypatch.setattr(snapshot, "MAX_LINE_BYTES", 4096)
    path = write_snapshot([resource("small", "object_store"),
                           resource("big", "object_store", raw={"x": "y" * 10_000})], name="s.jsonl")
    with pytest.raises(ProblemsError, match=r"s.jsonl:3:1: line longer than 4096 bytes"):
        list(SnapshotProvider([path]).collect())
