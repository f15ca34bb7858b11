"""What the scaling benches share: each measurement runs in a fresh interpreter (a clean peak
RSS, no warm caches from the previous one) and reports one JSON line back."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def peak_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` starts afresh at exec; ``ru_maxrss`` would
    carry the parent's peak into the child (Linux folds the forked memory's high-water mark in)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(script: str | Path, what: str, arguments: Sequence[str] = (),
             environment: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``script --measure WHAT ARGUMENTS…`` in a fresh interpreter: the JSON object its last
    line of output prints. A failed measurement stops the bench with the child's error output."""
    command = [sys.executable, str(Path(script).resolve()), "--measure", what, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env=None if environment is None else {**os.environ, **environment})
    if done.returncode != 0:
        raise SystemExit(f"measurement '{what}' failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
