"""Fuzzing the doors documents come in by: hostile plans, policies and specs, generated.

Hypothesis writes YAML and JSON text the way an attacker would: anchors and aliases fanning out
over each other, nesting from 0 to 3,000 deep (flow and block), numbers of hundreds of digits,
``.nan`` and ``1e999``, any Unicode (escaped, so control characters and NULs get in), keys close
to the real ones, and truncated or spliced copies of the real files in examples/, specs/ and
tests/data. Each document goes through the real entry points, in-process: ``lam validate``,
``lam validate --policy``, ``lam spec ops``, ``lam spec check`` and the policy loader. Every
one must end with a documented exit code, at most one ``lam:`` error line and no traceback or
internal error, within 2 s of CPU time and 200 MB of memory (tests/bounded.py).

The runs are derandomized, so CI sees the same examples every time; ``benchmarks/fuzz_inputs.py``
runs the same strategies with many more examples and a random seed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
import yaml
from bounded import CPU_SECONDS, PEAK_MB, Outcome, assert_bounded, run_bounded
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lam.errors import PolicyError
from lam.limits import DOCUMENT_LIMITS, OverLimit, load_json, load_yaml
from lam.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]

# Hostile documents are big by design; Hypothesis's note that their repr is long is noise.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")

EXAMPLES = int(os.environ.get("LAM_FUZZ_EXAMPLES", "25"))
"""Examples per fuzz test; the benchmark raises it."""

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("LAM_FUZZ_RANDOM") is None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)

# Keys lam reads, and a few one edit away from them.
KEYS = [
    "lam", "name", "steps", "id", "call", "goto", "click", "fill", "wait", "body", "expect",
    "status", "params", "outputs", "inputs", "apis", "apps", "spec", "base_url", "url", "auth",
    "timeout", "defaults", "rules", "match", "verdict", "hosts", "read", "write", "destructive",
    "api", "operation", "method", "path", "openapi", "info", "title", "version", "paths",
    "components", "schemas", "responses", "operationId", "requestBody", "content", "schema",
    "type", "properties", "items", "allOf", "$ref", "stpes", "bdoy", "verdcit", "<<",
]  # fmt: skip

WORDS = [
    "allow", "deny", "approve", "read", "write", "destructive", "object", "string", "integer",
    "array", "get", "delete", "post", "/pets/{id}", "petstore.addPet", "$inputs.name",
    "$steps.add.outputs.id", "$response.body#/id", "{$inputs.name}", "http://127.0.0.1:9/",
    "'#/components/schemas/s0'", "true", "null", "~", "-1", "0", "1.5", "0x1F", "0o17", "1_000",
    "2020-01-01", ".inf", "-.inf", ".nan", ".NaN", "1.0e+999", "NaN", "Infinity", '"\\0"',
    '"\\u0000"', '"\\ud800"', '"\\e[2J"', "|", ">", "&", "*", "!!python/object:os.system", "!!binary",
]  # fmt: skip

_scalar = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(KEYS),
    st.integers(min_value=1, max_value=400).map(lambda n: "9" * n),  # long numbers
    st.integers(min_value=1, max_value=400).map(lambda n: "1." + "5" * n + "e9"),
    st.text(max_size=24).map(json.dumps),  # any Unicode, escaped: control characters, NULs
    st.text(
        alphabet=st.characters(exclude_categories=["Cs"]), max_size=8
    ),  # raw: breaks the syntax as often as not
)
_key = st.one_of(st.sampled_from(KEYS), _scalar)


def _deep(depth: int, kind: str) -> str:
    if kind == "flow-list":
        return "[" * depth + "]" * depth
    if kind == "flow-map":
        return "{a: " * depth + "1" + "}" * depth
    return "[" * depth  # never closed


@cache
def _nodes(anchors: int) -> st.SearchStrategy[str]:
    """YAML flow text: scalars, aliases to the first ``anchors`` anchors, lists, mappings."""
    leaves = [_scalar]
    if anchors:
        leaves.append(st.integers(0, anchors - 1).map(lambda i: f"*a{i}"))
    deep = st.builds(
        _deep,
        st.integers(min_value=0, max_value=3000),
        st.sampled_from(["flow-list", "flow-map", "unclosed"]),
    )
    return st.recursive(
        st.one_of(*leaves, deep),
        lambda kids: st.one_of(
            st.lists(kids, max_size=8).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.lists(st.tuples(_key, kids), max_size=6).map(
                lambda kvs: "{" + ", ".join(f"{k}: {v}" for k, v in kvs) + "}"
            ),
        ),
        max_leaves=24,
    )


@st.composite
def _anchored(draw: st.DrawFn) -> tuple[list[str], st.SearchStrategy[str]]:
    """Anchor definitions, each a list fanning out over the ones before (alias bombs among
    them), and the strategy for values that may alias any of them."""
    count = draw(st.integers(min_value=0, max_value=12))
    defs = []
    for i in range(count):
        fan = draw(st.integers(min_value=1, max_value=12))
        items = draw(st.lists(_nodes(i), min_size=1, max_size=fan))
        if i and draw(st.booleans()):
            items += [f"*a{i - 1}"] * fan  # the classic: each level a fan of the last
        defs.append(f"&a{i} [{', '.join(items)}]")
    return defs, _nodes(count)


def _block_deep(depth: int, indent: int) -> str:
    return (
        "".join(" " * (indent + 2 * i) + "k:\n" for i in range(depth))
        + " " * (indent + 2 * depth)
        + "1\n"
    )


@st.composite
def hostile_plans(draw: st.DrawFn) -> str:
    """A plan whose skeleton lam accepts, with hostile values where values go."""
    defs, values = draw(_anchored())
    body = ", ".join(f"d{i}: {d}" for i, d in enumerate(defs))
    body = "{" + ", ".join(x for x in (body, f"name: {draw(values)}") if x) + "}"
    steps = [
        "  - id: add\n    call: petstore.addPet\n"
        f"    body: {body}\n    expect: {{status: 200, body: {draw(values)}}}\n"
    ]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        pairs = draw(st.lists(st.tuples(_key, values), max_size=4))
        steps.append("  - {" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}\n")
    if draw(st.booleans()):
        steps.append("  - id: deep\n    wait:\n" + _block_deep(draw(st.integers(0, 120)), 6))
    return (
        f"lam: {draw(st.sampled_from(['1', '2', '9' * 300, '.nan', draw(values)]))}\n"
        f"name: {draw(values)}\n"
        "apis:\n  petstore: {spec: PETSTORE, base_url: 'http://127.0.0.1:9/api/v3'}\n"
        f"inputs: {{n: {{type: integer, default: {draw(values)}}}}}\n"
        "steps:\n" + "".join(steps)
    )


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(),  # NaN and infinities included: json.dumps writes them
        st.text(max_size=20),
        st.sampled_from(KEYS),
    ),
    lambda kids: st.one_of(
        st.lists(kids, max_size=6), st.dictionaries(st.sampled_from(KEYS) | st.text(), kids)
    ),
    max_leaves=30,
)


@st.composite
def hostile_json_plans(draw: st.DrawFn) -> str:
    depth = draw(st.integers(min_value=0, max_value=100_000))
    step = {"id": "a", "call": "petstore.addPet", "body": draw(json_values)}
    step.update(draw(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3)))
    plan = {
        "lam": 1,
        "name": draw(json_values),
        "apis": {"petstore": {"spec": "PETSTORE"}},
        "steps": [step, "DEEP"],
    }
    return json.dumps(plan).replace('"DEEP"', "[" * depth + "]" * depth)


@st.composite
def hostile_policies(draw: st.DrawFn) -> str:
    defs, values = draw(_anchored())
    verdict = draw(st.sampled_from(["allow", "deny", "approve"]) | values)
    rules = [
        f"  - match: {{{draw(_key)}: {draw(values)}}}\n    verdict: {verdict}\n"
        for _ in range(draw(st.integers(min_value=0, max_value=3)))
    ]
    extra = "".join(f"x-d{i}: {d}\n" for i, d in enumerate(defs))
    return (
        extra
        + f"defaults: {{read: {draw(values)}, write: allow, destructive: approve}}\n"
        + (f"hosts: {draw(values)}\n" if draw(st.booleans()) else "")
        + ("rules:\n" + "".join(rules) if rules else "")
    )


@st.composite
def hostile_specs(draw: st.DrawFn) -> str:
    """An OpenAPI skeleton with schemas that $ref each other in chains, fans and cycles."""
    defs, values = draw(_anchored())
    count = draw(st.integers(min_value=1, max_value=30))
    schemas = []
    for i in range(count):
        refs = draw(st.lists(st.integers(0, count), max_size=4))
        kind = draw(st.sampled_from(["ref", "allOf", "object", "value"]))
        if kind == "ref" and refs:
            schema = f"{{$ref: '#/components/schemas/s{refs[0]}'}}"
        elif kind == "allOf":  # fans of refs over refs: a schema-level alias bomb
            fan = ", ".join(f"{{$ref: '#/components/schemas/s{r}'}}" for r in refs)
            schema = "{allOf: [" + fan + "]}"
        elif kind == "object":
            schema = f"{{type: object, properties: {{a: {draw(values)}}}}}"
        else:
            schema = draw(values)
        schemas.append(f"    s{i}: {schema}\n")
    return (
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
        + "".join(f"x-d{i}: {d}\n" for i, d in enumerate(defs))
        + "paths:\n  /p:\n    post:\n      operationId: op0\n"
        "      requestBody: {content: {application/json: {schema: "
        "{$ref: '#/components/schemas/s0'}}}}\n"
        f"      responses: {{'200': {{description: {draw(values)}}}}}\n"
        "components:\n  schemas:\n" + "".join(schemas)
    )


def _real_files() -> list[Path]:
    found = [
        *sorted((ROOT / "examples").glob("*.yaml")),
        *sorted((ROOT / "specs").glob("*.yaml")),
        *sorted((ROOT / "tests" / "data" / "plans").glob("*.*")),
        *sorted((ROOT / "tests" / "data" / "specs").glob("*.*")),
    ]
    return [path for path in found if path.is_file()]


@st.composite
def mangled_real_files(draw: st.DrawFn) -> tuple[str, str]:
    """A real plan or spec, cut short, spliced with hostile text, or with a byte replaced."""
    path = draw(st.sampled_from(_real_files()))
    text = path.read_text(encoding="utf-8")
    at = draw(st.integers(min_value=0, max_value=len(text)))
    how = draw(st.sampled_from(["truncate", "splice", "replace", "repeat"]))
    if how == "truncate":
        text = text[:at]
    elif how == "splice":
        text = text[:at] + draw(_nodes(0)) + text[at:]
    elif how == "replace":
        text = text[:at] + draw(st.characters()) + text[at + 1 :]
    else:
        text = text[:at] + text[at:] * draw(st.integers(min_value=1, max_value=200))
    return path.suffix, text


# ------------------------------------------------------------------------------------ tests


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """Write a document where a real example would sit (its relative spec paths resolve)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAM_DEBUG", raising=False)
    shutil.copytree(ROOT / "specs", tmp_path / "specs", dirs_exist_ok=True)
    (tmp_path / "examples").mkdir()
    petstore = str(tmp_path / "specs" / "petstore.yaml")

    def write(name: str, text: str) -> Path:
        path = tmp_path / "examples" / name
        path.write_text(text.replace("PETSTORE", petstore), encoding="utf-8", errors="replace")
        return path

    return write


