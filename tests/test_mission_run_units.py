"""The supervisor's decisions with a scripted launcher (the TaskLauncher seam): which tasks run
in parallel, what a failure, a hold or on_failure does to the others, the exit code, hand-offs
resolved into plain values. No process starts here; the integration tests run real ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lam.mission.launch import AttemptOutcome, TaskAttempt
from lam.mission.load import mission_from_text
from lam.mission.model import Mission, MissionOptions
from lam.mission.record import read_events
from lam.mission.supervisor import MissionResult, run_mission

Script = Callable[[TaskAttempt], AttemptOutcome]


class _Running:
    def __init__(self, outcome: Callable[[], AttemptOutcome], delay: float) -> None:
        self.outcome, self.delay = outcome, delay
        self.stopped = threading.Event()

    def wait(self) -> AttemptOutcome:
        if self.stopped.wait(self.delay):
            return AttemptOutcome("killed", 4)
        return self.outcome()

    def stop(self) -> None:
        self.stopped.set()


class ScriptedLauncher:
    """Answers each attempt from ``script``; remembers what it was asked and when."""

    def __init__(self, script: Script, delay: float = 0.2) -> None:
        self.script, self.delay = script, delay
        self.attempts: list[TaskAttempt] = []
        self.running: set[str] = set()
        self.most_at_once = 0
        self.lock = threading.Lock()

    def start(self, attempt: TaskAttempt) -> _Running:
        with self.lock:
            self.attempts.append(attempt)
            self.running.add(attempt.task)
            self.most_at_once = max(self.most_at_once, len(self.running))

        def finish() -> AttemptOutcome:
            with self.lock:
                self.running.discard(attempt.task)
            return self.script(attempt)

        return _Running(finish, self.delay)


def _mission(tmp_path: Path, body: str) -> Mission:
    (tmp_path / "p.yaml").write_text("lam: 1\nname: p\nsteps: [{id: s, goto: 'http://x/'}]\n")
    head = "arazzo: 1.0.1\ninfo: {title: t, version: '1'}\n"
    return mission_from_text(head + body, path=tmp_path / "mission.yaml")


def _run(tmp_path: Path, mission: Mission, launcher: ScriptedLauncher) -> MissionResult:
    return run_mission(mission, MissionOptions(missions_dir=tmp_path / "m"), launcher=launcher)


def ok(**outputs: object) -> Script:
    return lambda attempt: AttemptOutcome("ok", 0, step_outputs={"s": dict(outputs)})


def test_independent_tasks_run_together_dependents_after_with_plain_inputs(
    tmp_path: Path,
) -> None:
    mission = _mission(tmp_path, """
x-lam: {on_failure: continue}
workflows:
  - {workflowId: a, x-lam-plan: p.yaml, outputs: {v: $steps.s.outputs.v}}
  - {workflowId: b, x-lam-plan: p.yaml}
  - workflowId: c
    dependsOn: [a]
    x-lam-plan: p.yaml
    x-lam-inputs: {first: "$workflows.a.outputs.v#/0/id", said: "got {$workflows.a.outputs.v}"}
""")  # fmt: skip
    launcher = ScriptedLauncher(ok(v=[{"id": 7, "name": "$secrets.X"}]))
    result = _run(tmp_path, mission, launcher)
    assert result.exit_code == 0 and launcher.most_at_once == 2
    order = [a.task for a in launcher.attempts]
    assert set(order[:2]) == {"a", "b"} and order[2] == "c"
    (c,) = [a for a in launcher.attempts if a.task == "c"]
    assert c.inputs == {"first": 7, "said": 'got [{"id":7,"name":"$secrets.X"}]'}
    assert c.approvals == ()
    layers = next(e for e in read_events(result.directory) if e["type"] == "mission")["order"]
    assert layers == [["a", "b"], ["c"]]


@pytest.mark.parametrize(
    ("on_failure", "expected"),
    [
        ("stop", {"a": "failed", "b": "blocked", "c": "skipped"}),
        ("continue", {"a": "failed", "b": "blocked", "c": "ok"}),
    ],
)
def test_on_failure_stop_or_continue(
    tmp_path: Path, on_failure: str, expected: dict[str, str]
) -> None:
    mission = _mission(tmp_path, f"""
x-lam: {{on_failure: {on_failure}}}
workflows:
  - {{workflowId: a, x-lam-plan: p.yaml, x-lam-retries: 1}}
  - {{workflowId: b, dependsOn: [a], x-lam-plan: p.yaml}}
  - {{workflowId: c, dependsOn: [a0], x-lam-plan: p.yaml}}
  - {{workflowId: a0, x-lam-plan: p.yaml}}
""")  # fmt: skip

    def script(attempt: TaskAttempt) -> AttemptOutcome:
        if attempt.task == "a":
            return AttemptOutcome("failed", 1, error="boom")
        time.sleep(0.3)  # a0 ends after a has failed for good
        return AttemptOutcome("ok", 0)

    result = _run(tmp_path, mission, ScriptedLauncher(script, delay=0.05))
    assert {k: v.status for k, v in result.tasks.items() if k != "a0"} == expected
    assert result.exit_code == 1 and result.tasks["a"].attempts == 2
    decisions = [e["action"] for e in read_events(result.directory) if e["type"] == "decision"]
    assert decisions[0] == "retry" and on_failure in decisions


def test_a_held_task_holds_its_dependents_and_a_failure_outranks_it(tmp_path: Path) -> None:
    mission = _mission(tmp_path, """
