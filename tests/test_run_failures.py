"""What goes wrong on the wire: each failure is one clear line in the CLI, the full detail in
the trace, and nothing lost from the run record."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import free_port, serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lam.cli.main import main
from lam.runtime.record import read_trace, verify_trace

pytestmark = pytest.mark.integration

SPEC = str(Path(__file__).parent / "data" / "specs" / "quirks.yaml")
FLAKY: dict[str, int] = {"calls": 0}


async def ok(request: Request) -> Response:
    return JSONResponse({"id": 1, "name": "fine"})


async def slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("seconds", "2")))
    return Response(status_code=200)


async def broken(request: Request) -> Response:
    return JSONResponse({"id": "not-a-number"})


async def notjson(request: Request) -> Response:
    return Response("<html>oops</html>", media_type="application/json")


async def boom(request: Request) -> Response:
    return JSONResponse({"error": "database on fire"}, status_code=500)


async def gone(request: Request) -> Response:
    return JSONResponse({"error": "no such pet"}, status_code=404)


async def flaky(request: Request) -> Response:
    FLAKY["calls"] += 1
    if FLAKY["calls"] % 2:
        return Response(status_code=503, headers={"Retry-After": "0"})
    return Response(status_code=200)


APP = Starlette(
    routes=[
        Route("/api/ok", ok),
        Route("/api/slow", slow),
        Route("/api/broken", broken),
        Route("/api/notjson", notjson),
        Route("/api/boom", boom),
        Route("/api/flaky", flaky),
        Route("/api/gone", gone),
    ]
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_app(APP) as url:
        yield url + "/api"


def plan(tmp: Path, base_url: str, step: dict[str, Any]) -> str:
    path = tmp / "plan.yaml"
    document = {
        "lam": 1,
        "name": "quirks",
        "apis": {"q": {"spec": SPEC, "base_url": base_url}},
        "steps": [{"id": "first", "call": "q.ok"}, {"id": "probe", **step}],
    }
    path.write_text(yaml.safe_dump(document))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], dict[str, Any]]:
    code = main(["run", *argv])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert lines[0].startswith("policy: ")  # the policy in force comes first
    err = lines[1:]
    record = next(
        line.split(": ", 1)[1] for line in captured.out.splitlines() if line.startswith("run ")
    )
    trace = Path(record) / "trace.jsonl"
    assert verify_trace(trace).ok
    events = list(read_trace(trace))
    assert events[-1]["type"] == "end"
    return code, err, {"events": events, "trace": trace}


def probe_events(found: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in found["events"] if e["type"] == kind and e.get("step") == "probe"]


def test_unreachable_host(tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}/api"
    code, err, found = run(capsys, plan(tmp_path, dead, {"call": "q.ok"}))
    assert code == 1
    assert len(err) == 1 and "cannot connect" in err[0] and "steps[0]" in err[0]
    step = next(e for e in found["events"] if e["type"] == "step")
    assert step["status"] == "failed" and "cannot connect" in step["error"]


def test_tls_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str) -> None:
    tls = server.replace("http://", "https://")
    code, err, _ = run(capsys, plan(tmp_path, tls, {"call": "q.ok"}))
    assert code == 1
    assert len(err) == 1 and ("TLS" in err[0] or "SSL" in err[0]), err


def test_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str) -> None:
    step = {"call": "q.slow", "params": {"seconds": 3}, "timeout": 0.3}
    code, err, found = run(capsys, plan(tmp_path, server, step))
    assert code == 1
    assert len(err) == 1 and "timed out" in err[0] and "'probe'" in err[0]
    assert probe_events(found, "request")  # the request that timed out is in the trace


def test_non_json_body_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str
) -> None:
    code, err, found = run(capsys, plan(tmp_path, server, {"call": "q.notJson"}))
    assert code == 0  # a warning by default
    response = probe_events(found, "response")[0]
    assert any("not JSON" in p for p in response["problems"])
    code, err, _ = run(capsys, plan(tmp_path, server, {"call": "q.notJson"}), "--strict")
    assert code == 1 and len(err) == 1 and "not JSON" in err[0]


def test_response_that_breaks_the_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str
) -> None:
    code, _, found = run(capsys, plan(tmp_path, server, {"call": "q.broken"}))
    assert code == 0
    step = probe_events(found, "step")[0]
    assert step["warnings"] and "/id" in step["warnings"][0]
    code, err, found = run(capsys, plan(tmp_path, server, {"call": "q.broken"}), "--strict")
    assert code == 1 and len(err) == 1 and "breaks the spec" in err[0]
    assert probe_events(found, "response")[0]["body"] == {"id": "not-a-number"}


def test_server_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str) -> None:
    code, err, found = run(capsys, plan(tmp_path, server, {"call": "q.boom"}))
    assert code == 1
    assert len(err) == 1 and "-> 500 Internal Server Error (database on fire)" in err[0]
    assert probe_events(found, "response")[0]["body"] == {"error": "database on fire"}


def test_idempotent_requests_are_retried_on_503(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str
) -> None:
    FLAKY["calls"] = 0
    code, _, found = run(capsys, plan(tmp_path, server, {"call": "q.flaky"}))
    assert code == 0
    assert probe_events(found, "response")[0]["attempts"] == 2


def test_json_output_of_a_failed_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str
) -> None:
    code = main(["run", plan(tmp_path, server, {"call": "q.boom"}), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["status"] == "failed" and "500" in document["error"]["message"]
    # the same error object as a command that could not start (docs/exit-codes.md)
    assert set(document["error"]) == {
        "approvals", "code", "message", "file", "location", "step", "type"
    }
    assert document["error"]["type"] == "StepFailed" and document["error"]["step"] == "probe"
    assert [r["status"] for r in document["results"]] == ["ok", "failed"]


def test_a_missing_secret_stops_the_run_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAM_TEST_TOKEN", raising=False)
    step = {"call": "q.ok", "params": {"Authorization": "Bearer {$secrets.LAM_TEST_TOKEN}"}}
    code = main(["run", plan(tmp_path, server, step)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "steps[1]" in err[0] and "LAM_TEST_TOKEN is not set" in err[0]


def test_a_404_is_reported_by_its_status_not_by_the_outputs_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str
) -> None:
    """The step reads an output from the body; the server says 404. The line leads with the
    status, and does not blame the output the error body lacks."""
    step = {"call": "q.gone", "outputs": {"name": "$response.body#/name"}}
    code, err, found = run(capsys, plan(tmp_path, server, step))
    assert code == 1 and len(err) == 1
    message = err[0].split("step 'probe': ", 1)[1]
    assert message.startswith(f"GET {server}/gone -> 404 Not Found (no such pet), expected 2xx")
    assert "no key" not in err[0] and "outputs" not in err[0]
    assert probe_events(found, "step")[0]["status"] == "failed"


def test_an_expected_error_status_that_lacks_an_output_says_the_status_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str
) -> None:
    step = {
        "call": "q.gone",
        "expect": {"status": 404},
        "outputs": {"name": "$response.body#/name"},
    }
    code, err, _ = run(capsys, plan(tmp_path, server, step))
    assert code == 1 and len(err) == 1
    message = err[0].split("step 'probe': ", 1)[1]
    assert message.startswith(f"GET {server}/gone -> 404 Not Found (no such pet): outputs: ")
    assert "no key 'name'" in message
