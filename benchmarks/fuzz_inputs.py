"""Hostile input against lam's readers: what the limits cost, and a long fuzz sweep.

Three parts, each printed as it finishes:

1. **The readers' cost** on real specs: ``lam.limits`` (counting composer, number hooks, one
   walk) against the plain parsers it replaced (PyYAML's libyaml loader, ``json.loads``), in
   the same run, as a ratio. Specs come from ``../shared/specs`` when present.
2. **The attacks**, each refused: CPU time to refuse it against the CPU time to validate
   ``examples/petstore_write.yaml`` (a small valid plan) in the same run.
3. **A fuzz sweep**: the strategies of ``tests/test_fuzz_inputs.py`` with many more examples
   and a random seed, through the same entry points; every example's exit code, error lines,
   CPU time and peak memory are checked, and the worst are printed. A failure is printed with
   its input (cut to 300 characters) and the sweep goes on.

Run: ``.venv/bin/python benchmarks/fuzz_inputs.py [--examples N] [--seed S]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "specs"
sys.path.insert(0, str(ROOT / "tests"))

from bounded import Outcome, assert_bounded, run_bounded  # noqa: E402
from test_fuzz_inputs import (  # noqa: E402
    TINY_PLAN,
    hostile_json_plans,
    hostile_plans,
    hostile_policies,
    hostile_specs,
    mangled_real_files,
)
from test_limits import PLAN_HEAD, laughs  # noqa: E402

from lam.limits import SPEC_LIMITS, load_json, load_yaml  # noqa: E402


def best_cpu(fn: Callable[[], Any], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def _reader_times(text: str, kind: str) -> tuple[float, float]:
    if kind == "json":
        return (
            best_cpu(lambda: json.loads(text)),
            best_cpu(lambda: load_json(text, SPEC_LIMITS)),
        )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return (
        best_cpu(lambda: yaml.load(text, Loader=loader), runs=2),
        best_cpu(lambda: load_yaml(text, SPEC_LIMITS, unique_keys=False), runs=2),
    )


def readers() -> None:
    print("## 1. The readers' cost on real specs (CPU s, best of 3)")
    print(f"{'spec':38} {'plain':>8} {'limited':>8} {'ratio':>6}")
    cases = [
        ("github_api.github.com.json", "json"),
        ("stripe_spec3_2023-09-12.yaml", "yaml"),
        ("restbench_tmdb_oas.json", "json"),
    ]
    for name, kind in cases:
        path = SHARED / name
        if not path.is_file():
            print(f"{name:38} (not here: skipped)")
            continue
        text = path.read_text(encoding="utf-8")
        plain, limited = _reader_times(text, kind)
        print(f"{name:38} {plain:8.3f} {limited:8.3f} {limited / plain:5.2f}x")
    print()


def attacks(work: Path) -> None:
    print("## 2. Attacks refused (CPU s; baseline: validating a small valid plan)")
    shutil.copytree(ROOT / "specs", work / "specs", dirs_exist_ok=True)
    shutil.copytree(ROOT / "examples", work / "examples", dirs_exist_ok=True)
    baseline_plan = work / "examples" / "petstore_write.yaml"
    baseline = min(run_bounded(["validate", str(baseline_plan)], memory=False).cpu_s for _ in "123")
    fan = "".join(
        f"    s{i}: {{allOf: ["
        + ", ".join([f"{{$ref: '#/components/schemas/s{i + 1}'}}"] * 9)
        + "]}\n"
        for i in range(8)
    )
    spec_head = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"
    documents = {
        "billion laughs in a plan body": (
            "plan.yaml",
            PLAN_HEAD + "    body:\n" + laughs(" " * 6),
            ["validate"],
        ),
        "100,000 nested JSON arrays": (
            "plan.json",
            '{"lam": 1, "steps": [' + "[" * 100_000 + "]" * 100_000 + "]}",
            ["validate"],
        ),
        "5,000-digit integer": (
            "plan.yaml",
            "lam: 1\nname: n\nsteps:\n  - id: a\n    wait: " + "9" * 5000 + "\n",
            ["validate"],
        ),
        "plan of 100,000 steps": (
            "plan.yaml",
            "lam: 1\nname: m\nsteps:\n"
            + "".join(f"  - {{id: s{i}, goto: 'http://127.0.0.1:9/'}}\n" for i in range(100_000)),
            ["validate"],
        ),
        "billion laughs in a spec": (
            "spec.yaml",
            spec_head + "components:\n  examples:\n" + laughs("    ", 10),
            ["spec", "ops"],
        ),
        "$ref fan 9**8 (3 kB spec)": (
            "spec.yaml",
            spec_head + "components:\n  schemas:\n" + fan + "    s8: {type: object}\n",
            ["spec", "check"],
        ),
        "$ref chain of 20,000": (
            "spec.yaml",
            spec_head
            + "components:\n  schemas:\n"
            + "".join(
                f"    s{i}: {{$ref: '#/components/schemas/s{i + 1}'}}\n" for i in range(20_000)
            )
            + "    s20000: {type: object}\n",
            ["spec", "ops"],
        ),
    }
    print(f"baseline: validate examples/petstore_write.yaml  {baseline:.3f} s")
    print(f"{'attack':34} {'bytes':>9} {'exit':>4} {'CPU s':>7} {'x base':>7} {'peak MB':>8}")
    for label, (name, text, command) in documents.items():
        path = work / name
        path.write_text(text, encoding="utf-8")
        outcome = run_bounded([*command, str(path)])
        print(
            f"{label:34} {len(text.encode()):9,} {outcome.code:4} {outcome.cpu_s:7.3f} "
            f"{outcome.cpu_s / baseline:6.1f}x {outcome.peak_mb:8.1f}"
        )
    print()


class Sweep:
    """Every example's figures, and the failures with their input."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.peak: list[float] = []
        self.failures: list[tuple[str, str, str]] = []
        self.codes: dict[int, int] = {}

    def check(self, kind: str, text: str, outcome: Outcome, codes: tuple[int, ...]) -> None:
        self.cpu.append(outcome.cpu_s)
        self.peak.append(outcome.peak_mb)
        self.codes[outcome.code] = self.codes.get(outcome.code, 0) + 1
        try:
            if kind == "spec check":
                assert outcome.code in (0, 1) and "Traceback" not in outcome.out + outcome.err
                assert "internal error" not in outcome.err
                assert outcome.cpu_s < 2.0 and outcome.peak_mb < 200.0
            else:
                assert_bounded(outcome, codes=codes, one_line=False)
        except AssertionError as exc:
            why = str(exc).splitlines()[0][:300] if str(exc) else outcome.err[-300:]
            self.failures.append((kind, why, text[:300]))