TINY_PLAN = "lam: 1\nname: tiny\nsteps:\n  - {id: a, wait: 1}\n"


@FUZZ
@given(text=hostile_plans())
def test_hostile_yaml_plans(place: Callable[[str, str], Path], text: str) -> None:
    assert_bounded(run_bounded(["validate", str(place("plan.yaml", text))]), one_line=False)


@FUZZ
@given(text=hostile_json_plans())
def test_hostile_json_plans(place: Callable[[str, str], Path], text: str) -> None:
    assert_bounded(run_bounded(["validate", str(place("plan.json", text))]), one_line=False)


@FUZZ
@given(text=hostile_policies())
def test_hostile_policies(place: Callable[[str, str], Path], text: str) -> None:
    policy = place("policy.yaml", text)
    outcome = run_bounded(["validate", "--policy", str(policy), str(place("plan.yaml", TINY_PLAN))])
    assert_bounded(outcome, codes=(0, 2, 3), one_line=False)
    with contextlib.suppress(PolicyError):  # the one error the loader may raise
        load_policy(policy)


def _assert_spec_check(outcome: Outcome) -> None:
    """`lam spec check` lists problems on stdout; the rest is as for every command."""
    assert outcome.code in (0, 1), outcome.err[-2000:]
    assert "Traceback" not in outcome.err + outcome.out
    assert "internal error" not in outcome.err
    assert all(len(line) < 2_000 for line in outcome.out.splitlines())
    assert outcome.cpu_s < CPU_SECONDS, f"{outcome.cpu_s:.2f} s CPU"
    assert outcome.peak_mb < PEAK_MB, f"{outcome.peak_mb:.0f} MB"


