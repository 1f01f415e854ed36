"""Schema errors carry the validator's keyword; the exemptions match on it, not on its text.

The sandbox let a form-encoded field off its type check when the message said "is not of type",
but lam's renderer writes "expected integer, got ..." so the exemption never fired: a valid
form request was refused in a dry run.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lam.sandbox.simulator import Simulator
from lam.sandbox.transport import SimulatorTransport
from lam.spec import Spec, load_spec

SPEC = """\
openapi: 3.0.3
info: {title: pets, version: '1'}
servers: [{url: 'http://sim/api'}]
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {$ref: '#/components/schemas/NewPet'}
          application/json:
            schema: {$ref: '#/components/schemas/NewPet'}
      responses:
        '201':
          description: made
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
components:
  schemas:
    NewPet:
      type: object
      required: [id, name, age]
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string, minLength: 2}
        age: {type: integer}
    Pet:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
        age: {type: integer}
"""


@pytest.fixture()
def spec(tmp_path: Path) -> Spec:
    path = tmp_path / "pets.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return load_spec(path)


def _post(spec: Spec, **kwargs: object) -> httpx.Response:
    with httpx.Client(
        transport=SimulatorTransport(Simulator(spec)), base_url="http://sim/api"
    ) as client:
        return client.post("/pets", **kwargs)  # type: ignore[arg-type]


def test_a_form_field_is_a_string_on_the_wire_and_passes_its_type_check(spec: Spec) -> None:
    answer = _post(spec, data={"name": "Rex", "age": "3"})
    assert answer.status_code == 201, answer.text


def test_a_form_field_still_meets_the_rest_of_its_schema(spec: Spec) -> None:
    answer = _post(spec, data={"name": "R", "age": "3"})  # minLength 2
    assert answer.status_code == 400 and "name" in answer.text


def test_a_json_field_of_the_wrong_type_is_still_refused(spec: Spec) -> None:
    answer = _post(spec, json={"name": "Rex", "age": "3"})
    assert answer.status_code == 400 and "expected integer" in answer.text


def test_a_required_read_only_field_may_be_left_out_of_a_request(spec: Spec) -> None:
    assert _post(spec, json={"name": "Rex", "age": 3}).status_code == 201
    answer = _post(spec, json={"id": 1, "age": 3})
    assert answer.status_code == 400 and "name" in answer.text and "/id" not in answer.text


def test_schema_problems_name_their_keyword(spec: Spec) -> None:
    schema = spec.resolve({"$ref": "#/components/schemas/NewPet"})
    problems = spec.validator(schema).problems({"name": "R", "age": "x", "extra/key": 1})
    assert sorted((p.pointer, p.keyword) for p in problems) == [
        ("/age", "type"),
        ("/id", "required"),
        ("/name", "minLength"),
    ]
    assert [(p.pointer, p.message) for p in problems] == spec.validator(schema).errors(
        {"name": "R", "age": "x", "extra/key": 1}
    )
