"""The GitHub Action (``action.yml``, composite): its shell steps run as the runner runs them.

Each ``run:`` script is taken from action.yml and run under ``bash --noprofile --norc -eo
pipefail FILE`` (what a composite step with ``shell: bash`` gets), its ``env:`` expanded from the
inputs as the runner would, with ``GITHUB_OUTPUT``, ``GITHUB_ENV`` and ``GITHUB_STEP_SUMMARY`` in
a temporary folder. ``phigate`` is a stand-in on PATH that exits with the code a test asks for
(the one fault being injected: what the scan says), or the real CLI on a real plan.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from phigate.cli import build_parser

from .conftest import DATA, ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
EXAMPLE = ROOT / ".github/workflows/example-terraform-gate.yml"
PLAN_DIR = DATA / "terraform" / "clinic"
_EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")

#: Records its arguments (one a line) and what the baseline held when it ran, writes every
#: ``--format NAME=FILE`` unless told not to (invalid input writes nothing), exits as told.
FAKE_PHIGATE = """#!/bin/bash
printf '%s\\n' "$@" > "$FAKE_ARGS"
previous=""
for arg in "$@"; do
  if [ "$previous" = "--baseline" ] && [ -f "$arg" ]; then cp "$arg" "$FAKE_SEEN_BASELINE"; fi
  if [ "$previous" = "--format" ] && [ "$FAKE_WRITES" = yes ]; then
    case "$arg" in *=*) echo "{\\"written by\\": \\"${arg%%=*}\\"}" > "${arg#*=}" ;; esac
  fi
  previous="$arg"