@FUZZ
@given(text=hostile_specs())
def test_hostile_specs(place: Callable[[str, str], Path], text: str) -> None:
    spec = place("spec.yaml", text)
    assert_bounded(run_bounded(["spec", "ops", str(spec)]), one_line=False)
    _assert_spec_check(run_bounded(["spec", "check", str(spec)]))
    plan = place(
        "plan.yaml",
        f"lam: 1\nname: p\napis:\n  x: {{spec: {spec}}}\nsteps:\n"
        "  - {id: a, call: x.op0, body: {a: [1, {b: 2}], c: xyz}}\n",
    )
    assert_bounded(run_bounded(["validate", str(plan)]), one_line=False)


@FUZZ
@given(mangled=mangled_real_files())
def test_mangled_real_files(place: Callable[[str, str], Path], mangled: tuple[str, str]) -> None:
    suffix, text = mangled
    document = place(f"doc{suffix}", text)
    assert_bounded(run_bounded(["validate", str(document)]), one_line=False)
    assert_bounded(run_bounded(["spec", "ops", str(document)]), one_line=False)


# ------------------------------------------------------------------- the readers themselves

READER = settings(FUZZ, max_examples=EXAMPLES * 3)


@READER
@given(value=json_values)
def test_the_json_reader_returns_the_value_or_refuses(value: object) -> None:
    text = json.dumps(value)
    try:
        parsed = load_json(text, DOCUMENT_LIMITS)
    except OverLimit as exc:
        assert exc.message and exc.location is not None, text[:200]
        return
    assert json.dumps(parsed) == text  # nothing lost, nothing added


@READER
@given(text=st.one_of(_nodes(0), st.text(max_size=200), hostile_plans()))
def test_the_yaml_reader_returns_a_value_or_refuses(text: str) -> None:
    # The two ways a YAML text is turned down; anything else is a bug.
    with contextlib.suppress(OverLimit, yaml.YAMLError):
        load_yaml(text, DOCUMENT_LIMITS)
