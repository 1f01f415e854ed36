"""lam.fleet.progress: the batch's progress line, redrawn in place on a terminal, a line every
few seconds at most elsewhere, and a final summary."""

from __future__ import annotations

import io

import pytest

from lam.fleet import progress as progress_module
from lam.fleet.progress import Progress


class _Clock:
    """Stands in for the time module in lam.fleet.progress: a clock the test moves."""

    def __init__(self, now: list[float]) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now[0]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_is_redrawn_in_place() -> None:
    out = Terminal()
    bar = Progress(4, skipped=1, stream=out)
    bar.add("ok")
    bar.add("held")
    bar.finish("done")
    text = out.getvalue()
    assert text.count("\r") == 3 and text.count("\n") == 2
    assert "rows 3/4 (1 skipped): 1 ok, 0 failed, 1 held" in text
    assert text.endswith("done\n")


def test_elsewhere_at_most_a_line_every_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(progress_module, "time", _Clock(now))
    out = io.StringIO()
    bar = Progress(200, stream=out, every=5.0)
    for _ in range(50):  # 50 rows in 1 s: one line, not fifty
        now[0] += 0.02
        bar.add("ok")
    now[0] += 5
    bar.add("failed")
    bar.finish("batch b: 200 rows")
    lines = out.getvalue().splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith("rows 1/200: 1 ok, 0 failed, 0 held | 50.0 rows/s, ETA 4s")
    assert lines[1].startswith("rows 51/200: 50 ok, 1 failed, 0 held")
    assert "ETA" in lines[1] and lines[-1] == "batch b: 200 rows"


def test_other_statuses_are_counted_too() -> None:
    bar = Progress(3, stream=io.StringIO())
    for status in ("unknown", "killed", "ok"):
        bar.add(status)
    assert bar.line().startswith("rows 3/3: 1 ok, 0 failed, 0 held, 1 killed, 1 unknown |")
