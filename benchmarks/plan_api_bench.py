"""How often the embedded API planner picks the right operations and values.

    .venv/bin/python benchmarks/plan_api_bench.py [-v] [--restbench RESTGPT_CHECKOUT]

1. The goal sets in tests/data/goals/ (petstore and demo specs; ``*_heldout`` were written after
   tuning): per goal outcome (-v), then operation accuracy, parameter accuracy, refusals and
   wrong plans per set. Baseline, same run: BM25 alone (top text score per clause, no value fit,
   never refusing), as a ratio.
2. With ``--restbench DIR`` (a checkout of github.com/Yifan-Song793/RestGPT, MIT): RestBench (RestGPT's tmdb and spotify queries
   with gold call chains). Scored on the *first* gold call only, since the embedded planner
   plans a clause per action and RestBench queries hide their chains ("the lead actor of The
   Dark Knight" needs a search first). Figures: ranker top-1 and top-5 over the whole query;
   the planner's answered share (it refuses when unsure) and its first-step accuracy when it
   answers.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lam.planner import ApiGoalPlanner, Observation  # noqa: E402
from lam.planner.api_goals import split_clauses  # noqa: E402
from lam.planner.evaluate import GoalSet, load_goal_set, score_goal_set  # noqa: E402
from lam.spec import load_spec  # noqa: E402


def _baseline(planner: ApiGoalPlanner, goal_set: GoalSet) -> float:
    """BM25 alone: the top text score per clause, never refusing."""
    right = 0
    apis = {"api": goal_set.spec}
    for entry in goal_set.goals:
        want = [s["call"] for s in entry.get("steps") or ()]
        got = []
        for clause in split_clauses(str(entry["goal"])):
            ranked = sorted(planner.rank(clause, apis), key=lambda r: -r.text_score)
            if ranked:
                got.append(ranked[0].op.operation_id)
        right += (got == want) if want else not got
    return right / len(goal_set.goals)


def goal_sets(verbose: bool) -> None:
    planner = ApiGoalPlanner()
    print("goal set                 goals  op-acc  param-acc  refused  wrong  bm25-only  ratio")
    totals = [0, 0, 0, 0, 0]
    for path in sorted((ROOT / "tests" / "data" / "goals").glob("*.yaml")):
        goal_set = load_goal_set(path)
        started = time.perf_counter()
        score = score_goal_set(planner, goal_set)
        elapsed = (time.perf_counter() - started) / max(1, score.total)
        base = _baseline(planner, goal_set)
        if verbose:
            for r in score.results:
                extra = f"  [{r.detail}]" if r.detail and r.outcome != "ok" else ""
                print(f"  {r.outcome:8} {r.goal}{extra}")
        ratio = score.operation_accuracy / base if base else float("inf")
        print(
            f"{path.stem:24} {score.total:5}  {score.operation_accuracy:6.2f}  "
            f"{score.parameter_accuracy:9.2f}  {score.refused:7}  {score.wrong:5}  "
            f"{base:9.2f}  {ratio:5.2f}   ({elapsed * 1000:.1f} ms/goal)"
        )
        ok_ops = round(score.operation_accuracy * score.total)
        ok_all = round(score.parameter_accuracy * score.total)
        for i, v in enumerate((score.total, ok_ops, ok_all, score.refused, score.wrong)):
            totals[i] += v
    n, ops, allv, refused, wrong = totals
    print(f"{'all':24} {n:5}  {ops / n:6.2f}  {allv / n:9.2f}  {refused:7}  {wrong:5}")


def restbench(checkout: Path) -> None:
    for name in ("tmdb", "spotify"):
        queries_file = checkout / "datasets" / f"{name}.json"
        spec_file = checkout / "specs" / f"{name}_oas.json"
        if not queries_file.exists() or not spec_file.exists():
            print(f"restbench {name}: skipped ({queries_file} not present)")
            continue
        queries = json.loads(queries_file.read_text(encoding="utf-8"))
        spec = load_spec(spec_file)
        apis = {name: spec}
        planner = ApiGoalPlanner()
        top1 = top5 = answered = answered_right = 0
        for item in queries:
            gold = str(item["solution"][0])
            ranked = planner.rank(str(item["query"]), apis)
            keys = [r.op.key for r in ranked[:5]]
            top1 += bool(keys) and keys[0] == gold
            top5 += gold in keys
            proposal = planner.propose(Observation(str(item["query"]), apis=apis), ())
            if proposal.grounded:
                answered += 1
                first = str(proposal.steps[0]["call"])
                op = spec.find(first.removeprefix(f"{name}.")) or spec.find(
                    first.removeprefix(f"{name} ")
                )
                answered_right += op is not None and op.key == gold
        n = len(queries)
        print(
            f"restbench {name:8} {n:4} queries  first call top-1 {top1 / n:.2f}  "
            f"top-5 {top5 / n:.2f}  planner answered {answered / n:.2f}, "
            f"first step right when answered {answered_right / max(1, answered):.2f} "
            f"({answered_right}/{answered})"
        )


if __name__ == "__main__":
    goal_sets("-v" in sys.argv)
    if "--restbench" in sys.argv:
        restbench(Path(sys.argv[sys.argv.index("--restbench") + 1]))
    else:
        print("restbench: skipped (give --restbench RESTGPT_CHECKOUT)")
