"""Properties of mission loading over random dependency graphs (Hypothesis).

Whatever ``dependsOn`` says: the loader either returns a mission whose order runs every task
once, after everything it depends on, or refuses with one line naming a cycle that is really
in the graph. ``dependents`` and ``ancestors`` agree with each other.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lam.mission.load import mission_from_text
from lam.mission.model import MissionError

# At most 11 tasks: a cycle is then named whole (longer ones are cut: test_mission_load.py).
graphs = st.integers(min_value=1, max_value=11).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(min_value=0, max_value=n - 1), max_size=4), min_size=n, max_size=n
    )
)


def document(edges: list[list[int]]) -> str:
    flows = [
        {
            "workflowId": f"t{i}",
            "dependsOn": sorted({f"t{d}" for d in deps}),
            "x-lam-goal": "look around",
            "x-lam-agent": "ui",
            "x-lam-apps": ["shop"],
        }
        for i, deps in enumerate(edges)
    ]
    return json.dumps(
        {
            "arazzo": "1.0.1",
            "info": {"title": "g", "version": "1"},
            "x-lam": {"apps": {"shop": "http://127.0.0.1:9"}},
            "workflows": flows,
        }
    )


def has_cycle(edges: list[list[int]]) -> bool:
    for start in range(len(edges)):
        seen, frontier = set(), set(edges[start])
        while frontier:
            if start in frontier:
                return True
            seen |= frontier
            frontier = {d for f in frontier for d in edges[f]} - seen
    return False


@settings(max_examples=300, deadline=None)
@given(graphs)
def test_a_mission_loads_in_order_or_names_a_real_cycle(edges: list[list[int]]) -> None:
    try:
        mission = mission_from_text(document(edges), path=Path("/tmp/graph.json"))
    except MissionError as exc:
        assert has_cycle(edges)
        assert exc.code == "cycle" and "\n" not in exc.one_line()
        if "depends on itself" in exc.message:
            name = re.search(r"task '(t\d+)'", exc.message)
            assert name and int(name.group(1)[1:]) in edges[int(name.group(1)[1:])]
            return
        names = [int(n[1:]) for n in exc.message.removeprefix("dependency cycle: ").split(" -> ")]
        assert names[0] == names[-1] and len(names) >= 3
        for index, dep in itertools.pairwise(names):
            assert dep in edges[index]  # each arrow is a real dependsOn
        return
    assert not has_cycle(edges)
    seen: set[str] = set()
    for layer in mission.order():
        for task_id in layer:
            assert set(mission.task(task_id).depends_on) <= seen
        seen |= set(layer)
    assert seen == set(mission.ids) and sum(map(len, mission.order())) == len(edges)
    for task in mission.tasks:
        for other in mission.ancestors(task.id):
            assert task.id in mission.dependents(other)
