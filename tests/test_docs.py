"""The documentation of the pack's parameters stays true to the pack."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from phigate.load import bundled_pack

DOC = Path(__file__).parent.parent / "docs" / "policy-pack.md"


def test_every_policy_and_parameter_default_is_documented() -> None:
    text = DOC.read_text()
    policies = sorted((bundled_pack() / "health").glob("PHI-*[0-9].yaml"))
    assert policies
    for path in policies:
        policy = yaml.safe_load(path.read_text())
        assert f"| {policy['id']} |" in text, policy["id"]
        for name, spec in (policy.get("params") or {}).items():
            default = json.dumps(spec.get("default"), ensure_ascii=False)
            assert f"| `{name}` | `{default}` |" in text, (policy["id"], name)