done
exit "$FAKE_EXIT"
"""


def step(name: str) -> dict[str, Any]:
    return next(s for s in STEPS if s.get("id") == name or s.get("name") == name)


@dataclass
class Ran:
    code: int
    out: str
    err: str


class Runner:
    """One job's worth of runner files, and the action's shell steps run against them."""

    def __init__(self, tmp: Path, **inputs: str) -> None:
        self.work = tmp / "work"
        self.work.mkdir(exist_ok=True)
        self.bin = tmp / "bin"
        self.bin.mkdir(exist_ok=True)
        self.temp = tmp / "runner-temp"
        self.temp.mkdir(exist_ok=True)
        self.files = {name: tmp / name for name in ("output", "env", "summary.md", "args", "seen")}
        for path in self.files.values():
            path.touch()
        unknown = set(inputs) - set(ACTION["inputs"])
        assert not unknown, unknown
        self.inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        self.inputs.update(inputs)
        self.env: dict[str, str] = {}

    def fake_phigate(self, exit_code: int, *, writes: bool = True) -> None:
        path = self.bin / "phigate"
        path.write_text(FAKE_PHIGATE)
        path.chmod(0o755)
        self.env.update(FAKE_EXIT=str(exit_code), FAKE_WRITES="yes" if writes else "no",
                        FAKE_ARGS=str(self.files["args"]), FAKE_SEEN_BASELINE=str(self.files["seen"]))

    def outputs(self) -> dict[str, str]:
        lines = self.files["output"].read_text().splitlines()
        return dict(line.split("=", 1) for line in lines)

    def phigate_args(self) -> list[str]:
        return self.files["args"].read_text().splitlines()

    def _expand(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            expression = match[1]
            if expression.startswith("inputs."):
                return self.inputs[expression.removeprefix("inputs.")]
            if expression == "github.action_path":
                return str(ROOT)
            if expression.startswith("steps.scan.outputs."):
                return self.outputs().get(expression.removeprefix("steps.scan.outputs."), "")
            raise AssertionError(f"an expression the test runner does not know: {expression}")
        return _EXPRESSION.sub(value, text)

    def run(self, name: str) -> Ran:
        spec = step(name)
        assert spec["shell"] == "bash"
        script = self.work.parent / f"step-{name}.sh"
        script.write_text(spec["run"])
        env = {"PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}", "HOME": str(self.work),
               "GITHUB_OUTPUT": str(self.files["output"]), "GITHUB_ENV": str(self.files["env"]),
               "GITHUB_STEP_SUMMARY": str(self.files["summary.md"]), "RUNNER_TEMP": str(self.temp),
               **self.env,
               **{key: self._expand(str(value)) for key, value in spec.get("env", {}).items()}}
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=self.work, env=env, capture_output=True, text=True, check=False,
                              timeout=120)
        return Ran(done.returncode, done.stdout, done.stderr)


# --- the scan step and the gate, whatever phigate says ------------------------------------

@pytest.mark.parametrize(("exit_code", "writes"), [(0, True), (1, True), (2, False), (3, True)])
def test_outputs_are_written_whatever_phigate_exits_with_and_the_gate_exits_with_it(
        tmp_path: Path, exit_code: int, writes: bool) -> None:
    runner = Runner(tmp_path, targets="infra/plan.json", sarif="out/gate.sarif", report="gate.json")
    runner.fake_phigate(exit_code, writes=writes)
    scan = runner.run("scan")
    assert scan.code == 0, scan.err  # the scan step never fails: the gate decides, last
    outputs = runner.outputs()
    assert outputs["exit-code"] == str(exit_code)
    if writes:
        assert outputs["sarif"] == "out/gate.sarif" and outputs["report"] == "gate.json"
        assert json.loads((runner.work / "out/gate.sarif").read_text()) == {"written by": "sarif"}
        assert json.loads((runner.work / "gate.json").read_text()) == {"written by": "json"}
    else:  # invalid input: nothing written, nothing to upload
        assert set(outputs) == {"exit-code"}
    gate = runner.run("Gate")
    assert gate.code == exit_code
    assert ("::error" in gate.out) == (exit_code != 0)


def test_a_stale_sarif_is_never_an_output(tmp_path: Path) -> None:
    runner = Runner(tmp_path, targets="plan.json")
    (runner.work / "phigate.sarif").write_text('{"stale": true}')
    runner.fake_phigate(2, writes=False)
    assert runner.run("scan").code == 0
    assert runner.outputs() == {"exit-code": "2"}
    assert (runner.work / "phigate.sarif").read_text() == '{"stale": true}'  # left alone


def test_workflow_commands_are_stopped_while_phigate_runs(tmp_path: Path) -> None:
    runner = Runner(tmp_path, targets="plan.json")
    runner.fake_phigate(1)
    ran = runner.run("scan")
    lines = ran.out.splitlines()
    stop = next(line for line in lines if line.startswith("::stop-commands::"))
    token = stop.removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-1] == f"::{token}::"


def test_a_symlink_or_a_line_break_at_a_report_path_is_never_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    runner = Runner(tmp_path, targets="plan.json", sarif="linked.sarif")
    (runner.work / "linked.sarif").symlink_to(target)
    runner.fake_phigate(1)
    ran = runner.run("scan")
    assert "symbolic link" in ran.out and target.read_text() == "untouched"
    assert "sarif" not in runner.outputs()
    (tmp_path / "b").mkdir()
    broken = Runner(tmp_path / "b", targets="plan.json", sarif="a\nreport=/etc/passwd")
    broken.fake_phigate(1)
    assert "line break" in broken.run("scan").out
    assert "sarif" not in broken.outputs() and "/etc/passwd" not in broken.files["output"].read_text()


def test_the_report_may_be_the_baseline_it_reads(tmp_path: Path) -> None:
    runner = Runner(tmp_path, targets="plan.json", baseline=".phigate/baseline.json",
                    report=".phigate/baseline.json")
    (runner.work / ".phigate").mkdir()
    (runner.work / ".phigate/baseline.json").write_text('{"the": "baseline"}')
    runner.fake_phigate(1)
    assert runner.run("scan").code == 0
    assert runner.files["seen"].read_text() == '{"the": "baseline"}'  # intact when read
    assert runner.outputs()["report"] == ".phigate/baseline.json"
    assert json.loads((runner.work / ".phigate/baseline.json").read_text()) == {"written by": "json"}


def test_a_scan_that_did_not_finish_fails_the_gate_as_incomplete(tmp_path: Path) -> None:
    runner = Runner(tmp_path, targets="plan.json")
    gate = runner.run("Gate")  # no exit-code output: the scan step died before writing it
    assert gate.code == 3 and "did not finish" in gate.out


# --- inputs become arguments --------------------------------------------------------------

def test_inputs_become_phigate_arguments_never_shell_text(tmp_path: Path) -> None:
    runner = Runner(tmp_path, targets="infra/prod/plan.json infra/staging/plan.json",
                    **{"tf-dir": "infra", "changed-only": "true", "fail-on": "high",
                       "waivers": ".phigate/waivers.yaml", "baseline": ".phigate/baseline.json",
                       "policies": "policies/a policies/b", "args": "--only PHI-ENC-* $(touch pwned)",
                       "sarif": "", "report": ""})
    runner.fake_phigate(0)
    assert runner.run("scan").code == 0
    summary = str(runner.files["summary.md"])
    assert runner.phigate_args() == [
        "scan", "infra/prod/plan.json", "infra/staging/plan.json", "--changed-only",
        "--tf-dir", "infra", "--policies", "policies/a", "--policies", "policies/b",
        "--waivers", ".phigate/waivers.yaml", "--baseline", ".phigate/baseline.json",
        "--fail-on", "high", "--format", f"markdown={summary}", "--format", "text",
        "--only", "PHI-ENC-*", "$(touch", "pwned)"]
    assert not (runner.work / "pwned").exists()
    assert runner.outputs() == {"exit-code": "0"}  # sarif and report turned off


def test_empty_inputs_add_no_arguments(tmp_path: Path) -> None:
    runner = Runner(tmp_path, targets="plan.json", **{"fail-on": "", "sarif": "", "report": ""})
    runner.fake_phigate(0)
    assert runner.run("scan").code == 0
    summary = str(runner.files["summary.md"])
    assert runner.phigate_args() == ["scan", "plan.json", "--format", f"markdown={summary}",
                                     "--format", "text"]


def test_the_arguments_the_scan_step_builds_are_accepted_by_phigate_scan(tmp_path: Path) -> None:
    runner = Runner(tmp_path, targets="plan.json", **{"tf-dir": "infra", "changed-only": "true",
                                                      "waivers": "w.yaml", "baseline": "b.json",
                                                      "config": "phigate.yaml", "policies": "p"})
    runner.fake_phigate(0)
    assert runner.run("scan").code == 0
    args = build_parser().parse_args(runner.phigate_args())  # an unknown option exits 2
    assert args.changed_only is True and args.tf_dir == Path("infra")
    assert args.baseline == Path("b.json") and args.waivers == Path("w.yaml")
    assert [f.split("=")[0] for f in args.format] == ["sarif", "json", "markdown", "text"]


@pytest.mark.parametrize("value", ["yes", "True", "1"])
def test_changed_only_other_than_true_or_false_is_invalid_input(tmp_path: Path, value: str) -> None:
    runner = Runner(tmp_path, targets="plan.json", **{"changed-only": value})
    runner.fake_phigate(0)
    scan = runner.run("scan")
    assert scan.code == 0 and "changed-only input takes true or false" in scan.out
    assert runner.phigate_args() == []  # phigate was not run
    assert runner.outputs() == {"exit-code": "2"}
    assert runner.run("Gate").code == 2


# --- installation -------------------------------------------------------------------------

FAKE_PYTHON = """#!/bin/bash
# `python -m venv DIR` makes DIR/bin/python, which records what pip was asked to install.
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  printf '#!/bin/bash\\nprintf "%%s\\\\n" "$@" > "%s"\\n' "$PIP_ARGS" > "$3/bin/python"
  chmod +x "$3/bin/python"
  exit 0
