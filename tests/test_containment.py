"""Containment, tried as an attacker would: for every channel a hostile page can send bytes
through, in every mode (``lam run``, ``lam dry-run``, ``lam replay`` of a recording, ``lam do``
with the embedded planner), no destructive request and no request to an undeclared host:port
reaches any server, and a dry run lets no state-changing request reach the app at all.

The plan's app is the hostile server (tests/hostile_server.py); a second logging server on
another port of 127.0.0.1 is the host the plan does not declare, a UDP socket stands for a
STUN/TURN (and WebTransport) server and a bare TCP socket for TURN over TCP. The verdict is read
from the servers' logs; lam's exit code and its run record are checked as well. Save, the step
the operator approved as a write (``--approve save``), triggers each attack; ``GET /CHANNEL/ran``
in the app's log shows the attack was tried. tests/test_containment_pages.py shows each attack
reaches the servers without lam. ``LAM_EGRESS=proxy`` in the environment runs the matrix with
the proxy alone (no network namespace).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from containment import CHANNELS, leaks
from hostile_server import HostileApp, TcpSink, UdpSink, serve_hostile

from lam.adapters.browser import find_chromium
from lam.cli.main import main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

Servers = tuple[HostileApp, HostileApp, UdpSink, TcpSink]

# Channels whose requests always exist on the wire: lam cannot switch them off, it must refuse
# them, so a live run ends blocked (exit 3). The others (speculation rules, prefetch hints,
# favicons, pings, WebRTC, WebTransport, service workers, a page's last words at the run's end)
# may instead be switched off by launch flags or the context; then nothing is sent and exit 0
# is right, which the servers' logs confirm.
REFUSED = frozenset(
    [
        "fetch", "xhr", "beacon", "form", "link", "meta_refresh", "redirect", "iframe", "popup",
        "worker", "shared_worker", "shared_worker_blob", "websocket", "eventsource",
    ]
)  # fmt: skip


# lam replay and lam do reach the browser through the same executor, network guard and proxy as
# lam run, whose matrix covers every channel: here they try one channel of each way out (a
# route, a navigation, another page, a worker no route sees, a socket, UDP, the run's end). The
# whole sweep in every mode: LAM_CONTAINMENT_FULL=1 (benchmarks/containment_sweep.py).
EACH_WAY_OUT = ("fetch", "form", "redirect", "popup", "shared_worker", "websocket", "webrtc",
                "unload")  # fmt: skip
OTHER_MODES = (
    sorted(CHANNELS) if os.environ.get("LAM_CONTAINMENT_FULL") == "1" else list(EACH_WAY_OUT)
)


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with serve_hostile() as up:
        yield up


@pytest.fixture
def hostile(servers: Servers) -> Servers:
    app, other, udp, tcp = servers
    app.clear()
    other.clear()
    udp.datagrams.clear()
    tcp.connections.clear()
    return servers


def steps(channel: str, *, recorded: bool = False) -> list[dict[str, Any]]:
    """Open the channel's page, click Save (the attack), click Done (once the attack had its
    time). ``recorded``: with the locator candidates and fingerprints ``lam record`` writes."""
    save: dict[str, Any] = {"role": "button", "name": "Save"}
    done: dict[str, Any] = {"role": "button", "name": "Done"}
    if recorded:
        for target, name in ((save, "save"), (done, "done")):
            target["candidates"] = [{"css": f"#{name}"}, {"xpath": f"//*[@id='{name}']"}]
            target["fingerprint"] = {
                "tag": "button",
                "role": "button",
                "name": target["name"],
                "attributes": {"id": name, "type": "button"},
            }
    return [
        {"id": "open", "goto": f"app:/{channel}/"},
        {"id": "save", "click": save},
        {"id": "done", "click": done},
    ]


def write_plan(tmp: Path, url: str, body: list[dict[str, Any]], name: str = "plan") -> Path:
    plan = {"lam": 1, "name": name, "apps": {"app": {"url": url + "/"}}, "steps": body}
    if name == "recording":
        plan["description"] = f"Recorded on {url}/"
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def lam(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _trace(result: dict[str, Any]) -> list[dict[str, Any]]:
    from lam.runtime.record import read_trace

    trace = Path(result["record"]) / "trace.jsonl"
    assert trace.is_file(), f"no run record at {trace}"
    return list(read_trace(trace))


def stopped(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Guard events in the run's record that did not allow (refused, held, needs approval)."""
    return [e for e in _trace(result) if e.get("type") == "guard" and e["verdict"] != "allow"]


def containment(result: dict[str, Any]) -> str:
    """The containment mode the run's record names for its browser (proxy, proxy+netns)."""
    modes = {str((e.get("containment") or {}).get("mode")) for e in _trace(result)
             if e.get("type") == "browser"}  # fmt: skip
    return ",".join(sorted(modes))


