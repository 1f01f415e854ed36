"""Input that tries to exhaust lam: each attack ends in one line, fast, in little memory.

The first three are the attacks that once worked (issue 10): a 648-byte plan whose YAML
aliases expand to a billion values (it hung `lam validate` past 60 s at 3.4 GB), 100,000
nested JSON arrays (RecursionError) and a 5,000-digit integer (ValueError). The rest are their
siblings, through every door a document comes in by: plans, policies, specs (by file, by
relative ``$ref`` and by URL) and ``--input`` values. Every case runs the real command in-process
and checks the exit code, the single ``lam: FILE: PLACE: MESSAGE`` line, CPU time and memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from bounded import CPU_SECONDS, PEAK_MB, Outcome, assert_bounded, run_bounded

from lam.adapters.http import decode_body
from lam.errors import UsageError
from lam.expressions import (
    MAX_RESOLVED_CHARS,
    Context,
    ExpressionError,
    parse_value,
    resolve_value,
    walk_expressions,
)
from lam.limits import DOCUMENT_LIMITS, SPEC_LIMITS, load_json
from lam.plans import ApiStep, load_plan
from lam.runtime.inputs import resolve_inputs
from lam.spec.fanout import MAX_SCHEMA_BRANCHES
from lam.spec.refs import MAX_BUNDLE_FILES, MAX_REF_CHAIN

ROOT = Path(__file__).resolve().parents[1]
PETSTORE = ROOT / "specs" / "petstore.yaml"

PLAN_HEAD = f"""lam: 1
name: hostile
apis:
  petstore: {{spec: {PETSTORE}, base_url: "http://127.0.0.1:9/api/v3"}}
steps:
  - id: add
    call: petstore.addPet
