"""The plan and API-listing tools: whole plans validated in the server, dry-run or run by
``lam dry-run``/``lam run`` in a child process.

A whole plan runs in its own process, as a run of its own with its own record: the browser's
guard proxy is one per process (mitmproxy keeps process-wide state), and the session's run is
using this process's. The child gets the server's policy; its approvals are only those a person
gave for this call (elicitation) or the operator granted (``lam approve``), passed as
``--approve STEP@DIGEST`` — never anything from the tool's arguments.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from lam.errors import PlanError, UsageError

__all__ = ["McpConfig", "operations", "run_plan", "validate"]

_PLAN_SUFFIXES = (".yaml", ".yml", ".json")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,99}$")
RUN_TIMEOUT_S = 600.0  # a whole plan run through a tool call: the call's own limit


@dataclass(frozen=True)
class McpConfig:
    """What ``lam mcp`` was started with: where the session may act, and how."""

    apps: Mapping[str, str] = field(default_factory=dict)
    apis: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)
    policy: str | None = None  # --policy FILE, else the project's, as for every lam command
    dry_run: bool = False
    headed: bool = False
    reads: Literal["sandbox", "live"] = "sandbox"  # a dry run's API reads (docs/dry-run.md)


def operations(config: McpConfig, policy: Any) -> list[dict[str, Any]]:
    """Every operation of the session's APIs with its risk class, reasons and the policy's
    verdict (the verdict a step calling it would get before its arguments are seen)."""
    from lam.policy import ActionFacts
    from lam.risk import classify_operation
    from lam.spec import load_spec

    rows = []
    for api, (source, _base) in config.apis.items():
        spec = load_spec(source)
        for op in spec.operations:
            found = classify_operation(op)
            facts = ActionFacts(
                kind="api", risk=found.risk, api=api, operation=op.operation_id,
                method=op.method, path=op.path,
            )  # fmt: skip
            decision = policy.decide(facts)
            rows.append(
                {
                    "api": api,
                    "operation": op.operation_id,
                    "method": op.method,
                    "path": op.path,
                    "summary": getattr(op, "summary", None) or "",
                    "risk": str(found.risk),
                    "reasons": [str(r) for r in found.reasons],
                    "verdict": decision.verdict.value,
                }
            )
    return rows


def _plan_file(plan: Any, folder: Path) -> tuple[Path, bool]:
    """The plan as a file: a path as given, an inline document written to a new file in the
    working directory (so its relative spec paths mean what they mean for ``lam run``).
    Returns the path and whether it is ours to remove."""
    if isinstance(plan, str):
        # a model names the file: only a plan file under the working directory (the project),
        # so no tool call reads the rest of the disk back through an error message
        path = Path(plan).resolve()
        if not path.is_relative_to(folder.resolve()) or path.suffix not in _PLAN_SUFFIXES:
            raise UsageError(
                "a plan given by path must be a .yaml, .yml or .json file under the working "
                f"directory {folder}",
                file=plan[:200],
                code="plan-outside",
            )
        if not path.is_file():
            raise UsageError("plan file not found", file=plan[:200], code="not-found")
        return path, False
    if not isinstance(plan, Mapping):
        raise PlanError("a plan is a mapping (the document) or a path", code="not-a-mapping")
    fd, name = tempfile.mkstemp(prefix=".lam-mcp-plan-", suffix=".yaml", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(dict(plan), handle, sort_keys=False, allow_unicode=True)
    return Path(name), True


def validate(plan: Any, policy: Any) -> dict[str, Any]:
    """``lam validate --json`` for a plan given inline or by path."""
    from lam.validation import validate_plan

    path, ours = _plan_file(plan, Path.cwd())
    try:
        report = validate_plan(path, policy=policy)
        out: dict[str, Any] = report.to_json()
    finally:
        if ours:
            path.unlink(missing_ok=True)
    if ours:
        out["file"] = "(inline plan)"
    return out


def run_plan(
    plan: Any,
    inputs: Mapping[str, Any],
    config: McpConfig,
    *,
    dry_run: bool,
    approvals: Sequence[str] = (),
) -> tuple[int, dict[str, Any]]:
    """``lam run --json`` (or ``lam dry-run``) in a child process; its exit code and JSON."""
    for name in inputs:
        if not _INPUT_NAME.match(name):
            raise UsageError(f"inputs: {name[:100]!r} is not an input name", code="usage")
    path, ours = _plan_file(plan, Path.cwd())
    # the path absolute and every value in one --opt=VALUE word: nothing a caller gives can
    # be read as another option (an --approve) by the child's command line
    argv = [sys.executable, "-m", "lam", "dry-run" if dry_run else "run", str(path.resolve())]
    argv.append("--json")
    if not dry_run:
        argv.append("--no-prompt")
    else:
        argv.append(f"--reads={config.reads}")
    if config.policy:
        argv.append(f"--policy={config.policy}")
    if config.headed:
        argv.append("--headed")
    for name, value in inputs.items():
        text = value if isinstance(value, str) else json.dumps(value)
        argv.append(f"--input={name}={text}")
    argv += [f"--approve={approval}" for approval in approvals]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return 1, {"ok": False, "error": {"message": f"the plan ran past {RUN_TIMEOUT_S:.0f} s"}}
    finally:
        if ours:
            path.unlink(missing_ok=True)
    try:
        out = json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        out = {"ok": False, "error": {"message": last}}
    if not isinstance(out, dict):
        out = {"ok": False, "output": out}
    return done.returncode, out