fi
exit 99
"""


@pytest.mark.parametrize(("extras", "tf_dir", "spec"), [
    ("", "", ""),
    ("aws", "", "[aws]"),
    ("", "infra", "[terraform]"),
    ("aws, gcp", "infra", "[aws,gcp,terraform]"),
    ("terraform", "infra", "[terraform]"),
    (",aws,,gcp,", "infra", "[aws,gcp,terraform]"),
])
def test_install_adds_the_extras_asked_for_and_terraform_for_tf_dir(
        tmp_path: Path, extras: str, tf_dir: str, spec: str) -> None:
    runner = Runner(tmp_path, targets="plan.json", extras=extras, **{"tf-dir": tf_dir})
    python = runner.bin / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    runner.env["PIP_ARGS"] = str(runner.files["args"])
    install = runner.run("Install phigate")
    assert install.code == 0, install.err
    assert runner.phigate_args()[-1] == f"{ROOT}{spec}"
    assert runner.phigate_args()[:3] == ["-m", "pip", "install"]
    assert runner.files["env"].read_text() == f"PHIGATE_BIN={runner.temp}/phigate-venv/bin/phigate\n"


def test_install_refuses_extras_that_are_not_names(tmp_path: Path) -> None:
    runner = Runner(tmp_path, targets="plan.json", extras="aws] @ https://example.invalid/x.whl")
    install = runner.run("Install phigate")
    assert install.code == 2 and "extras input" in install.out
    assert runner.files["env"].read_text() == ""


# --- the real CLI through the scan step ----------------------------------------------------

def test_the_scan_step_with_phigate_on_a_real_plan(tmp_path: Path) -> None:
    runner = Runner(tmp_path, targets=str(PLAN_DIR / "plan.json"),
                    **{"tf-dir": str(PLAN_DIR), "changed-only": "true", "fail-on": "high"})
    phigate = runner.bin / "phigate"
    phigate.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m phigate.cli "$@"\n')
    phigate.chmod(0o755)
    scan = runner.run("scan")
    assert scan.code == 0, scan.err
    outputs = runner.outputs()
    # The clinic plan holds values known only after apply: evidence incomplete.
    assert outputs == {"exit-code": "3", "sarif": "phigate.sarif", "report": "phigate-report.json"}
    report = json.loads((runner.work / "phigate-report.json").read_text())
    assert report["summary"]["error"] > 0
    addresses = {f["resource"].get("address") for f in report["findings"]}
    assert "aws_s3_bucket.archive" in addresses and None not in addresses
    sarif = json.loads((runner.work / "phigate.sarif").read_text())
    assert sarif["runs"][0]["results"]
    assert "aws_s3_bucket.archive" in runner.files["summary.md"].read_text()
    assert runner.run("Gate").code == 3


# --- the action's shape and the example workflow --------------------------------------------

def test_the_action_is_a_composite_that_installs_scans_uploads_then_gates() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert {"targets", "tf-dir", "changed-only", "baseline", "waivers", "fail-on", "extras",
            "sarif", "report"} <= set(ACTION["inputs"])
    text = (ROOT / "action.yml").read_text()
    for used in set(re.findall(r"inputs\.([a-z-]+)", text)):
        assert used in ACTION["inputs"], f"action.yml reads an undeclared input: {used}"
    for spec in STEPS:
        # Inputs reach scripts as environment variables, never pasted into shell text.
        assert "${{" not in spec.get("run", ""), spec.get("name")
    assert STEPS[0]["uses"].startswith("actions/setup-python@")
    upload = next(s for s in STEPS if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert "always()" in upload["if"] and "steps.scan.outputs.sarif" in upload["if"]
    gate = STEPS[-1]
    assert gate["name"] == "Gate" and gate["if"] == "always()"
    assert STEPS.index(upload) < STEPS.index(gate)
    assert set(ACTION["outputs"]) == {"exit-code", "sarif", "report"}


def test_the_example_workflow_plans_then_uses_the_gate_inputs() -> None:
    workflow = yaml.safe_load(EXAMPLE.read_text())
    job = workflow["jobs"]["phigate"]
    assert job["permissions"]["security-events"] == "write"
    steps = job["steps"]
    run = "\n".join(s.get("run", "") for s in steps)
    assert "terraform init" in run and "terraform plan" in run and "terraform show -json" in run
    terraform = next(s for s in steps if s.get("uses", "").startswith("hashicorp/setup-terraform@"))
    assert terraform["with"]["terraform_wrapper"] is False
    gate = next(s for s in steps if s.get("uses") == "./")
    assert set(gate["with"]) <= set(ACTION["inputs"])
    assert {"targets", "tf-dir", "changed-only", "baseline", "waivers", "fail-on", "extras"} <= set(gate["with"])
