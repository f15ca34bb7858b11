"""phigate on Terraform plans beside Checkov, OPA Rego (regopy) and a hand-written floor.

For each size, the shared generator (``../shared/bench/gen_tfplan.py``) writes a plan and its
truth: per rule, the addresses that must fail. Then each leg reads the same plan, one after
another, in its own process:

* ``phigate``: ``phigate scan plan.json --only`` the policies that decide the generator's rules
  (and ``bench``-local SEG-KEY-001, the key-level form of PHI-SEG-001), writing the JSON, SARIF and
  JUnit reports (JSON only when those reporters are not installed; the table says so);
* ``phigate-all``: the same with the whole bundled pack;
* ``checkov``: Checkov's built-in checks for the rules it has (``-o json``), in its own venv;
* ``rego``: three of the rules in Rego, evaluated by regopy (``../shared/bench/rego_eval.py``);
* ``floor``: ``../shared/bench/ref_eval.py``, a plain Python loop deciding the eight rules.

Each leg is measured with GNU time (wall, CPU of the process and its children, peak RSS); the
legs of a few seconds run ``--repeat`` times (3) and keep their fastest run. Its
failing addresses are compared with the truth per rule (exact = same set). The ratios printed:
Checkov's time over phigate's, and phigate's over the floor's with the target ``3x + 2 s``.

usage: python bench/tfplan_vs_peers.py [--sizes 1000,10000] [--seed S] [--legs phigate,checkov,...]
                                       [--out DIR] [--json FILE]

Exit status: 0 when every requested leg ran and was scored, 1 when one did not run as intended,
2 on bad usage. Never on a ratio or an accuracy figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCH = ROOT.parent / "shared" / "bench"
OUT = ROOT / "bench" / "out" / "tfplan-vs-peers"
BIN = Path(sys.executable).parent
PEERS = Path(os.environ.get("PEERS_DIR", "/work/peers"))
CHECKOV = PEERS / "checkov-venv" / "bin" / "checkov"
GNU_TIME = "/usr/bin/time"
KEY_POLICY = ROOT / "tests" / "data" / "terraform" / "policies"
PACK = ROOT / "policies" / "health"
ALL_LEGS = ("phigate", "phigate-all", "checkov", "rego", "floor")
#: Legs of a few seconds at most are run this many times and the fastest run kept: the machine is
#: shared, and noise only ever adds time.
FAST_LEGS = ("phigate", "phigate-all", "floor")
LEG_TIMEOUT_S = 3600

STORES = ("aws_s3_bucket", "aws_db_instance", "aws_ebs_volume", "aws_dynamodb_table", "google_storage_bucket")
#: Each generator rule as failures of phigate policies on the rule's Terraform types.
PHIGATE_RULES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "clinical_cmk": [("PHI-ENC-002", STORES)],
    "rds_storage_encrypted": [("PHI-ENC-001", ("aws_db_instance",))],
    "ebs_encrypted": [("PHI-ENC-001", ("aws_ebs_volume",))],
    "kms_rotation": [("PHI-ENC-003", ("aws_kms_key",))],
    "iam_no_star_star": [("PHI-IAM-001", ("aws_iam_policy",))],
    "gcs_ubla_pap": [("PHI-IAM-002", ("google_storage_bucket",)),
                     ("PHI-IAM-003", ("google_storage_bucket",))],
    "s3_public_access_block": [("PHI-IAM-002", ("aws_s3_bucket",))],
    "segmentation_shared_kms_key": [("SEG-KEY-001", ("aws_kms_key",))],
}
ONLY = sorted({p for parts in PHIGATE_RULES.values() for p, _ in parts} | {"PHI-SEG-001"})
#: Checkov's built-in checks per rule (as ``compare_checkov.py`` maps them); a rule's checks
#: judge only its types, and the four public-access-block checks judge the bucket they join.
CHECKOV_RULES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "clinical_cmk": [("CKV_AWS_145", ("aws_s3_bucket",)), ("CKV_AWS_189", ("aws_ebs_volume",)),
                     ("CKV_AWS_119", ("aws_dynamodb_table",))],
    "rds_storage_encrypted": [("CKV_AWS_16", ("aws_db_instance",))],
    "ebs_encrypted": [("CKV_AWS_3", ("aws_ebs_volume",))],
    "kms_rotation": [("CKV_AWS_7", ("aws_kms_key",))],
    "iam_no_star_star": [("CKV_AWS_62", ("aws_iam_policy",))],
    "gcs_ubla_pap": [("CKV_GCP_29", ("google_storage_bucket",)), ("CKV_GCP_114", ("google_storage_bucket",))],
    "s3_public_access_block": [("CKV2_AWS_6", ("aws_s3_bucket",))] + [
        (c, ("aws_s3_bucket_public_access_block",)) for c in ("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55",
                                                              "CKV_AWS_56")],
}
CHECKOV_CHECKS = sorted({c for parts in CHECKOV_RULES.values() for c, _ in parts})
REGO_RULES = {"deny_kms_rotation": "kms_rotation", "deny_iam_star_star": "iam_no_star_star",
              "deny_s3_pab": "s3_public_access_block"}


class HarnessError(Exception):
    """The benchmark could not run as intended; its figures would mean nothing."""


@dataclass
class RuleScore:
    expected: int
    found: int
    missed: int
    extra: int
    partial: bool = False  # the tool decides only part of the rule's resources

    @property
    def exact(self) -> bool:
        return not self.missed and not self.extra and not self.partial


@dataclass
class Leg:
    name: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    rules: dict[str, RuleScore] = field(default_factory=dict)
    note: str = ""


def resource_type(address: str) -> str:
    """The Terraform type of an address (``module.m.aws_s3_bucket.b[0]`` → ``aws_s3_bucket``)."""
    parts = re.sub(r"\[[^\]]*\]", "", address).split(".")
    return parts[-2] if len(parts) >= 2 else ""


def score(found: set[str], expected: set[str], *, partial: bool = False) -> RuleScore:
    return RuleScore(len(expected), len(found), len(expected - found), len(found - expected), partial)


def timed(command: list[str], stdout: Path | None = None) -> tuple[float, float, float]:
    """Run ``command`` under GNU time: (wall s, CPU s of it and its children, peak RSS MB)."""
    marker = "@@phigate-bench@@"
    full = [GNU_TIME, "-f", f"{marker} %e %U %S %M", *command]
    out = stdout.open("w") if stdout else subprocess.DEVNULL
    try:
        done = subprocess.run(full, stdout=out, stderr=subprocess.PIPE, text=True, timeout=LEG_TIMEOUT_S,
                              check=False)
    finally:
        if stdout:
            out.close()  # type: ignore[union-attr]
    line = next((x for x in done.stderr.splitlines() if x.startswith(marker)), None)
    if line is None:
        raise HarnessError(f"{command[0]} did not run: {done.stderr[-500:]}")
    wall, user, system, peak_kb = line.split()[1:]
    return float(wall), float(user) + float(system), int(peak_kb) / 1024


def generate(size: int, seed: int, out: Path) -> tuple[Path, Path, Path]:
    folder = out / f"n{size}-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    plan, truth, stores = folder / "plan.json", folder / "truth.json", folder / "stores.json"
    if not plan.exists():
        subprocess.run([sys.executable, str(SHARED_BENCH / "gen_tfplan.py"), "--n", str(size), "--seed",
                        str(seed), "--out", str(plan), "--truth", str(truth), "--stores", str(stores)],
                       check=True)
    return plan, truth, stores


def reporters() -> list[str]:
    from phigate.registry import REPORTERS, names

    return names(REPORTERS)


def leg_phigate(plan: Path, truth: dict[str, Any], folder: Path, *, whole_pack: bool) -> Leg:
    available = reporters()
    formats = ["--format", f"json={folder / 'phigate.json'}"]
    missing = [f for f in ("sarif", "junit") if f not in available]
    formats += [x for f in ("sarif", "junit") if f in available
                for x in ("--format", f"{f}={folder / ('phigate.' + f)}")]
    selection = [] if whole_pack else [x for p in ONLY for x in ("--only", p)]
    command = [str(BIN / "phigate"), "scan", str(plan), "--policies", str(PACK),
               "--policies", str(KEY_POLICY), *selection, *formats, "--quiet"]
    wall, cpu, peak = timed(command)
    report = json.loads((folder / "phigate.json").read_text())
    fails: dict[str, set[str]] = {}
    for finding in report["findings"]:
        if finding["status"] == "fail":
            fails.setdefault(finding["policy_id"], set()).add(finding["resource"]["name"])
    leg = Leg("phigate-all" if whole_pack else "phigate", wall, cpu, peak,
              note=(f"{report['summary']['policies']} policies; reports: json"
                    + "".join(f", {f}" for f in ("sarif", "junit") if f in available)
                    + (f" ({', '.join(missing)} reporter not installed)" if missing else "")))
    for rule, parts in PHIGATE_RULES.items():
        found = {a for policy, types in parts for a in fails.get(policy, ()) if resource_type(a) in types}
        leg.rules[rule] = score(found, set(truth["rules"][rule]["fail"]))
    return leg


def leg_checkov(plan: Path, truth: dict[str, Any], folder: Path) -> Leg:
    if not CHECKOV.exists():
        raise HarnessError(f"Checkov is not installed at {CHECKOV} (python -m venv "
                           f"{CHECKOV.parent.parent} && {CHECKOV.parent}/pip install checkov)")
    output = folder / "checkov.json"
    command = [str(CHECKOV), "-f", str(plan), "--framework", "terraform_plan", "--check",
               ",".join(CHECKOV_CHECKS), "-o", "json", "--skip-download"]
    wall, cpu, peak = timed(command, stdout=output)
    data = json.loads(output.read_text())
    if isinstance(data, list):
        data = next(x for x in data if x.get("check_type") == "terraform_plan")
    failed: dict[str, set[str]] = {}
    for entry in data["results"]["failed_checks"]:
        failed.setdefault(entry["check_id"], set()).add(entry.get("resource_address") or entry["resource"])
    joins = truth["joins"]["public_access_block_to_bucket"]
    leg = Leg("checkov", wall, cpu, peak, note=f"{len(CHECKOV_CHECKS)} checks")
    for rule, parts in CHECKOV_RULES.items():
        judged = {t for _, types in parts for t in types} - {"aws_s3_bucket_public_access_block"}
        judged |= {"aws_s3_bucket"} if rule == "s3_public_access_block" else set()
        found: set[str] = set()
        for check, _ in parts:
            for failing in failed.get(check, ()):
                address = joins.get(failing, failing)  # a public access flag off fails its bucket
                if resource_type(address) in judged:
                    found.add(address)
        expected = set(truth["rules"][rule]["fail"])
        covered = {a for a in expected if resource_type(a) in judged}
        # Judged on the rule's resources only (a check on every bucket judges the clinical ones);
        # a rule with resources no check judges is only partly expressed: scored on the rest.
        found &= set(truth["rules"][rule]["applicable"])
        leg.rules[rule] = score(found, covered, partial=covered != expected)
    return leg


def leg_script(name: str, script: str, plan: Path, truth_path: Path, *,
               names: dict[str, str] | None = None) -> Leg:
    """A shared script printing ``RULE: … found=N expected=N missed=N extra=N`` lines."""
    folder = plan.parent
    output = folder / f"{name}.txt"
    wall, cpu, peak = timed([sys.executable, str(SHARED_BENCH / script), str(plan), str(truth_path)],
                            stdout=output)
    leg = Leg(name, wall, cpu, peak)
    for match in SCRIPT_LINE.finditer(output.read_text()):
        rule = (names or {}).get(match["rule"], match["rule"])
        leg.rules[rule] = RuleScore(int(match["expected"]), int(match["found"]), int(match["missed"]),
                                    int(match["extra"]))
    if not leg.rules:
        raise HarnessError(f"{script} printed no rule: see {output}")
    return leg


SCRIPT_LINE = re.compile(r"^(?P<rule>\w+):.*?found=(?P<found>\d+) expected=(?P<expected>\d+) "
                         r"missed=(?P<missed>\d+) extra=(?P<extra>\d+)", re.M)


def run_leg(name: str, plan: Path, truth_path: Path) -> Leg:
    truth = json.loads(truth_path.read_text())
    if name in ("phigate", "phigate-all"):
        return leg_phigate(plan, truth, plan.parent, whole_pack=name == "phigate-all")
    if name == "checkov":
        return leg_checkov(plan, truth, plan.parent)
    if name == "rego":
        return leg_script("rego", "rego_eval.py", plan, truth_path, names=REGO_RULES)
    return leg_script("floor", "ref_eval.py", plan, truth_path)


def run_size(size: int, seed: int, legs: list[str], out: Path, repeat: int) -> list[Leg]:
    plan, truth_path, _ = generate(size, seed, out)
    found = []
    for name in legs:
        runs = [run_leg(name, plan, truth_path) for _ in range(repeat if name in FAST_LEGS else 1)]
        best = min(runs, key=lambda leg: leg.wall_s)
        if len(runs) > 1:
            best.note = "; ".join(x for x in (best.note, f"fastest of {len(runs)} runs") if x)
        found.append(best)
    return found


def table(size: int, legs: list[Leg]) -> str:
    lines = [f"\n## {size:,} resources", "",
             "| leg | wall s | CPU s | peak MB | rules exact | notes |", "|---|---|---|---|---|---|"]
    for leg in legs:
        exact = sum(s.exact for s in leg.rules.values())
        wrong = ", ".join(f"{r} (-{s.missed}/+{s.extra}{', partial' if s.partial else ''})"
                          for r, s in leg.rules.items() if not s.exact)
        lines.append(f"| {leg.name} | {leg.wall_s:.2f} | {leg.cpu_s:.2f} | {leg.peak_mb:.0f} | "
                     f"{exact}/{len(leg.rules)} | {leg.note}{'; not exact: ' + wrong if wrong else ''} |")
    by_name = {leg.name: leg for leg in legs}
    phigate = by_name.get("phigate")
    if phigate is not None:
        lines.append("")
        checkov = by_name.get("checkov")
        if checkov is not None:
            shared = [r for r, s in checkov.rules.items() if r in phigate.rules and not s.partial]
            agree = all(phigate.rules[r].exact for r in shared)
            lines.append(f"- Checkov / phigate: {checkov.wall_s / phigate.wall_s:.0f}x wall, "
                         f"{checkov.cpu_s / phigate.cpu_s:.0f}x CPU (target >= 50x); phigate exact on the "
                         f"{len(shared)} rules Checkov expresses: {'yes' if agree else 'NO'}")
        floor = by_name.get("floor")
        if floor is not None:
            limit = 3 * floor.wall_s + 2
            verdict = "within" if phigate.wall_s <= limit else "OVER"
            lines.append(f"- phigate / floor: {phigate.wall_s / floor.wall_s:.1f}x wall, "
                         f"{phigate.cpu_s / floor.cpu_s:.1f}x CPU; phigate {phigate.wall_s:.2f} s against "
                         f"3 x floor + 2 s = {limit:.2f} s: {verdict}")
        rego = by_name.get("rego")
        if rego is not None:
            lines.append(f"- regopy / phigate: {rego.cpu_s / phigate.cpu_s:.0f}x CPU "
                         f"({len(rego.rules)} rules in Rego)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--seed", type=int, default=4711)
    parser.add_argument("--legs", default=",".join(ALL_LEGS))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the fast legs (the fastest is kept)")
    args = parser.parse_args(argv)
    legs = [x for x in args.legs.split(",") if x]
    unknown = sorted(set(legs) - set(ALL_LEGS))
    if unknown:
        parser.error(f"unknown legs: {', '.join(unknown)} (known: {', '.join(ALL_LEGS)})")
    try:
        sizes = [int(x) for x in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    results: dict[int, list[Leg]] = {}
    try:
        for size in sizes:
            results[size] = run_size(size, args.seed, legs, args.out, max(args.repeat, 1))
            print(table(size, results[size]), flush=True)
    except (HarnessError, subprocess.SubprocessError, OSError) as exc:
        print(f"harness failure: {exc}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps({str(k): [asdict(leg) for leg in v] for k, v in results.items()},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