x-lam: {on_failure: continue}
workflows:
  - {workflowId: held, x-lam-plan: p.yaml, x-lam-retries: 3}
  - {workflowId: after, dependsOn: [held], x-lam-plan: p.yaml}
  - {workflowId: free, x-lam-plan: p.yaml}
""")  # fmt: skip

    def script(attempt: TaskAttempt) -> AttemptOutcome:
        if attempt.task == "held":
            return AttemptOutcome("held", 3, needs=("s@abc123",), error="needs approval")
        return AttemptOutcome("ok", 0)

    result = _run(tmp_path, mission, ScriptedLauncher(script, delay=0.01))
    assert {k: v.status for k, v in result.tasks.items()} == {
        "held": "held", "after": "blocked", "free": "ok",
    }  # fmt: skip
    assert result.tasks["held"].attempts == 1  # a hold is not retried
    assert result.tasks["held"].needs == ("held.s@abc123",) and result.exit_code == 3

    def failing(attempt: TaskAttempt) -> AttemptOutcome:
        return AttemptOutcome("failed", 1) if attempt.task == "free" else script(attempt)

    assert _run(tmp_path, mission, ScriptedLauncher(failing, delay=0.01)).exit_code == 1


def test_an_output_the_upstream_task_lacks_fails_only_the_task_that_reads_it(
    tmp_path: Path,
) -> None:
    mission = _mission(tmp_path, """
x-lam: {on_failure: continue}
workflows:
  - {workflowId: a, x-lam-plan: p.yaml, outputs: {v: "$steps.s.outputs.v#/missing"}}
  - {workflowId: b, dependsOn: [a], x-lam-plan: p.yaml, x-lam-inputs: {x: $workflows.a.outputs.v}}
  - {workflowId: c, x-lam-plan: p.yaml}
""")  # fmt: skip
    result = _run(tmp_path, mission, ScriptedLauncher(ok(v={"there": 1})))
    assert result.tasks["a"].status == "failed" and "missing" in str(result.tasks["a"].error)
    assert result.tasks["b"].status == "blocked" and result.tasks["c"].status == "ok"


def test_an_upstream_value_over_the_document_limits_fails_the_task_that_reads_it(
    tmp_path: Path,
) -> None:
    mission = _mission(tmp_path, """
x-lam: {on_failure: continue}
workflows:
  - {workflowId: a, x-lam-plan: p.yaml, outputs: {v: $steps.s.outputs.v}}
  - {workflowId: b, dependsOn: [a], x-lam-plan: p.yaml, x-lam-inputs: {x: $workflows.a.outputs.v}}
""")  # fmt: skip
    launcher = ScriptedLauncher(ok(v="x" * 2_000_000), delay=0.01)
    result = _run(tmp_path, mission, launcher)
    assert result.tasks["a"].status == "ok" and result.tasks["b"].status == "failed"
    assert "an input is too big" in str(result.tasks["b"].error)
    assert [a.task for a in launcher.attempts] == ["a"]  # b never started


def test_goal_tasks_take_the_operators_planner_and_share_one_memory_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lam.adapters.llm.model import LlmActionModel
    from lam.memory import MemoryStore
    from lam.mission import task_main

    (tmp_path / "p.yaml").write_text("lam: 1\nname: p\nsteps: [{id: s, goto: 'http://x/'}]\n")
    mission = mission_from_text(
        "arazzo: 1.0.1\ninfo: {title: t, version: '1'}\n"
        "x-lam: {apps: {shop: 'http://127.0.0.1:9/'}}\n"
        "workflows:\n"
        "  - {workflowId: a, x-lam-goal: find the lamp, x-lam-agent: ui, x-lam-apps: [shop]}\n"
        "  - {workflowId: b, x-lam-goal: find the desk, x-lam-agent: ui, x-lam-apps: [shop]}\n",
        path=tmp_path / "mission.yaml",
    )
    launcher = ScriptedLauncher(ok(), delay=0.0)
    options = MissionOptions(missions_dir=tmp_path / "m", planner="llm")
    assert run_mission(mission, options, launcher=launcher).exit_code == 0
    assert {(a.task, a.kind, a.planner) for a in launcher.attempts} == {
        ("a", "do", "llm"), ("b", "do", "llm")
    }
    # in the child: the language model (configured from LAM_LLM*), reading and updating the
    # one memory store every task of this lam home opens, as lam do --planner llm does
    monkeypatch.setenv("LAM_LLM", "openai")
    monkeypatch.setenv("LAM_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    store = MemoryStore(tmp_path / "memory.sqlite3")
    model = task_main._planner(launcher.attempts[0], store)
    assert isinstance(model, LlmActionModel) and model.memory is store
    embedded = TaskAttempt.from_json({**launcher.attempts[0].to_json(), "planner": "embedded"})
    assert not isinstance(task_main._planner(embedded, store), LlmActionModel)
