"""Shared fixtures: the demo app as a real server, a browser per module, and an isolated lam
home per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lam.adapters.browser import BrowserSession

sys.path.insert(0, str(Path(__file__).parent))

from servers import DemoServer, start_demo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoServer]:
    """The demo pet shop on a free port, with its own database and access log."""
    with start_demo(tmp_path) as server:
        yield server


@pytest.fixture(scope="module")
def session() -> Iterator[BrowserSession]:
    """One headless Chromium per test module (browser tests that drive pages directly)."""
    with BrowserSession(timeout_ms=5_000) as opened:
        yield opened


@pytest.fixture(autouse=True)
def lam_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run records and kill switches go to the test's own directory."""
    home = tmp_path / "lam-home"
    monkeypatch.setenv("LAM_HOME", str(home))
    # running runs register here: a test's `lam kill` must never reach another test's runs
    monkeypatch.setenv("LAM_RUNTIME_DIR", str(tmp_path / "lam-runtime"))
    monkeypatch.setenv("LAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAM_CONFIG_DIR", str(tmp_path / "lam-config"))  # operator key, ledger
    return home
