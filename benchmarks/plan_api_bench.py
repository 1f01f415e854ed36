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
from lam.spec import Spec, load_spec  # noqa: E402


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


# Two gold calls that name no operation of their own spec (typos in the dataset, listed in
# ../shared/specs/README.md); read as the operation they obviously mean.
_GOLD_TYPOS = {
    "GET /person/{movie_id}/movie_credits": "GET /person/{person_id}/movie_credits",
    "GET /track/{id}": "GET /tracks/{id}",
}
SHARED = ROOT.parent / "shared" / "specs"


def _restbench_files(name: str, checkout: Path | None) -> tuple[Path, Path]:
    if checkout is not None:  # a RestGPT checkout
        return checkout / "datasets" / f"{name}.json", checkout / "specs" / f"{name}_oas.json"
    return SHARED / "restbench" / f"{name}.json", SHARED / f"restbench_{name}_oas.json"


def split_of(index: int) -> str:
    """RestBench's split, fixed before any tuning: even query indexes tune, odd ones are held out."""
    return "tune" if index % 2 == 0 else "held-out"


def _calls(proposal_steps: tuple[dict[str, object], ...], spec: Spec, name: str) -> list[str]:
    out = []
    for step in proposal_steps:
        ref = str(step["call"])
        op = spec.find(ref.removeprefix(f"{name}.")) or spec.find(ref.removeprefix(f"{name} "))
        out.append(op.key if op is not None else ref)
    return out


def restbench(
    checkout: Path | None, planner: ApiGoalPlanner, verbose: bool
) -> dict[tuple[str, str], list[int]]:
    """Per (dataset, split): queries, answered, first call right, whole path right, top-1."""
    table: dict[tuple[str, str], list[int]] = {}
    for name in ("tmdb", "spotify"):
        queries_file, spec_file = _restbench_files(name, checkout)
        if not queries_file.exists() or not spec_file.exists():
            print(f"restbench {name}: skipped ({queries_file} not present)")
            continue
        queries = json.loads(queries_file.read_text(encoding="utf-8"))
        spec = load_spec(spec_file)
        apis = {name: spec}
        for i, item in enumerate(queries):
            gold = [_GOLD_TYPOS.get(c.strip(), c.strip()) for c in item["solution"]]
            row = table.setdefault((name, split_of(i)), [0, 0, 0, 0, 0])
            goal = str(item["query"]).strip()
            ranked = planner.rank(goal, apis)
            proposal = planner.propose(Observation(goal, apis=apis), ())
            row[0] += 1
            row[4] += bool(ranked) and ranked[0].op.key == gold[0]
            if proposal.grounded:
                calls = _calls(proposal.steps, spec, name)
                row[1] += 1
                row[2] += calls[0] == gold[0]
                row[3] += calls == gold
                mark = "ok  " if calls == gold else "ok1 " if calls[0] == gold[0] else "WRONG"
                got = " > ".join(calls)
            else:
                mark, got = "refused", "; ".join(proposal.unsure)[:300]
            if verbose and (split_of(i) == "tune" or "-vv" in sys.argv):
                print(f"  {name} {i:3} {split_of(i):8} {mark:7} {goal}")
                print(f"      gold: {' > '.join(gold)}\n      plan: {got}")
    return table


def print_restbench(table: dict[tuple[str, str], list[int]]) -> None:
    print(
        "restbench  split     queries  answered  first call right  whole path right  "
        "ranker top-1 (baseline)"
    )
    for (name, split), (n, answered, first, whole, top1) in table.items():
        a = max(1, answered)
        print(
            f"{name:10} {split:8}  {n:7}  {answered / n:8.2f}  "
            f"{first / a:6.2f} ({first:2}/{answered:2})   {whole / a:6.2f} ({whole:2}/{answered:2})"
            f"   {top1 / n:.2f}"
        )


def sweep(checkout: Path | None) -> None:
    """Answer rate and first-call precision on the *tuning* split over a grid of thresholds."""
    print("sweep on the tuning split: coverage margin -> answered, first call right")
    for coverage in (0.1, 0.2, 0.3, 0.4):
        for margin in (0.04, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3):
            planner = ApiGoalPlanner(min_coverage=coverage, min_margin=margin)
            table = restbench(checkout, planner, False)
            cells = []
            for name in ("tmdb", "spotify"):
                n, answered, first, _, _ = table.get((name, "tune"), [0, 0, 0, 0, 0])
                cells.append(f"{name} {answered}/{n} right {first}/{answered}")
            print(f"  {coverage:.2f} {margin:.2f}  " + "  ".join(cells))


if __name__ == "__main__":
    verbose = "-v" in sys.argv or "-vv" in sys.argv  # -v shows the tuning split only
    goal_sets(verbose)
    where = Path(sys.argv[sys.argv.index("--restbench") + 1]) if "--restbench" in sys.argv else None
    if "--sweep" in sys.argv:
        sweep(where)
    else:
        print_restbench(restbench(where, ApiGoalPlanner(), verbose))