def sweep(work: Path, examples: int, seed_value: int) -> None:
    print(f"## 3. Fuzz sweep: {examples} examples per strategy, seed {seed_value}")
    shutil.copytree(ROOT / "specs", work / "specs", dirs_exist_ok=True)
    (work / "examples").mkdir(exist_ok=True)
    petstore = str(work / "specs" / "petstore.yaml")
    results = Sweep()

    def place(name: str, text: str) -> Path:
        path = work / "examples" / name
        path.write_text(text.replace("PETSTORE", petstore), encoding="utf-8", errors="replace")
        return path

    fuzz = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )

    def run(kind: str, strategy: st.SearchStrategy[Any], body: Callable[[Any], None]) -> None:
        @seed(seed_value)
        @fuzz
        @given(strategy)
        def one(value: Any) -> None:
            body(value)

        start = time.perf_counter()
        before = len(results.cpu)
        one()
        took = time.perf_counter() - start
        print(f"  {kind:26} {len(results.cpu) - before:6} runs  {took:7.1f} s wall")

    def plan(text: str) -> None:
        results.check(
            "plan", text, run_bounded(["validate", str(place("p.yaml", text))]), (0, 1, 3)
        )

    def json_plan(text: str) -> None:
        path = place("p.json", text)
        results.check("json plan", text, run_bounded(["validate", str(path)]), (0, 1, 3))

    def policy(text: str) -> None:
        argv = [
            "validate",
            "--policy",
            str(place("pol.yaml", text)),
            str(place("t.yaml", TINY_PLAN)),
        ]
        results.check("policy", text, run_bounded(argv), (0, 2, 3))

    def spec(text: str) -> None:
        path = place("s.yaml", text)
        results.check("spec ops", text, run_bounded(["spec", "ops", str(path)]), (0, 1))
        results.check("spec check", text, run_bounded(["spec", "check", str(path)]), (0, 1))

    def mangled(value: tuple[str, str]) -> None:
        suffix, text = value
        path = place(f"m{suffix}", text)
        results.check("mangled", text, run_bounded(["validate", str(path)]), (0, 1, 2, 3))

    os.chdir(work)
    run("hostile YAML plans", hostile_plans(), plan)
    run("hostile JSON plans", hostile_json_plans(), json_plan)
    run("hostile policies", hostile_policies(), policy)
    run("hostile specs", hostile_specs(), spec)
    run("mangled real files", mangled_real_files(), mangled)
    cpu = sorted(results.cpu)
    peak = sorted(results.peak)
    print(f"runs: {len(cpu)}; exit codes: {dict(sorted(results.codes.items()))}")
    print(
        f"CPU s per run: median {statistics.median(cpu):.3f}, p99 {cpu[int(len(cpu) * 0.99)]:.3f},"
        f" max {cpu[-1]:.3f}"
    )
    print(
        f"peak MB per run: median {statistics.median(peak):.1f}, "
        f"p99 {peak[int(len(peak) * 0.99)]:.1f}, max {peak[-1]:.1f}"
    )
    print(f"failures: {len(results.failures)}")
    for kind, why, text in results.failures[:10]:
        print(f"  [{kind}] {why}\n      input: {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="per strategy (default 300)")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--skip-readers", action="store_true", help="parts 2 and 3 only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("LAM_HOME", "LAM_CACHE_DIR", "LAM_RUNTIME_DIR", "LAM_CONFIG_DIR"):
            os.environ[name] = str(work / name.lower())
        if not args.skip_readers:
            readers()
        attacks(work / "attacks")
        sweep(work / "sweep", args.examples, args.seed)


if __name__ == "__main__":
    main()
