"""lam.fleet.rows: a batch's rows read and typed like --input values; a bad file is one line
naming file:line and the column, exit 2, before anything runs (nothing is recorded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lam.cli.main import main
from lam.errors import UsageError
from lam.fleet.rows import read_rows, row_key

INPUTS: dict[str, dict[str, Any]] = {
    "title": {"type": "string", "minLength": 1},
    "count": {"type": "integer", "minimum": 0, "default": 1},
    "tags": {"type": "array", "items": {"type": "string"}, "default": []},
}
PLAN = """\
lam: 1
name: fleet_rows
inputs:
  title: {type: string, minLength: 1}
  count: {type: integer, minimum: 0, default: 1}
apis:
  posts:
    spec: SPEC
steps:
  - id: add
    call: posts.createPost
    body: {title: $inputs.title, author: lam}
"""
SPEC = Path(__file__).parent / "realapps" / "json_server.yaml"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_cells_are_typed_by_each_inputs_schema(tmp_path: Path) -> None:
    rows = read_rows(
        write(tmp_path, "r.csv", 'title,count,tags\nLamp,3,"[""a""]"\n\nChair,0,[]\n'), INPUTS
    )
    assert [(r.number, r.line, r.values) for r in rows] == [
        (1, 2, {"title": "Lamp", "count": 3, "tags": ["a"]}),
        (2, 4, {"title": "Chair", "count": 0, "tags": []}),
    ]
    assert rows[0].key == row_key(1, {"title": "Lamp", "count": 3, "tags": ["a"]})
    assert rows[0].key != rows[1].key


def test_jsonl_rows_and_defaults_left_to_the_plan(tmp_path: Path) -> None:
    rows = read_rows(
        write(tmp_path, "r.jsonl", '{"title": "Lamp"}\n\n{"title": "B", "count": 2}\n'), INPUTS
    )
    assert [(r.line, r.values) for r in rows] == [
        (1, {"title": "Lamp"}),
        (3, {"title": "B", "count": 2}),
    ]


@pytest.mark.parametrize(
    ("name", "text", "where", "words"),
    [
        ("r.csv", "count\n3\n", "r.csv:1", "column 'title' is missing"),
        (
            "r.csv",
            "title,colour\nLamp,red\n",
            "r.csv:1",
            "column 'colour': the plan has no such input",
        ),
        ("r.csv", "title,count\nLamp,3\nChair\n", "r.csv:3", "1 fields, the header has 2"),
        (
            "r.csv",
            "title,count\nLamp,3\nChair,-4\n",
            "r.csv:3",
            "column 'count': -4 is less than the minimum",
        ),
        (
            "r.csv",
            "title,count\nLamp,many\n",
            "r.csv:2",
            "column 'count': 'many' is not of type 'integer'",
        ),
        ("r.csv", "title,title\nA,B\n", "r.csv:1", "appears twice"),
        ("r.jsonl", '{"title": "A"}\n{"title": "B",\n', "r.jsonl:2", "not a JSON line"),
        ("r.jsonl", '{"title": "A"}\n["B"]\n', "r.jsonl:2", "a JSON object is needed"),
        ("r.jsonl", '{"count": 2}\n', "r.jsonl:1", "column 'title' is missing"),
        ("r.jsonl", '{"title": ""}\n', "r.jsonl:1", "column 'title': '' should be non-empty"),
        ("r.csv", "title,count\n", "r.csv", "no rows"),
        ("r.txt", "title\nA\n", "r.txt", "give a .csv or .jsonl file"),
    ],
)
def test_a_bad_file_names_file_line_and_column(
    tmp_path: Path, name: str, text: str, where: str, words: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(UsageError) as caught:
        read_rows(path, INPUTS)
    assert caught.value.exit_code == 2
    line = caught.value.one_line()
    assert line.startswith(str(tmp_path / where) + ":"), line
    assert words in line, line


def test_lam_run_with_a_bad_row_says_one_line_exit_2_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lam_home: Path
) -> None:
    plan = write(tmp_path, "plan.yaml", PLAN.replace("SPEC", str(SPEC)))
    rows = write(tmp_path, "rows.csv", "title,count\nLamp,1\nChair,x\n")
    code = main(["run", str(plan), "--inputs", str(rows), "--api", "posts=http://127.0.0.1:9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"lam: {rows}:3: column 'count': 'x' is not of type 'integer'"]
    assert not (tmp_path / "rows.results.jsonl").exists()
    assert not (lam_home / "runs").exists()  # no run record: nothing started


def test_blanket_and_stale_batch_approvals_are_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lam_home: Path
) -> None:
    plan = write(tmp_path, "plan.yaml", PLAN.replace("SPEC", str(SPEC)))
    rows = write(tmp_path, "rows.csv", "title\nLamp\n")
    base = ["run", str(plan), "--inputs", str(rows), "--api", "posts=http://127.0.0.1:9"]
    assert main([*base, "--approve", "add"]) == 2
    assert "needs --max-approved N" in capsys.readouterr().err
    assert main([*base, "--approve", "add", "--max-approved", "3"]) == 2
    assert (
        "a batch approval names the step's batch digest: --approve add@" in capsys.readouterr().err
    )
    assert main([*base, "--approve", "add@0000000000", "--max-approved", "3"]) == 3
    assert "is not what was approved" in capsys.readouterr().err
    assert main([*base, "--input", "title=x"]) == 2
    assert not (lam_home / "runs").exists()
