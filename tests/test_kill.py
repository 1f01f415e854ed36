"""The hard stop: ``lam kill`` from another directory, or SIGTERM, ends a run mid-step within
a second. A real server on 127.0.0.1 holds a request open for 60 s and logs when the client
drops the connection; the run is a real ``lam run`` process; ``lam kill`` runs from an
unrelated working directory."""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from lam.cli.main import main
from lam.runtime.record import read_trace, verify_trace

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
SPEC = str(Path(__file__).parent / "data" / "specs" / "quirks.yaml")
LIMIT_S = 1.0  # the promise: a killed run ends within this, measured from the kill
# A UI run also closes its browser (and its egress proxy) before its record ends: 0.2-0.5 s here
# at a load average of 20 on 2 cores (benchmarks/kill_latency.py --ui); the tests allow a machine
# busier than that some headroom.
UI_LIMIT_S = 1.5


@dataclass
class HangingServer:
    """Answers nothing for 60 s; logs each request and when its client hung up."""

    url: str
    log: list[dict[str, Any]] = field(default_factory=list)

    def wait_for(self, kind: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.log if e["event"] == kind]
            if found:
                return found[0]
            time.sleep(0.01)
        raise AssertionError(f"the server saw no {kind!r}: {self.log}")


@contextmanager
def hanging_server() -> Iterator[HangingServer]:
    log: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not self.path.startswith("/api/slow"):  # anything else is answered at once
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "20")
                self.end_headers()
                self.wfile.write(b'{"id":1,"name":"ok"}')
                return
            log.append({"event": "request", "path": self.path, "time": time.time()})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self.connection], [], [], 0.01)
                if ready and not self.connection.recv(1, socket.MSG_PEEK):
                    log.append({"event": "disconnected", "time": time.time()})
                    return
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HangingServer(f"http://127.0.0.1:{server.server_address[1]}", log)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    with hanging_server() as server:
        yield server


def write_plan(folder: Path, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump({"lam": 1, "name": "long", **document}))
    return path


def api_plan(folder: Path, base: str) -> Path:
    return write_plan(
        folder,
        {
            "apis": {"q": {"spec": SPEC, "base_url": base + "/api"}},
            "steps": [
                {"id": "slow", "call": "q.slow", "params": {"seconds": 60}, "timeout": 120},
                {"id": "after", "call": "q.slow", "params": {"seconds": 0}},
            ],
        },
    )


def start_run(plan: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lam", "run", str(plan), "--json", "--no-prompt"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def lam_kill(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lam", "kill", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )


def registered(timeout: float = 20.0) -> dict[str, Any]:
    """The one registered run, once it has registered."""
    folder = Path(os.environ["LAM_RUNTIME_DIR"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = list(folder.glob("*.json")) if folder.is_dir() else []
        if entries:
            return dict(json.loads(entries[0].read_text()))
        time.sleep(0.01)
    raise AssertionError("no run registered")


def finish(proc: subprocess.Popen[str]) -> tuple[dict[str, Any], list[dict[str, Any]], Path]:
    out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert out, f"no JSON on stdout (exit {proc.returncode}): {err}"
    result = json.loads(out)
    trace = Path(result["record"]) / "trace.jsonl"
    return result, list(read_trace(trace)), trace


def assert_killed_record(events: list[dict[str, Any]], trace: Path, step: str) -> None:
    types = [e["type"] for e in events]
    assert types[-2:] == ["killed", "end"], types
    assert events[-1]["status"] == "killed" and events[-1]["exit_code"] == 4
    assert events[-2]["step"] == step
    done = [e for e in events if e["type"] == "step"]
    assert done[-1]["step"] == step and done[-1]["status"] == "killed"
    assert verify_trace(trace).ok
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["verify", str(trace.parent), "--json"]) == 0
    verdict = json.loads(printed.getvalue())["runs"][0]
    assert verdict["status"] == "intact", verdict  # signed, complete, in the ledger


def test_lam_kill_from_another_directory_cuts_a_60_s_request(
    tmp_path: Path, hanging: HangingServer
) -> None:
    proc = start_run(api_plan(tmp_path / "project", hanging.url), tmp_path / "project")
    hanging.wait_for("request")
    entry = registered()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    asked = time.time()
    killed = lam_kill(elsewhere)
    result, events, trace = finish(proc)
    pulled = (Path(entry["directory"]) / "KILL").stat().st_mtime  # written just before SIGTERM
    assert proc.returncode == 4
    assert killed.returncode == 0, killed.stderr
    assert f"stopped: {entry['run_id']}" in killed.stdout
    assert "kill switch pulled" not in killed.stdout
    dropped = hanging.wait_for("disconnected")
    assert dropped["time"] - pulled < LIMIT_S
    assert events[-1]["time"] - pulled < LIMIT_S
    assert result["status"] == "killed" and "cancelled in flight" in result["error"]["message"]
    assert_killed_record(events, trace, "slow")
    assert not any(e.get("step") == "after" for e in events)
    assert pulled >= asked
    assert not list(Path(os.environ["LAM_RUNTIME_DIR"]).glob("*.json"))  # unregistered


def test_sigterm_does_what_lam_kill_does(tmp_path: Path, hanging: HangingServer) -> None:
    proc = start_run(api_plan(tmp_path, hanging.url), tmp_path)
    hanging.wait_for("request")
    registered()
    sent = time.time()
    proc.send_signal(signal.SIGTERM)
    _, events, trace = finish(proc)
    assert proc.returncode == 4
    assert hanging.wait_for("disconnected")["time"] - sent < LIMIT_S
    assert events[-1]["time"] - sent < LIMIT_S
    assert "signal SIGTERM" in events[-2]["reason"]
    assert_killed_record(events, trace, "slow")


def test_lam_kill_names_a_run_by_id_or_last(tmp_path: Path, hanging: HangingServer) -> None:
    proc = start_run(api_plan(tmp_path / "project", hanging.url), tmp_path / "project")
    hanging.wait_for("request")
    entry = registered()
    other = lam_kill(tmp_path, "20000101-000000-abcdef")
    assert other.returncode == 1 and "no running run '20000101-000000-abcdef'" in other.stderr
    assert proc.poll() is None  # a kill for another run leaves this one alone
    killed = lam_kill(tmp_path, "last", "--json")
    assert killed.returncode == 0, killed.stderr
    report = json.loads(killed.stdout)
    assert [r["run_id"] for r in report["stopped"]] == [entry["run_id"]]
    finish(proc)
    assert proc.returncode == 4


def test_lam_kill_with_nothing_running_says_so(tmp_path: Path) -> None:
    killed = lam_kill(tmp_path)
    assert killed.returncode == 1
    assert "kill switch pulled" not in killed.stdout + killed.stderr
    assert killed.stdout == ""
    assert killed.stderr.startswith("lam: no running run found")


def test_a_stale_entry_of_a_dead_process_is_ignored_and_removed(tmp_path: Path) -> None:
    from lam.runtime.registry import live_runs, runtime_dir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    folder = runtime_dir(create=True)
    stale = folder / "20000101-000000-dead00.json"
    stale.write_text(json.dumps({"run_id": "x", "pid": int(dead.stdout), "directory": str(tmp_path),
                                 "started": 0.0, "proc_start": None}))  # fmt: skip
    assert live_runs() == []
    assert not stale.exists()
    assert lam_kill(tmp_path).returncode == 1


def test_a_registry_others_can_write_is_refused(tmp_path: Path) -> None:
    folder = Path(os.environ["LAM_RUNTIME_DIR"])
    folder.mkdir(mode=0o700)
    folder.chmod(0o777)
    killed = lam_kill(tmp_path)
    assert killed.returncode == 2
    assert "others can write it" in killed.stderr and "Traceback" not in killed.stderr


def test_a_second_sigint_ends_the_process_at_once(tmp_path: Path) -> None:
    """The first SIGINT pulls the switch; a run stuck past it ends on the second at once."""
    script = f"""
import os, signal, sys, time
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
from lam.runtime.kill import KillSwitch
kill = KillSwitch(Path({str(tmp_path)!r}), Path({str(tmp_path)!r}))
kill.on_emergency(lambda: Path({str(tmp_path / "emergency")!r}).write_text("ran"))
with kill.watch("20000101-000000-sigint", Path({str(tmp_path)!r})):
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.3)
    assert kill.pulled()
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(30)  # stuck: only the second interrupt ends this
print("not reached")
"""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=20)  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert time.monotonic() - started < 10
    assert "second interrupt" in done.stderr and "not reached" not in done.stdout
    assert (tmp_path / "emergency").read_text() == "ran"
    assert not list(Path(os.environ["LAM_RUNTIME_DIR"]).glob("*.json"))