"""


@pytest.fixture(autouse=True)
def _outside_any_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAM_DEBUG", raising=False)


def laughs(indent: str, levels: int = 9) -> str:
    """The classic: nine lists of nine aliases to the one before, 9**9 values in ~600 bytes."""
    lines = [f"{indent}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"{indent}a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def refused(outcome: Outcome, code: int, file: Path | str, *fragments: str) -> str:
    """The command refused the input: ``code``, one line naming the file, within budget."""
    assert_bounded(outcome, codes=(code,))
    line = outcome.error_lines[0]
    assert line.startswith(f"lam: {file}: "), line
    for fragment in fragments:
        assert fragment in line, line
    return line


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the three reported attacks


@pytest.mark.parametrize("where", ["body", "expect"])
def test_billion_laughs_in_a_plan(tmp_path: Path, where: str) -> None:
    if where == "body":
        text = PLAN_HEAD + "    body:\n" + laughs(" " * 6) + "      name: x\n"
    else:
        text = PLAN_HEAD + "    body: {name: x}\n    expect:\n      status: 200\n      body:\n"
        text += laughs(" " * 8)
    plan = write(tmp_path / "laughs.yaml", text)
    assert len(text) < 800
    line = refused(
        run_bounded(["validate", str(plan)]), 1, plan, "more than 100,000 keys and values"
    )
    assert ": line " in line  # the place: where the budget ran out


def test_hundred_thousand_nested_json_arrays(tmp_path: Path) -> None:
    text = '{"lam": 1, "name": "d", "steps": [{"id": "a", "goto": "http://x/", "x": '
    plan = write(tmp_path / "deep.json", text + "[" * 100_000 + "]" * 100_000 + "}]}")
    refused(
        run_bounded(["validate", str(plan)]), 1, plan, "line 1, column 134", "nested more than 64"
    )


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_five_thousand_digit_integer(tmp_path: Path, suffix: str) -> None:
    number = "9" * 5000
    if suffix == "yaml":
        text = f"lam: 1\nname: n\nsteps:\n  - id: a\n    wait: {number}\n"
        place = "line 5, column 11"
    else:
        text = f'{{"lam": 1, "name": "n", "steps": [{{"id": "a", "wait": {number}}}]}}'
        place = "line 1, column 55"
    plan = write(tmp_path / f"big.{suffix}", text)
    refused(run_bounded(["validate", str(plan)]), 1, plan, place, "a number of 5,000 characters")


# ----------------------------------------------------------------------- siblings in plans


def _plan_with_body(body_yaml: str) -> str:
    return PLAN_HEAD + "    body:\n" + body_yaml


SIBLINGS = {
    # name: (plan text, fragments of the one line)
    "deep flow yaml": (
        _plan_with_body("      x: " + "[" * 500 + "]" * 500 + "\n"),
        ["line 9, column 70", "nested more than 64 deep"],
    ),
    "deep block yaml": (
        _plan_with_body(
            "".join(" " * (6 + 2 * i) + "k:\n" for i in range(200)) + " " * 406 + "1\n"
        ),
        ["nested more than 64 deep"],
    ),
    "deeper than libyaml allows": (
        _plan_with_body("      x: " + "[" * 5000 + "]" * 5000 + "\n"),
        ["invalid YAML", "nesting depth"],
    ),
    "huge string": (
        _plan_with_body("      name: " + "x" * 1_000_001 + "\n"),
        ["line 9, column 13", "a string of 1,000,001 characters"],
    ),
    "huge key": (
        _plan_with_body("      " + "k" * 1_000_001 + ": 1\n"),
        ["a string of 1,000,001 characters"],
    ),
    "many keys": (
        _plan_with_body("".join(f"      k{i}: {i}\n" for i in range(60_000))),
        ["more than 100,000 keys and values"],
    ),
    "alias to itself": (_plan_with_body("      x: &a [1, *a]\n"), ["*a refers to a node that"]),
    "merge-key laughs": (
        _plan_with_body(
            "      m0: &m0 {k: 1}\n"
            + "".join(f"      m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}\n" for i in range(1, 40))
        ),
        ["more than 100,000 keys and values"],
    ),
    "yaml infinity": (_plan_with_body("      price: .inf\n"), ["'.inf' is not a finite number"]),
    "yaml nan": (_plan_with_body("      price: .NaN\n"), ["not a finite number"]),
    "yaml overflowing float": (_plan_with_body("      price: 1.0e+999\n"), ["not a finite number"]),
    "a NUL character": (_plan_with_body("      name: a\x00b\n"), ["invalid YAML", "line 9"]),
    "an escape character": (_plan_with_body("      name: a\x1bb\n"), ["invalid YAML"]),
}


@pytest.mark.parametrize("case", sorted(SIBLINGS))
def test_hostile_plan_siblings(tmp_path: Path, case: str) -> None:
    text, fragments = SIBLINGS[case]
    plan = write(tmp_path / "plan.yaml", text)
    refused(run_bounded(["validate", str(plan)]), 1, plan, *fragments)


JSON_SIBLINGS = {
    "nan": ('{"name": NaN}', "'NaN' is not a finite number"),
    "infinity": ('{"name": -Infinity}', "'-Infinity' is not a finite number"),
    "overflowing float": ('{"price": 1e999}', "'1e999' is not a finite number"),
    "long float": ('{"price": 0.' + "1" * 200 + "}", "a number of 202 characters"),
    "huge string": ('{"name": "' + "x" * 1_000_001 + '"}', "a string of 1,000,001"),
    "deep objects": ('{"x": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}", "nested more"),
    "lone surrogate": ('{"name": "a\\ud800"}', "\\ud800 alone is not a character"),
    "deep under the recursion limit": ('{"x": ' + "[" * 500 + "]" * 500 + "}", "nested more"),
}


@pytest.mark.parametrize("case", sorted(JSON_SIBLINGS))
def test_hostile_json_plan_siblings(tmp_path: Path, case: str) -> None:
    body, fragment = JSON_SIBLINGS[case]
    head = {"lam": 1, "name": "j", "apis": {"petstore": {"spec": str(PETSTORE)}}}
    text = json.dumps(head)[:-1] + ', "steps": [{"id": "a", "call": "petstore.addPet", "body": '
    plan = write(tmp_path / "plan.json", text + body + "}]}")
    refused(run_bounded(["validate", str(plan)]), 1, plan, fragment)


@pytest.mark.parametrize("text", ["2", "-1.5", "true", "null", '"x"', "[]", "{}"])
def test_any_json_value_at_the_top_is_read(text: str) -> None:
    assert load_json(text, DOCUMENT_LIMITS) == json.loads(text)


def test_a_surrogate_pair_is_a_character(tmp_path: Path) -> None:
    plan = write(
        tmp_path / "plan.json",
        '{"lam": 1, "name": "\\ud83d\\ude00", "steps": [{"id": "a", "wait": 1}]}',
    )
    assert load_plan(plan).name == "\U0001f600"


def test_a_nul_in_a_json_spec_path_is_one_line(tmp_path: Path) -> None:
    plan = write(
        tmp_path / "plan.json",
        '{"lam": 1, "name": "n", "apis": {"p": {"spec": "a\\u0000b.yaml"}}, '
        '"steps": [{"id": "a", "call": "p.x"}]}',
    )
    line = refused(run_bounded(["validate", str(plan)]), 1, plan, "apis.p.spec", "NUL")
    assert "\x00" not in line


def test_a_plan_of_a_hundred_thousand_steps(tmp_path: Path) -> None:
    steps = "".join(f"  - {{id: s{i}, goto: 'http://127.0.0.1:9/p{i}'}}\n" for i in range(100_000))
    plan = write(tmp_path / "plan.yaml", "lam: 1\nname: many\nsteps:\n" + steps)
    refused(run_bounded(["validate", str(plan)]), 1, plan, "more than 100,000 keys and values")


def test_a_plan_just_under_the_limits_still_loads(tmp_path: Path) -> None:
    """The limits refuse the hostile, not the merely big: 60 deep, a 900 kB string, aliases."""
    body = (
        "      deep: " + "[" * 55 + "1" + "]" * 55 + "\n"
        "      name: " + "x" * 900_000 + "\n"
        "      tags: &t [a, b, c]\n"
        "      more: [*t, *t, *t]\n"
        "      big: 123456789012345678901234567890\n"
    )
    plan = load_plan(write(tmp_path / "plan.yaml", _plan_with_body(body)))
    step = plan.steps[0]
    assert isinstance(step, ApiStep) and step.body["more"] == [["a", "b", "c"]] * 3


# ---------------------------------------------------------------------------- expressions


def test_expressions_under_a_megabyte_key_are_walked_once(tmp_path: Path) -> None:
    """20,000 expressions under a 999,999-character key: their locations were built by copying
    the key once per item (2 GB for 2,000 items); now one short location per expression."""
    key = "k" * 999_999
    found = walk_expressions(parse_value({key: ["$inputs.n"] * 20_000}), "steps[0].body")
    assert len(found) == 20_000
    assert found[0][0] == "steps[0].body." + key[:77] + "...[0]"
    items = ", ".join(["$inputs.n"] * 20_000)
    text = PLAN_HEAD.replace("steps:", "inputs:\n  n: {type: string, default: x}\nsteps:")
    plan = write(tmp_path / "plan.yaml", text + f"    body: {{{key}: [{items}]}}\n")
    outcome = run_bounded(["validate", str(plan)])
    assert_bounded(outcome, codes=(0, 1, 3), one_line=False)


def _context(**inputs: object) -> Context:
    return Context(inputs=inputs, outputs={}, secret=lambda name: "")


def test_an_input_named_many_times_cannot_make_a_huge_body() -> None:
    """1 MB named 100 times is 100 MB to send: refused before it is built."""
    big = "x" * 1_000_000
    body = parse_value({"a": ["$inputs.big"] * 100})
    with pytest.raises(ExpressionError, match="more than 16,000,000 characters"):
        resolve_value(body, _context(big=big))
    template = parse_value("{$inputs.big}" * 100)
    with pytest.raises(ExpressionError, match="more than 16,000,000 characters"):
        resolve_value(template, _context(big=big))
    nested = {"k": [big] * 4}  # one object, named 10 times: its size is counted each time
    with pytest.raises(ExpressionError):
        resolve_value(parse_value(["$inputs.o"] * 10), _context(o=nested))


def test_a_big_value_named_a_few_times_is_fine() -> None:
    big = "x" * 1_000_000
    body = resolve_value(parse_value({"a": ["$inputs.big"] * 10}), _context(big=big))
    assert body == {"a": [big] * 10}


# ------------------------------------------------------------------------ the other doors


@pytest.mark.parametrize("command", [["import"], ["recording", "params"]])
def test_billion_laughs_through_the_other_readers(tmp_path: Path, command: list[str]) -> None:
    """An Arazzo workflow to import, a recording to list: the same reader, the same line."""
    document = write(
        tmp_path / "doc.yaml",
        "arazzo: 1.0.0\ninfo: {title: t, version: '1'}\nx-l:\n" + laughs("  "),
    )
    refused(run_bounded([*command, str(document)]), 1, document, "more than 100,000 keys")


# ------------------------------------------------------------------------------- policies


def test_billion_laughs_in_a_policy_is_a_usage_error(tmp_path: Path) -> None:
    policy = write(tmp_path / "policy.yaml", "defaults: {read: allow}\nx-laughs:\n" + laughs("  "))
    plan = write(tmp_path / "plan.yaml", "lam: 1\nname: p\nsteps:\n  - {id: a, wait: 1}\n")
    outcome = run_bounded(["validate", "--policy", str(policy), str(plan)])
    refused(outcome, 2, policy, "more than 100,000 keys and values")


def test_deep_json_policy_is_a_usage_error(tmp_path: Path) -> None:
    policy = write(tmp_path / "policy.json", '{"rules": ' + "[" * 100_000 + "]" * 100_000 + "}")
    plan = write(tmp_path / "plan.yaml", "lam: 1\nname: p\nsteps:\n  - {id: a, wait: 1}\n")
    outcome = run_bounded(["validate", "--policy", str(policy), str(plan)])
    refused(outcome, 2, policy, "nested more than 64 deep")


# ----------------------------------------------------------------------------------- specs

SPEC_HEAD = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"


def _spec_laughs(levels: int = 10) -> str:
    return SPEC_HEAD + "components:\n  examples:\n" + laughs("    ", levels)


def checked(outcome: Outcome, spec: Path, *fragments: str) -> None:
    """`lam spec check` lists a spec's problems on stdout, one line each: here exactly one."""
    assert outcome.code == 1, outcome.err
    assert "Traceback" not in outcome.err + outcome.out
    problems = [line for line in outcome.out.splitlines() if line.startswith(f"{spec}: ")]
    assert len(problems) == 1, outcome.out[-2000:]
    for fragment in fragments:
        assert fragment in problems[0], problems[0]
    assert outcome.cpu_s < CPU_SECONDS and outcome.peak_mb < PEAK_MB, outcome


