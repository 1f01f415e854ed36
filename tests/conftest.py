"""Shared fixtures: the demo app as a real server, and an isolated lam home per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import DemoServer, start_demo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoServer]:
    """The demo pet shop on a free port, with its own database and access log."""
    with start_demo(tmp_path) as server:
        yield server


@pytest.fixture(autouse=True)
def lam_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run records and kill switches go to the test's own directory."""
    home = tmp_path / "lam-home"
    monkeypatch.setenv("LAM_HOME", str(home))
    monkeypatch.setenv("LAM_CACHE_DIR", str(tmp_path / "cache"))
    return home