@pytest.mark.browser
def test_lam_kill_ends_a_long_ui_wait(tmp_path: Path) -> None:
    from servers import serve_directory

    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "index.html").write_text("<html><body><h1>Waiting room</h1></body></html>")
    with serve_directory(pages) as url:
        plan = write_plan(
            tmp_path / "project",
            {
                "apps": {"site": {"url": url}},
                "steps": [
                    {"id": "open", "goto": "site:/index.html"},
                    {"id": "long", "wait": 60000, "timeout": 120},
                ],
            },
        )
        proc = start_run(plan, tmp_path / "project")
        entry = registered()
        _wait_for_step_start(Path(entry["directory"]), "long")
        killed = lam_kill(tmp_path, entry["run_id"])
        result, events, trace = finish(proc)
    pulled = (Path(entry["directory"]) / "KILL").stat().st_mtime
    assert killed.returncode == 0, killed.stderr
    assert proc.returncode == 4
    took = [(e["type"], round(e["time"] - pulled, 3)) for e in events[-5:]]
    wait_ended = next(e for e in reversed(events) if e["type"] == "step")["time"]
    assert wait_ended - pulled < 0.5, took  # the wait itself ends within a slice or two
    assert events[-1]["time"] - pulled < UI_LIMIT_S, took
    assert "wait stopped" in result["error"]["message"]
    assert_killed_record(events, trace, "long")


@pytest.mark.browser
def test_lam_kill_aborts_a_browser_action_blocked_on_a_missing_element(tmp_path: Path) -> None:
    from servers import serve_directory

    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "index.html").write_text("<html><body><p>No button here</p></body></html>")
    with serve_directory(pages) as url:
        plan = write_plan(
            tmp_path / "project",
            {
                "apps": {"site": {"url": url}},
                "steps": [
                    {"id": "open", "goto": "site:/index.html"},
                    {"id": "stuck", "hover": {"role": "button", "name": "Never"}, "timeout": 120},
                ],
            },
        )
        proc = start_run(plan, tmp_path / "project")
        entry = registered()
        _wait_for_step_start(Path(entry["directory"]), "stuck")
        time.sleep(0.3)  # inside Playwright's wait for the element
        killed = lam_kill(tmp_path)
        _, events, trace = finish(proc)
    pulled = (Path(entry["directory"]) / "KILL").stat().st_mtime
    assert killed.returncode == 0, killed.stderr
    assert proc.returncode == 4
    took = [(e["type"], round(e["time"] - pulled, 3)) for e in events[-4:]]
    assert events[-1]["time"] - pulled < UI_LIMIT_S, took
    assert_killed_record(events, trace, "stuck")


def _wait_for_step_start(run_dir: Path, step: str, timeout: float = 30.0) -> None:
    trace = run_dir / "trace.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if trace.exists() and any(
            e["type"] == "step-start" and e["step"] == step for e in read_trace(trace)
        ):
            return
        time.sleep(0.02)
    raise AssertionError(f"step {step!r} never started")