def test_billion_laughs_in_a_spec(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", _spec_laughs())
    refused(run_bounded(["spec", "ops", str(spec)]), 1, spec, "more than 1,000,000 keys and values")
    checked(run_bounded(["spec", "check", str(spec)]), spec, "line 12, column 14", "1,000,000")


def test_billion_laughs_in_a_spec_a_plan_names(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", _spec_laughs())
    plan = write(
        tmp_path / "plan.yaml",
        "lam: 1\nname: p\napis:\n  x: {spec: spec.yaml}\nsteps:\n  - {id: a, call: x.op}\n",
    )
    line = refused(run_bounded(["validate", str(plan)]), 1, plan, "apis.x.spec: ")
    assert f"{spec}: line " in line and "more than 1,000,000" in line


def test_billion_laughs_behind_a_relative_ref(tmp_path: Path) -> None:
    write(tmp_path / "common.yaml", "Pet: {type: object}\nx-laughs:\n" + laughs("  ", 10))
    spec = write(
        tmp_path / "spec.yaml",
        SPEC_HEAD + "components:\n  schemas:\n    Pet: {$ref: 'common.yaml#/Pet'}\n",
    )
    line = refused(run_bounded(["spec", "ops", str(spec)]), 1, spec, "common.yaml", "1,000,000")
    assert "#/components/schemas/Pet/$ref" in line


def test_json_spec_of_a_hundred_thousand_nested_objects(tmp_path: Path) -> None:
    nested = '{"a": ' * 100_000 + "1" + "}" * 100_000
    text = '{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}, "x": '
    spec = write(tmp_path / "spec.json", text + nested + "}")
    refused(run_bounded(["spec", "ops", str(spec)]), 1, spec, "nested more than 64 deep")
    checked(run_bounded(["spec", "check", str(spec)]), spec, "line 1, column 458", "nested")


def test_a_long_ref_chain_ends_fast(tmp_path: Path) -> None:
    """20,000 schemas each a $ref to the next: once O(n^2) lookups, now each ref once."""
    n = 20_000
    schemas = "".join(f"    s{i}: {{$ref: '#/components/schemas/s{i + 1}'}}\n" for i in range(n))
    spec = write(
        tmp_path / "spec.yaml",
        SPEC_HEAD + "components:\n  schemas:\n" + schemas + f"    s{n}: {{type: object}}\n",
    )
    refused(run_bounded(["spec", "ops", str(spec)]), 1, spec, "leads through more than 64")


def test_a_ref_chain_within_the_limit_is_fine(tmp_path: Path) -> None:
    schemas = "".join(f"    s{i}: {{$ref: '#/components/schemas/s{i + 1}'}}\n" for i in range(60))
    spec = write(
        tmp_path / "spec.yaml",
        SPEC_HEAD + "components:\n  schemas:\n" + schemas + "    s60: {type: object}\n",
    )
    assert_bounded(run_bounded(["spec", "ops", str(spec)]), codes=(0,))


def _fan_spec(fan: int, levels: int) -> str:
    """``s0`` is allOf ``fan`` refs to ``s1``, which is allOf ``fan`` refs to ``s2``..."""
    schemas = "".join(
        f"    s{i}: {{allOf: ["
        + ", ".join([f"{{$ref: '#/components/schemas/s{i + 1}'}}"] * fan)
        + "]}\n"
        for i in range(levels)
    )
    return (
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /p:\n    post:\n"
        "      operationId: op0\n      requestBody: {content: {application/json: {schema: "
        "{$ref: '#/components/schemas/s0'}}}}\n      responses: {'200': {description: ok}}\n"
        "components:\n  schemas:\n" + schemas + f"    s{levels}: {{type: object}}\n"
    )


def test_a_ref_fan_is_refused_before_any_validator_meets_it(tmp_path: Path) -> None:
    """3 kB of schemas, each allOf nine refs to the next: 9**8 schemas for one body. It once
    hung `lam spec check` and `lam validate` past 60 s; now the load refuses it."""
    spec = write(tmp_path / "spec.yaml", _fan_spec(9, 8))
    assert len(spec.read_text()) < 3_000
    place = "#/components/schemas/s"  # the first schema found over the limit
    refused(run_bounded(["spec", "ops", str(spec)]), 1, spec, place, "more than 10,000 schemas")
    checked(run_bounded(["spec", "check", str(spec)]), spec, "more than 10,000 schemas")
    plan = write(
        tmp_path / "plan.yaml",
        "lam: 1\nname: p\napis:\n  x: {spec: spec.yaml}\nsteps:\n"
        "  - {id: a, call: x.op0, body: {a: 1}}\n",
    )
    line = refused(run_bounded(["validate", str(plan)]), 1, plan, "apis.x.spec")
    assert "more than 10,000 schemas" in line


def test_a_modest_fan_is_fine(tmp_path: Path) -> None:
    """Four refs over three levels (85 schemas; GitHub's REST spec reaches 118) loads."""
    spec = write(tmp_path / "spec.yaml", _fan_spec(4, 3))
    assert_bounded(run_bounded(["spec", "ops", str(spec)]), codes=(0,))


def _spec_of_many_files(tmp_path: Path, files: int) -> Path:
    for i in range(files):
        write(tmp_path / f"part{i}.yaml", f"S{i}: {{type: object, description: {'x' * 5000}}}\n")
    refs = "".join(f"    S{i}: {{$ref: 'part{i}.yaml#/S{i}'}}\n" for i in range(files))
    return write(tmp_path / "spec.yaml", SPEC_HEAD + "components:\n  schemas:\n" + refs)


def test_the_files_a_spec_refers_to_count_against_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file under the size limit, together over it: refused (here with a 20 kB limit)."""
    monkeypatch.setattr("lam.spec.refs.MAX_SPEC_BYTES", 20_000)
    spec = _spec_of_many_files(tmp_path, 5)
    refused(run_bounded(["spec", "ops", str(spec)]), 1, spec, "and the files it refers to")


def test_a_spec_may_reach_only_so_many_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lam.spec.refs.MAX_BUNDLE_FILES", 3)
    spec = _spec_of_many_files(tmp_path, 5)
    refused(run_bounded(["spec", "ops", str(spec)]), 1, spec, "more than 3 files in one spec")


class _SpecServer(BaseHTTPRequestHandler):
    body = b""
    endless = False

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/yaml")
        if self.endless:
            self.end_headers()
            chunk = b"# " + b"x" * 65_534 + b"\n"
            try:
                for _ in range(10_000):  # 650 MB if nobody stops reading
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def spec_server() -> Iterator[tuple[str, type[_SpecServer]]]:
    handler = type("Handler", (_SpecServer,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/spec.yaml", handler
    finally:
        server.shutdown()
        server.server_close()


def test_billion_laughs_in_a_spec_by_url(spec_server: tuple[str, type[_SpecServer]]) -> None:
    url, handler = spec_server
    handler.body = _spec_laughs().encode()
    refused(run_bounded(["spec", "ops", url]), 1, url, "more than 1,000,000 keys and values")


def test_an_endless_spec_by_url_is_cut_off(
    spec_server: tuple[str, type[_SpecServer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Content-Length and no end: lam stops reading at the size limit (here 2 MB)."""
    monkeypatch.setattr("lam.spec.refs.MAX_SPEC_BYTES", 2_000_000)
    url, handler = spec_server
    handler.endless = True
    refused(run_bounded(["spec", "ops", url]), 1, url, "more than the 2 MB allowed")


# ----------------------------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than 64 deep"),
        ("9" * 5000, "a number of 5,000 characters"),
        ("NaN", "not a finite number"),
        ("1e999", "not a finite number"),
        ('"' + "x" * 1_000_001 + '"', "1,000,003 characters"),
    ],
)
def test_hostile_input_values(tmp_path: Path, given: str, fragment: str) -> None:
    plan = load_plan(
        write(
            tmp_path / "plan.yaml",
            "lam: 1\nname: i\ninputs:\n  n: {type: array}\nsteps:\n  - {id: a, wait: 1}\n",
        )
    )
    with pytest.raises(UsageError) as caught:
        resolve_inputs(plan, {"n": given})
    line = caught.value.one_line()
    assert line.startswith("--input n: "), line
    assert fragment in line, line
    assert caught.value.exit_code == 2


