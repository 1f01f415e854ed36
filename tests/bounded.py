"""Run ``lam`` in-process and measure what one command cost: CPU seconds and peak memory.

CPU time, not wall time, because the test machine is shared: another process's work must not
fail a test, while a loop in lam still would. Peak memory is what Python allocated
(tracemalloc), which is where an expanded alias or a deep copy would show; it is measured in a
second run, since tracing slows the first several times over.
"""

from __future__ import annotations

import contextlib
import io
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass

from lam.cli.main import main

__all__ = ["CPU_SECONDS", "PEAK_MB", "Outcome", "assert_bounded", "run_bounded"]

CPU_SECONDS = 2.0
"""Every over-limit input must be refused within this much CPU time."""

PEAK_MB = 200.0
"""...and while allocating at most this much."""


@dataclass(frozen=True)
class Outcome:
    """What one in-process ``lam`` command did."""

    code: int
    out: str
    err: str
    cpu_s: float
    peak_mb: float

    @property
    def error_lines(self) -> list[str]:
        """stderr lines that are lam's own (``lam: ...``); notices such as the policy line
        are not errors."""
        return [line for line in self.err.splitlines() if line.startswith("lam: ")]


_warm = False


def _once(argv: Sequence[str], *, traced: bool) -> tuple[int, str, str, float, float]:
    out, err = io.StringIO(), io.StringIO()
    if traced:
        tracemalloc.start()
    start = time.process_time()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        cpu = time.process_time() - start
        peak = tracemalloc.get_traced_memory()[1] / 1e6 if traced else 0.0
        if traced:
            tracemalloc.stop()
    return code, out.getvalue(), err.getvalue(), cpu, peak


def run_bounded(argv: Sequence[str], *, memory: bool = True) -> Outcome:
    """Run ``lam ARGV`` in this process: once timed, then (``memory``) once more with
    tracemalloc on for the peak, since tracing slows allocation several times over."""
    global _warm
    if not _warm:  # import every command module once, outside any measurement
        with contextlib.redirect_stdout(io.StringIO()):
            main(["--version"])
        _warm = True
    code, out, err, cpu, _ = _once(argv, traced=False)
    peak = _once(argv, traced=True)[4] if memory else 0.0
    return Outcome(code, out, err, cpu, peak)


def assert_bounded(
    outcome: Outcome, *, codes: Sequence[int] = (0, 1, 2, 3), one_line: bool = True
) -> None:
    """The command ended with a documented code, one error line when it failed (or, without
    ``one_line``, one line per problem, as `lam validate` lists them), no traceback, no internal
    error, within the CPU and memory budget."""
    assert outcome.code in codes, (outcome.code, outcome.err[-2000:])
    assert "Traceback" not in outcome.err, outcome.err[-2000:]
    assert "internal error" not in outcome.err, outcome.err[-2000:]
    if outcome.code in (1, 2):  # 3 (blocked) is a verdict on stdout, not an error
        lines = outcome.error_lines
        assert len(lines) == 1 if one_line else len(lines) >= 1, outcome.err[-2000:]
        assert all(len(line) < 2_000 for line in lines), max(lines, key=len)[:300]
    assert outcome.cpu_s < CPU_SECONDS, f"{outcome.cpu_s:.2f} s CPU"
    assert outcome.peak_mb < PEAK_MB, f"{outcome.peak_mb:.0f} MB"