def test_a_step_timeout_over_ten_minutes_is_refused_naming_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[dict[str, Any]] = [{"id": "nap", "wait": 1000, "timeout": 601}]
    plan = write_plan(tmp_path, {"steps": steps})
    assert main(["validate", str(plan)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"lam: {plan}: steps[0].timeout: 601 is greater than the maximum of 600"]
    steps[0]["timeout"] = 600
    plan = write_plan(tmp_path, {"steps": steps})
    assert main(["validate", str(plan)]) == 0


def test_a_run_whose_registry_is_unsafe_still_runs_and_says_so(
    tmp_path: Path, hanging: HangingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path(os.environ["LAM_RUNTIME_DIR"])
    folder.mkdir(mode=0o700)
    folder.chmod(0o777)  # e.g. planted in /tmp by someone else: never trusted, never fatal
    plan = write_plan(
        tmp_path,
        {
            "apis": {"q": {"spec": SPEC, "base_url": hanging.url + "/api"}},
            "steps": [{"id": "ok", "call": "q.ok"}],
        },
    )
    assert main(["run", str(plan), "--json"]) == 0
    captured = capsys.readouterr()
    assert "lam: warning: not registered for lam kill" in captured.err
    events = list(read_trace(Path(json.loads(captured.out)["record"]) / "trace.jsonl"))
    assert any(e["type"] == "warning" and "lam kill" in e["message"] for e in events)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("how", ["lam kill", "KILL file"])
def test_a_kill_ends_a_run_waiting_at_the_approval_prompt(
    tmp_path: Path, hanging: HangingServer, how: str
) -> None:
    """A human is asked about a step; the kill comes before the answer (by ``lam kill``, or
    by a KILL file alone, no signal). The prompt ends at once; the request is never sent."""
    import pty

    plan = write_plan(
        tmp_path / "project",
        {
            "apis": {"q": {"spec": SPEC, "base_url": hanging.url + "/api"}},
            "steps": [{"id": "drop", "call": "q.slow", "params": {"seconds": 0}}],
        },
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  - match: {operation: slow}\n    verdict: approve\n")
    controller, terminal = pty.openpty()  # stdin is a terminal: lam asks
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lam", "run", str(plan), "--policy", str(policy)],
        cwd=tmp_path, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )  # fmt: skip
    os.close(terminal)
    try:
        entry = registered()
        _wait_for_step_start(Path(entry["directory"]), "drop")
        time.sleep(0.5)  # at the prompt now
        if how == "lam kill":
            assert lam_kill(tmp_path).returncode == 0
        else:
            (Path(entry["directory"]) / "KILL").write_text("stop\n")
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(controller)
    pulled = (Path(entry["directory"]) / "KILL").stat().st_mtime
    assert proc.returncode == 4, err
    assert "approve this step?" in out
    assert "stopped at the approval prompt" in err and "Traceback" not in err
    trace = Path(entry["directory"]) / "trace.jsonl"
    events = list(read_trace(trace))
    assert events[-1]["time"] - pulled < LIMIT_S
    assert_killed_record(events, trace, "drop")
    assert not any(e["type"] == "request" for e in events)
    assert hanging.log == []  # nothing reached the server


@pytest.mark.parametrize("how", ["SIGTERM", "KILL file"])
def test_a_blocking_call_inside_interruptible_is_cut(
    tmp_path: Path, hanging: HangingServer, how: str
) -> None:
    """What ``lam do`` waits on between steps (a language model's answer) is cut by a kill:
    the call raises KilledError where it blocks and its connection is dropped."""
    script = f"""
import time
from pathlib import Path
import httpx
from lam.errors import KilledError
from lam.runtime.kill import KillSwitch
run_dir = Path({str(tmp_path)!r})
kill = KillSwitch(run_dir, run_dir)
with kill.watch("20000101-000000-model", run_dir):
    try:
        with kill.interruptible("waiting for the action model"):
            httpx.get({hanging.url + "/api/slow?seconds=60"!r}, timeout=120)
    except KilledError as exc:
        print(time.time(), exc.message, flush=True)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    hanging.wait_for("request")
    pulled = time.time()
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:
        (tmp_path / "KILL").write_text("stop\n")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    raised, message = out.split(" ", 1)
    assert float(raised) - pulled < LIMIT_S, out
    assert message.startswith("stopped waiting for the action model"), message
    assert hanging.wait_for("disconnected", timeout=5)["time"] - pulled < LIMIT_S