def check_live(
    channel: str, servers: Servers, code: int, result: dict[str, Any], note: Any
) -> None:
    """The servers' logs first, then lam's exit code and record (``note``: pytest's
    record_property, so the junit report says how each cell ended)."""
    app, other, udp, tcp = servers
    found = leaks(channel, app, other, udp, tcp)
    refusals = stopped(result) if result.get("record") else []
    note("exit", code)
    note("containment", containment(result) if result.get("record") else "")
    note(
        "refused",
        "; ".join(sorted({f"{e.get('origin')}: {e.get('action')}"[:140] for e in refusals})),
    )
    assert not found.any(dry=False), f"{channel}: {found}"
    assert any(h.path == f"/{channel}/ran" for h in app.log(channel)), "the attack never ran"
    assert code in (0, 3), (code, result.get("error"))
    assert result.get("record"), "no run record"
    assert containment(result) not in ("", "None"), "the record names no containment mode"
    if channel in REFUSED or refusals:
        assert code == 3, (code, result.get("error"), refusals)
        assert result["status"] == "blocked", result


# -- lam run -----------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_run_contains(
    channel: str,
    hostile: Servers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    record_property: Any,
) -> None:
    plan = write_plan(tmp_path, hostile[0].url, steps(channel))
    code, result = lam(capsys, "run", str(plan), "--approve", "save", "--no-prompt")
    check_live(channel, hostile, code, result, record_property)


# -- lam replay --------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", OTHER_MODES)
def test_replay_contains(
    channel: str,
    hostile: Servers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    record_property: Any,
) -> None:
    recording = write_plan(tmp_path, hostile[0].url, steps(channel, recorded=True), "recording")
    code, result = lam(capsys, "replay", str(recording), "--approve", "save", "--no-prompt")
    check_live(channel, hostile, code, result, record_property)


# -- lam do (the embedded planner) -------------------------------------------------------------


@pytest.mark.parametrize("channel", OTHER_MODES)
def test_do_contains(
    channel: str,
    hostile: Servers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    record_property: Any,
) -> None:
    app = f"{hostile[0].url}/{channel}/"
    goal = 'click "Save", then click "Done"'
    code, result = lam(capsys, "do", goal, "--app", app, "--no-memory", "--no-prompt")
    check_live(channel, hostile, code, result, record_property)


# -- lam dry-run: a dry run goes on after what it holds, so one run tries channel after channel --


@dataclass(frozen=True)
class DryRun:
    """One channel's part of a dry run: the servers' logs, and the run it was tried in."""

    servers: Servers
    code: int
    result: dict[str, Any]
    stopped_here: bool  # the run ended at this channel's steps (else it went on past them)


def _dry_run(tmp: Path, url: str, channels: list[str]) -> tuple[int, dict[str, Any]]:
    body = [{**step, "id": f"{step['id']}_{ch}"} for ch in channels for step in steps(ch)]
    plan = write_plan(tmp, url, body)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["dry-run", str(plan), "--json"])
    return code, json.loads(out.getvalue()) if out.getvalue().strip() else {}


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, DryRun]]:
    """Every channel in as few dry runs as it takes: when a run stops at a channel (a refusal
    a dry run does not go on after), the next run starts from the channel after it."""
    tmp = tmp_path_factory.mktemp("dry")
    tried: dict[str, DryRun] = {}
    with serve_hostile() as up, pytest.MonkeyPatch.context() as env:
        env.setenv("LAM_HOME", str(tmp / "lam-home"))
        env.setenv("LAM_CACHE_DIR", str(tmp / "cache"))
        left = sorted(CHANNELS)
        while left:
            code, result = _dry_run(tmp, up[0].url, left)
            ran = [s["id"] for s in result.get("results", [])]
            last = ran[-1].split("_", 1)[1] if ran and code != 0 else left[-1]
            upto = left.index(last) + 1 if last in left else len(left)
            for ch in left[:upto]:
                tried[ch] = DryRun(up, code, result, stopped_here=ch == last and code != 0)
            left = left[upto:]
        yield tried


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_dry_run_contains(channel: str, dry_runs: dict[str, DryRun]) -> None:
    tried = dry_runs[channel]
    app, other, udp, tcp = tried.servers
    found = leaks(channel, app, other, udp, tcp)
    assert not found.any(dry=True), f"{channel}: {found}"
    assert any(h.path == f"/{channel}/ran" for h in app.log(channel)), (
        "the attack never ran",
        tried.code,
        tried.result.get("error"),
    )
    # a dry run goes on after what it holds; a refusal it stops at is exit 3, never a failure
    if tried.stopped_here:
        assert tried.code == 3, (tried.code, tried.result.get("error"))
    else:
        went = {s["id"]: s["status"] for s in tried.result["results"]}
        assert went.get(f"done_{channel}") == "ok", (channel, tried.result.get("error"))
    if channel in REFUSED:
        ours = {f"save_{channel}", f"done_{channel}"}
        caught = {e["step"] for e in stopped(tried.result)}
        caught |= {e["step"] for e in tried.result.get("effects", [])}
        assert caught & ours, f"{channel}: the dry run neither held nor refused anything"
