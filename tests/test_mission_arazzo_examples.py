"""Every workflow of the Arazzo specification's ``examples/1.0.0`` as a mission.

The copies (with their licence) are in tests/data/arazzo/. Each document is checked as a
mission, every workflow a task; each workflow is then dry-run as a mission of its own
(``lam mission FILE --dry-run --task ID``: the task and what it depends on, in the sandbox):
it runs, or the document's own error is reported, one line each, naming the file and the
place, before anything runs.

The documents' own errors (as tests/test_arazzo_examples.py found them for ``lam import``):
apply-coupon names parameters ``pet_tags``/``pet_id`` where its spec says ``tags``/``petId``;
oauth's refresh leaves out the ``client_id`` its spec requires; FAPI-PAR calls ``PAR`` where
its spec says ``Par``; LoginAndRetrievePets points an ``operationPath`` at a path item;
ExtendedParameters names ``./animals.yaml``, which the examples folder lacks; bnpl's workflow
output reads ``$steps.retrieveFinalizedPaymentPlan.finalizedPaymentPlan`` (a step's outputs are
``$steps.ID.outputs.NAME``), which the mission loader meets first.

No network here: bnpl-arazzo.yaml names its OpenAPI file by a raw.githubusercontent.com URL,
so the test points it at the copy beside it (the only change made to any document).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from lam.cli.main import main
from lam.documents import load_document
from lam.mission.check import check_mission
from lam.mission.load import load_mission
from lam.mission.model import MissionError, MissionOptions

EXAMPLES = Path(__file__).parent / "data" / "arazzo"
BNPL_URL = (
    "https://raw.githubusercontent.com/OAI/Arazzo-Specification/main/examples/1.0.0/"
    "bnpl-openapi.yaml"
)
BNPL_OUTPUT = "'$steps.retrieveFinalizedPaymentPlan.finalizedPaymentPlan'"

# The oauth spec's token and authorize operations declare 200 responses without a body, so the
# sandbox (which answers as the spec says) has no token or code to hand on: the workflows run,
# and what they read from those bodies (outputs, criteria) is said to be unchecked, known after
# a live run, never passed as checked.
NO_TOKEN_BODY = "outputs.access_token: $response.body#/access_token is not in the sandbox's"
NO_CODE_BODY = "browser-authorize: outputs.code: $response.body#/code is not in the sandbox's"

# (document, workflowId, None: it runs; "unchecked": it runs, the words of its first unchecked
#  note; else the place its first error line names and words: refused before anything runs)
WORKFLOWS: list[tuple[str, str, tuple[str, str] | None]] = [
    ("pet-coupons.arazzo.yaml", "apply-coupon",
     ("workflows[0] (as a plan: steps[0].params.pet_tags)",
      "unknown parameter 'pet_tags' (did you mean 'tags'?)")),
    ("pet-coupons.arazzo.yaml", "buy-available-pet", None),
    ("pet-coupons.arazzo.yaml", "place-order", None),
    ("oauth.arazzo.yaml", "refresh-token-flow",
     ("workflows[0] (as a plan: steps[2].body.client_id)", "required property is missing")),
    ("oauth.arazzo.yaml", "client-credentials-flow", ("unchecked", NO_TOKEN_BODY)),
    ("oauth.arazzo.yaml", "authorization-code-flow", ("unchecked", NO_CODE_BODY)),
    ("FAPI-PAR.arazzo.yaml", "OIDC-PAR-AuthzCode",
     ("workflows[0] (as a plan: steps[0].call)",
      "no operation 'PAR' in Authentication API (did you mean 'Par'?)")),
    ("bnpl-arazzo.yaml", "ApplyForLoanAtCheckout",
     ("workflows[0].outputs.finalizedPaymentPlan", f"not a runtime expression: {BNPL_OUTPUT}")),
    ("ExtendedParametersExample.arazzo.yaml", "animal-workflow",
     ("workflows[0] (as a plan: apis.animals.spec)", "animals.yaml: file not found")),
    ("LoginAndRetrievePets.arazzo.yaml", "loginUserRetrievePet",
     ("workflows[0].steps[1].operationPath",
      "points at the path item '/pet/findByStatus', not at an operation")),
]  # fmt: skip


def test_every_workflow_of_every_example_is_listed() -> None:
    found = {
        (path.name, flow["workflowId"])
        for path in EXAMPLES.glob("*.yaml")
        if "arazzo" in path.name.lower()
        for flow in load_document(path)["workflows"]
    }
    assert found == {(d, w) for d, w, _ in WORKFLOWS} and len(found) == 10
    assert (EXAMPLES / "LICENSE").is_file()


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the examples folder, bnpl pointed at its local spec; run from an empty folder."""
    copy = tmp_path / "arazzo"
    shutil.copytree(EXAMPLES, copy)
    bnpl = copy / "bnpl-arazzo.yaml"
    bnpl.write_text(
        bnpl.read_text(encoding="utf-8").replace(BNPL_URL, "./bnpl-openapi.yaml"),
        encoding="utf-8",
    )
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("LAM_DEBUG", raising=False)
    return copy