def test_a_value_off_its_schema_quotes_only_its_start(tmp_path: Path) -> None:
    plan = load_plan(
        write(
            tmp_path / "plan.yaml",
            "lam: 1\nname: i\ninputs:\n  n: {type: string, maxLength: 3}\nsteps:\n"
            "  - {id: a, wait: 1}\n",
        )
    )
    with pytest.raises(UsageError) as caught:
        resolve_inputs(plan, {"n": "y" * 900_000})
    assert len(caught.value.one_line()) < 400


def test_dry_run_with_a_hostile_input_is_a_usage_error(tmp_path: Path) -> None:
    plan = write(
        tmp_path / "plan.yaml",
        "lam: 1\nname: i\ninputs:\n  n: {type: integer}\nsteps:\n  - {id: a, wait: 1}\n",
    )
    outcome = run_bounded(["dry-run", str(plan), "--input", "n=" + "7" * 5000])
    assert_bounded(outcome, codes=(2,))
    assert "--input n: a number of 5,000 characters" in outcome.error_lines[0]


# ------------------------------------------------------------------------ response bodies


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "line 1, column 101: nested more than 100 deep"),
        (b'{"id": ' + b"9" * 5000 + b"}", "a number of 5,000 characters"),
    ],
)
def test_a_hostile_response_body_is_kept_as_text(content: bytes, fragment: str) -> None:
    """A server's JSON once crashed a run (RecursionError); now the step sees text and why."""
    response = httpx.Response(200, headers={"content-type": "application/json"}, content=content)
    body, problem = decode_body(response)
    assert body == content.decode()
    assert problem is not None and fragment in problem, problem


