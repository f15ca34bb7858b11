"""Loading is strict and humane: every problem, located, exit 2, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from phigate.load import load_policies
from phigate.problems import ProblemsError

from .conftest import DATA

BROKEN = DATA / "broken-policies"

# file → (line, column, what the message must say)
EXPECTED = {
    "yaml-syntax.yaml": (5, 7, "YAML syntax error"),
    "duplicate-key.yaml": (6, 1, "duplicate key 'severity' (first defined at line 3)"),
    "unknown-key.yaml": (3, 1, "unknown key 'severty' (did you mean 'severity'?)"),
    "unknown-operator.yaml": (7, 30, "unknown operator 'equals'"),
    "unknown-path.yaml": (8, 14, "'versioning' in path 'versioning' is not defined for kind 'volume'"),
    "wrong-type.yaml": (4, 8, "'object_store' is not of type 'array'"),
    "missing-id.yaml": (1, 1, "'id' is required"),
    "same-id-b.yaml": (1, 5, "policy id 'BAD-SAME-ID' is already defined at"),
    "bad-regex.yaml": (5, 42, "regular expression does not compile"),
    "alias-bomb.yaml": (13, 9, "alias/anchor expansion bomb"),
    "deep-nesting.yaml": (8, 76, "nesting deeper than 64 levels"),
    "unknown-param.yaml": (5, 42, "unknown param 'break_glass'"),
    "operand-type.yaml": (5, 47, "operator 'ge' needs a number"),
    "unknown-condition-key.yaml": (7, 47, "unknown key 'valeu' in this condition"),
}


def test_every_broken_policy_is_reported_once_with_its_location() -> None:
    with pytest.raises(ProblemsError) as caught:
        load_policies([BROKEN])
    by_file: dict[str, list[str]] = {}
    for problem in caught.value.problems:
        by_file.setdefault(Path(problem.file).name, []).append(str(problem))
    assert sorted(by_file) == sorted(EXPECTED)
    for name, (line, column, text) in EXPECTED.items():
        assert len(by_file[name]) == 1, by_file[name]
        message = by_file[name][0]
        assert f"{name}:{line}:{column}: " in message
        assert text in message


def test_the_cli_exits_2_without_a_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "phigate.cli", "validate", str(BROKEN)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(re.findall(r"^error: .*\.yaml:\d+:\d+: ", done.stderr, re.M)) == len(EXPECTED)


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("id: BIG\nrationale: '" + "x" * (3 * 1024 * 1024) + "'\n")
    with pytest.raises(ProblemsError, match=r"big.yaml:1:1: file is \d+ bytes, over the"):
        load_policies([big])


@pytest.mark.parametrize("text, message", [
    ("a: " + "[" * 100_000 + "]" * 100_000, "nesting"),
    ("id: X\x00\n", "unreadable YAML"),
    ("id: .nan\n", "NaN"),
    ("a: !!python/object:os.system [ls]\n", "unsupported YAML tag"),
    ("a: !!python/name:os.system x\n", "invalid value"),
    ("a: !!set {x, y}\n", "unsupported YAML tag"),
    ("<<: {a: 1}\n", "merge keys"),
    ("? [a, b]\n: 1\n", "mapping keys must be strings"),
])
def test_hostile_yaml_is_a_problem_not_a_crash(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    with pytest.raises(ProblemsError, match=message):
        load_policies([path])


def test_invalid_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"id: X\ntitle: caf\xe9\n")
    with pytest.raises(ProblemsError, match=r"latin1.yaml:2:11: file is not valid UTF-8"):
        load_policies([path])


def test_a_missing_policy_path_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ProblemsError, match="no such policy file or folder"):
        load_policies([tmp_path / "nowhere"])


def test_config_settings_must_name_a_known_policy(tmp_path: Path) -> None:
    from phigate.config import load_config

    custom = tmp_path / "policies"
    custom.mkdir()
    (custom / "own.yaml").write_text("id: OWN-1\ntitle: t\nseverity: low\nkinds: [volume]\n"
                                     "assert: {path: encryption.at_rest, op: eq, value: true}\n")
    (custom / "phigate.yaml").write_text("policies:\n  PHI-SEG-002: {enabled: false}\n")
    config = load_config(custom / "phigate.yaml")
    # A bundled policy's settings are fine when only a custom folder is loaded; the config
    # file beside the policies is not read as a policy.
    assert [p.id for p in load_policies([custom], config)] == ["OWN-1"]
    (custom / "phigate.yaml").write_text("policies:\n  OWN-1: {}\n  PHI-SEG-02: {enabled: false}\n")
    with pytest.raises(ProblemsError, match=r"phigate.yaml:3:3: settings for unknown policy 'PHI-SEG-02'"):
        load_policies([custom], load_config(custom / "phigate.yaml"))


def test_an_empty_policy_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing here yet\n")
    with pytest.raises(ProblemsError, match=r"empty.yaml:1:1: no policy in this file"):
        load_policies([tmp_path])