def required_inputs(path: Path) -> dict[str, str]:
    """A value for every workflow input without a default, as an operator would pass it."""
    document: Any = load_document(path)
    components = document.get("components", {}).get("inputs", {})
    values: dict[str, str] = {}
    for flow in document.get("workflows", []):
        schema = flow.get("inputs") or {}
        if "$ref" in schema:
            schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        for name, prop in (schema.get("properties") or {}).items():
            if "default" not in prop:
                kind = prop.get("type", "string")
                values[name] = {"integer": "1", "number": "1", "boolean": "true",
                                "object": "{}", "array": "[]"}.get(kind, "x")  # fmt: skip
    return values


def without_base_url(path: Path) -> list[str]:
    """The OpenAPI sources whose spec names no absolute server URL (pet-coupons' has none)."""
    document: Any = load_document(path)
    names = []
    for source in document.get("sourceDescriptions", []):
        url = str(source.get("url", ""))
        if source.get("type", "openapi") != "openapi" or "://" in url:
            continue
        if not (path.parent / url).is_file():  # ExtendedParameters' animals.yaml
            continue
        spec: Any = load_document(path.parent / url)
        servers = [str(s.get("url", "")) for s in spec.get("servers") or []]
        if not any("://" in server for server in servers):
            names.append(str(source["name"]))
    return names


@pytest.mark.parametrize("document", sorted({d for d, _, _ in WORKFLOWS}))
def test_each_document_as_a_mission_reports_exactly_its_own_errors(
    examples: Path, document: str
) -> None:
    path = examples / document
    expected = {w: e for d, w, e in WORKFLOWS if d == document and e and e[0] != "unchecked"}
    options = MissionOptions(inputs=required_inputs(path))
    try:
        report = check_mission(load_mission(path), options=options, folder=path.parent / "plans")
    except MissionError as exc:  # the document itself, before any plan is made
        ((place, words),) = expected.values()
        assert (exc.file, exc.location) == (str(path), place) and words in exc.message
        return
    assert {e.task for e in report.errors} == set(expected)
    for error in report.errors:
        assert "\n" not in error.one_line() and error.file == str(path)
    for workflow, (place, words) in expected.items():
        first = next(e for e in report.errors if e.task == workflow)
        assert (first.location, words in first.message) == (place, True), first.one_line()


@pytest.mark.parametrize(("document", "workflow", "expected"), WORKFLOWS)
def test_each_workflow_dry_runs_as_a_mission_or_says_its_own_error(
    examples: Path,
    document: str,
    workflow: str,
    expected: tuple[str, str] | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = examples / document
    argv = ["mission", str(path), "--dry-run", "--task", workflow, "--json"]
    for key, value in required_inputs(path).items():
        argv += ["--input", f"{key}={value}"]
    for name in without_base_url(path):  # the sandbox answers; lam still wants to know where
        argv += ["--api", f"{name}=http://127.0.0.1:9"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if expected is None or expected[0] == "unchecked":
        result = json.loads(out)
        (task,) = result["tasks"]
        assert task["task"] == workflow and task["run"], result
        assert code == 0 and task["status"] == "ok", task
        if expected is None:
            assert task["unchecked"] == [], task
        else:
            assert expected[1] in task["unchecked"][0], task["unchecked"]
        return
    place, words = expected
    lines = [line for line in err.splitlines() if line.startswith("lam: ")]
    assert code == 1 and lines, err
    assert lines[0].startswith(f"lam: {path}: {place}: ") and words in lines[0], lines[0]
    assert all(line.startswith(f"lam: {path}: ") for line in lines)  # one line per error
    assert not (Path.cwd() / ".lam").exists()  # nothing ran: no mission or run record
