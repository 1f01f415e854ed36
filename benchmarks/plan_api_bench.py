"""How often the embedded API planner picks the right operations and values.

    .venv/bin/python benchmarks/plan_api_bench.py [-v|-vv] [--sweep] [--shipped] [--restbench RESTGPT_CHECKOUT]

1. The goal sets in tests/data/goals/ (petstore and demo specs; ``*_heldout`` were written after
   tuning): per goal outcome (-v), then operation accuracy, parameter accuracy, refusals and
   wrong plans per set. Baseline, same run: BM25 alone (top text score per clause, no value fit,
   never refusing), as a ratio.
2. RestBench (RestGPT's TMDB and Spotify queries with gold call chains, MIT; read from a RestGPT
   checkout given with ``--restbench DIR``, else ../shared/specs, else (or with ``--shipped``)
   the copies shipped in tests/data), scored by :mod:`lam.planner.restbench` per dataset and split (even query
   indexes tune, odd ones are held out): the share answered (the planner refuses when unsure),
   and of the answered ones the share whose first call is right and whose whole call chain is
   the gold one. Baseline, same run: BM25 alone, answering every query with its top operation
   (first call right over all queries). ``-v`` prints each query of the tuning split only, so
   the held-out split stays unread while tuning; ``-vv`` prints both. ``--sweep`` prints the
   tuning split's figures over a grid of the planner's two thresholds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lam.planner import ApiGoalPlanner  # noqa: E402
from lam.planner.api_goals import split_clauses  # noqa: E402
from lam.planner.evaluate import GoalSet, load_goal_set, score_goal_set  # noqa: E402
from lam.planner.restbench import Query, Tally, load_queries, score, tally  # noqa: E402
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


SHARED = ROOT.parent / "shared" / "specs"
SHIPPED = ROOT / "tests" / "data"


def _restbench_files(name: str, checkout: Path | None) -> tuple[Path, Path]:
    """The queries and the spec: a RestGPT checkout when given, else ../shared/specs when
    present, else the copies shipped with the tests (the spec unpacked from its .xz)."""
    if checkout is not None:
        return checkout / "datasets" / f"{name}.json", checkout / "specs" / f"{name}_oas.json"
    if (SHARED / "restbench" / f"{name}.json").exists() and "--shipped" not in sys.argv:
        return SHARED / "restbench" / f"{name}.json", SHARED / f"restbench_{name}_oas.json"
    sys.path.insert(0, str(ROOT / "tests"))
    from real_specs import real_spec

    return SHIPPED / "restbench" / f"{name}.json", real_spec(f"restbench_{name}_oas.json")


BM25_TOP1: dict[tuple[str, str], int] = {}


def _bm25_first(planner: ApiGoalPlanner, query: Query, spec: Spec, name: str) -> bool:
    ranked = sorted(planner.rank(query.goal, {name: spec}), key=lambda r: -r.text_score)
    return bool(ranked) and ranked[0].op.key == query.gold[0]


def restbench(
    checkout: Path | None, planner: ApiGoalPlanner, verbose: bool
) -> dict[tuple[str, str], Tally]:
    """Per (dataset, split): the tally of answers; -v prints each query of the tuning split."""
    table: dict[tuple[str, str], Tally] = {}
    for name in ("tmdb", "spotify"):
        queries_file, spec_file = _restbench_files(name, checkout)
        if not queries_file.exists() or not spec_file.exists():
            print(f"restbench {name}: skipped ({queries_file} not present)")
            continue
        spec = load_spec(spec_file)
        outcomes = score(planner, load_queries(queries_file), spec, name)
        for split in ("tune", "held-out"):
            table[(name, split)] = tally(outcomes, split)
            base = [o for o in outcomes if o.query.split == split]
            BM25_TOP1[(name, split)] = sum(_bm25_first(planner, o.query, spec, name) for o in base)
        for o in outcomes:
            if not verbose or (o.query.split != "tune" and "-vv" not in sys.argv):
                continue
            if o.answered:
                mark = "ok" if o.whole_right else "ok1" if o.first_right else "WRONG"
                got = " > ".join(o.calls)
            else:
                mark, got = "refused", "; ".join(o.proposal.unsure)[:300]
            print(f"  {name} {o.query.index:3} {o.query.split:8} {mark:7} {o.query.goal}")
            print(f"      gold: {' > '.join(o.query.gold)}\n      plan: {got}")
    return table


def print_restbench(table: dict[tuple[str, str], Tally]) -> None:
    print(
        "restbench  split     queries  answered  first call right  whole path right  "
        "BM25 alone: first call right"
    )
    for (name, split), t in table.items():
        base = BM25_TOP1.get((name, split), 0)
        print(
            f"{name:10} {split:8}  {t.queries:7}  {t.answer_rate:8.2f}  "
            f"{t.precision:6.2f} ({t.first_right:2}/{t.answered:2})   "
            f"{t.whole_precision:6.2f} ({t.whole_right:2}/{t.answered:2})   "
            f"{base / max(1, t.queries):.2f} ({base}/{t.queries})"
        )


def sweep(checkout: Path | None) -> None:
    """Answer rate and first-call precision on the *tuning* split over a grid of thresholds."""
    print("sweep on the tuning split: coverage margin -> answered, first call right")
    for coverage in (0.1, 0.2, 0.3, 0.4):
        for margin in (0.04, 0.08, 0.12, 0.16, 0.2):
            planner = ApiGoalPlanner(min_coverage=coverage, min_margin=margin)
            table = restbench(checkout, planner, False)
            cells = []
            for name in ("tmdb", "spotify"):
                t = table.get((name, "tune"), Tally())
                cells.append(f"{name} {t.answered}/{t.queries} right {t.first_right}/{t.answered}")
            print(f"  {coverage:.2f} {margin:.2f}  " + "  ".join(cells))


if __name__ == "__main__":
    verbose = "-v" in sys.argv or "-vv" in sys.argv  # -v shows the tuning split only
    goal_sets(verbose)
    where = Path(sys.argv[sys.argv.index("--restbench") + 1]) if "--restbench" in sys.argv else None
    if "--sweep" in sys.argv:
        sweep(where)
    else:
        print_restbench(restbench(where, ApiGoalPlanner(), verbose))
