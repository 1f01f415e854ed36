"""``--screenshots failures``: a run keeps pictures only of the UI steps that failed or were
blocked; the default keeps one per UI step. Real Chromium against the demo app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image
from servers import DemoServer, start_demo

from lam.adapters.browser import find_chromium
from lam.cli.main import main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

DEMO_SPEC = str(Path(__file__).resolve().parents[1] / "specs" / "demo.yaml")
STEPS: list[dict[str, Any]] = [
    {"id": "open_login", "goto": "shop:/login"},
    {"id": "user", "fill": {"label": "Username"}, "value": "admin"},
    {"id": "pass", "fill": {"label": "Password"}, "value": "admin-pass"},
    {"id": "login", "click": {"role": "button", "name": "Log in"}},
    {"id": "missing", "click": {"role": "button", "name": "No such button"}, "timeout": 1},
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with start_demo(tmp_path_factory.mktemp("shop")) as server:
        yield server


def run(shop: DemoServer, tmp: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Any:
    plan = {
        "lam": 1,
        "name": "shots",
        "apps": {"shop": {"url": "http://127.0.0.1:8321/", "api": "shop"}},
        "apis": {"shop": {"spec": DEMO_SPEC}},
        "steps": STEPS,
    }
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    argv = ["run", str(path), "--app", f"shop={shop.url}/", "--api", f"shop={shop.api}"]
    code = main([*argv, *extra, "--json"])
    assert code == 1  # the last step finds nothing
    return json.loads(capsys.readouterr().out)


def pictures(result: Any) -> dict[str, Path]:
    run_dir = Path(result["record"])
    return {s["id"]: run_dir / s["screenshot"] for s in result["results"] if s["screenshot"]}


def test_by_default_every_ui_step_keeps_a_picture(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shots = pictures(run(shop, tmp_path, capsys))
    assert set(shots) == {"open_login", "user", "pass", "login", "missing"}


def test_failures_keeps_only_the_failed_steps_picture(
    shop: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(shop, tmp_path, capsys, "--screenshots", "failures")
    shots = pictures(result)
    assert set(shots) == {"missing"}
    with Image.open(shots["missing"]) as image:
        assert image.format == "PNG" and image.width > 100
    assert len(list((Path(result["record"]) / "screenshots").glob("*.png"))) == 1
