"""From a plan file to a run (lam.runtime.start): secrets a dry run does not have.

A dry run sends nothing anywhere, so it starts without the real secrets: placeholders stand in
for the unset ones, it says so on stderr and in the record, and the server hears nothing. A live
run still refuses to start without them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lam.cli.main import main
from lam.runtime.record import read_trace, verify_trace

pytestmark = pytest.mark.integration

SPEC = str(Path(__file__).parent / "data" / "specs" / "quirks.yaml")
SECRET = "LAM_TEST_SHOP_TOKEN"
HEARD: list[str] = []


async def ok(request: Request) -> Response:
    HEARD.append(f"{request.method} {request.url.path}")
    return JSONResponse({"id": 1, "name": "fine"})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_app(Starlette(routes=[Route("/api/ok", ok)])) as url:
        yield url + "/api"


@pytest.fixture(autouse=True)
def _no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SECRET, raising=False)
    monkeypatch.delenv("LAM_TEST_OTHER", raising=False)
    HEARD.clear()


def _plan(tmp: Path, base_url: str) -> str:
    document: dict[str, Any] = {
        "lam": 1,
        "name": "needs-a-secret",
        "apis": {
            "q": {
                "spec": SPEC,
                "base_url": base_url,
                "auth": {"scheme": "bearer", "secret": SECRET},
            }
        },
        "steps": [
            {"id": "first", "call": "q.ok"},
            {"id": "other", "call": "q.echo", "params": {"X-Token": "$secrets.LAM_TEST_OTHER"}},
        ],
    }
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_a_dry_run_starts_without_real_secrets_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str
) -> None:
    code = main(["dry-run", "--json", _plan(tmp_path, server)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    said_on_stderr = [line for line in captured.err.splitlines() if "placeholder" in line]
    assert said_on_stderr == [
        f"lam: dry run: placeholders stand in for unset secrets: LAM_TEST_OTHER, {SECRET}"
    ]
    result = json.loads(captured.out)
    trace = Path(result["record"]) / "trace.jsonl"
    assert verify_trace(trace).ok
    events = list(read_trace(trace))
    (said,) = [e for e in events if e["type"] == "secret-placeholders"]
    assert said["names"] == ["LAM_TEST_OTHER", SECRET]
    assert HEARD == []  # the dry run sent nothing, placeholder or not


def test_a_live_run_still_refuses_to_start_without_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str
) -> None:
    plan = _plan(tmp_path, server)
    code = main(["run", "--no-prompt", plan])
    _, err = capsys.readouterr()
    assert code == 2
    assert [line for line in err.splitlines() if line.startswith("lam: ")] == [
        f"lam: {plan}: apis.q.auth.secret: the plan reads the secret {SECRET} but the "
        f"environment variable {SECRET} is not set"
    ]
    assert HEARD == []


def test_a_dry_run_with_the_secrets_set_says_nothing_of_placeholders(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET, "real-token")
    monkeypatch.setenv("LAM_TEST_OTHER", "other")
    assert main(["dry-run", "--json", _plan(tmp_path, server)]) == 0
    assert "placeholder" not in capsys.readouterr().err