def test_an_ordinary_response_body_is_json() -> None:
    response = httpx.Response(
        200, headers={"content-type": "application/json"}, content=b'{"a": [1]}'
    )
    assert decode_body(response) == ({"a": [1]}, None)


# ------------------------------------------------------------------ one real process, capped


def test_the_laughs_plan_in_a_real_process_under_a_memory_cap(tmp_path: Path) -> None:
    """The reported attack end to end: a fresh `lam` under a 1 GB address-space cap."""
    plan = write(tmp_path / "laughs.yaml", PLAN_HEAD + "    body:\n" + laughs(" " * 6))
    code = (
        "import resource, sys; "
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
        "from lam.cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, "validate", str(plan)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("lam: ")]
    assert len(lines) == 1 and "more than 100,000 keys and values" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_limits_are_what_the_docs_say() -> None:
    doc = (ROOT / "docs" / "limits.md").read_text(encoding="utf-8")
    for value in (
        f"{DOCUMENT_LIMITS.max_depth}",
        f"{DOCUMENT_LIMITS.max_nodes:,}",
        f"{SPEC_LIMITS.max_nodes:,}",
        f"{DOCUMENT_LIMITS.max_string:,}",
        f"{DOCUMENT_LIMITS.max_number}",
        f"{MAX_SCHEMA_BRANCHES:,}",
        f"{MAX_RESOLVED_CHARS:,}",
        f"{MAX_BUNDLE_FILES:,}",
        f"{MAX_REF_CHAIN}",
    ):
        assert value in doc, value
