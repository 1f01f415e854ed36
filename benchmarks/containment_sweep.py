"""The whole containment sweep: every channel a hostile page can send bytes through, in every
mode (``lam run``, ``lam dry-run``, ``lam replay``, ``lam do``), plus the control that shows each
attack reaches the servers without lam (docs/safety.md, "Containment").

The test command runs every channel in ``lam run`` and ``lam dry-run`` and one channel of each
way out in ``lam replay`` and ``lam do`` (they share the run's executor, network guard and
proxy); this runs the rest too, about 115 cells, a few minutes on two cores.

    .venv/bin/python benchmarks/containment_sweep.py [pytest options]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    started = time.monotonic()
    env = {**os.environ, "LAM_CONTAINMENT_FULL": "1"}
    tests = ["tests/test_containment.py", "tests/test_containment_pages.py"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, *argv]
    code = subprocess.call(command, cwd=ROOT, env=env)
    print(f"containment sweep: exit {code} in {time.monotonic() - started:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
