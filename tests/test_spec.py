"""lam.spec: loading OpenAPI 3.0/3.1, refs, bad input, the operation index, schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from real_specs import real_spec

import lam.spec.loader
from lam.errors import SpecError
from lam.spec import Operation, Spec, load_spec

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "specs"
PETSTORE = ROOT / "specs" / "petstore.yaml"


@pytest.fixture(autouse=True)
def _fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(lam.spec.loader, "_LOADED", {})


def _error(source: Path | str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_spec(source)
    return caught.value


# ------------------------------------------------------------------------ loading


def test_petstore_30_yaml_loads_with_every_operation() -> None:
    spec = load_spec(PETSTORE)
    assert spec.openapi == "3.0.3"
    assert spec.title == "lam petstore"
    assert spec.servers == ("/api/v3",)
    assert set(spec.security_schemes) == {"bearer", "api_key"}
    ids = {op.operation_id for op in spec.operations}
    assert len(spec.operations) == 18
    assert {"addPet", "getPetById", "deletePet", "loginUser", "getInventory"} <= ids
    assert len(spec.content_hash) == 64


def test_operation_fields_merge_path_level_parameters() -> None:
    spec = load_spec(PETSTORE)
    op = spec.operation("deletePet")
    assert op.key == "DELETE /pet/{petId}"
    assert [(p.name, p.location, p.required) for p in op.parameters] == [
        ("petId", "path", True),
        ("api_key", "header", False),
    ]
    assert op.tags == ("pet",)
    assert op.security is None
    assert spec.operation("getPetById").security == ({"api_key": []}, {"bearer": []})
    assert spec.operation("createUser").security == ()


def test_request_body_and_responses_resolve_one_level() -> None:
    op = load_spec(PETSTORE).operation("addPet")
    assert op.request_body is not None and op.request_body["required"] is True
    assert op.request_schema() == ("application/json", {"$ref": "#/components/schemas/Pet"})
    assert op.request_schema("application/json; charset=utf-8") is not None
    assert op.request_schema("text/plain") is None
    assert op.responses["422"]["description"] == "The request does not fit the schema"
    assert op.response_schema(200) == ("application/json", {"$ref": "#/components/schemas/Pet"})
    assert op.response_schema(500) is None


def test_31_json_with_recursive_schema() -> None:
    spec = load_spec(DATA / "tree31.json")
    assert spec.openapi == "3.1.0"
    op = spec.operation("plantTree")
    _, schema = op.request_schema() or ("", {})
    check = spec.validator(schema)
    tree = {"label": "root", "children": [{"label": "a", "children": [{"label": "b"}]}]}
    assert check.is_valid(tree)
    bad = {"label": "root", "children": [{"children": [{"label": 3, "weight": 0}]}]}
    assert sorted(check.errors(bad)) == [
        ("/children/0/children/0/label", "expected string, got 3"),
        ("/children/0/children/0/weight", "0 is less than or equal to the minimum of 0"),
        ("/children/0/label", "required property is missing"),
    ]
    assert check.is_valid({"label": "x", "weight": None})


def test_31_response_schema_falls_back_to_range_then_default() -> None:
    op = load_spec(DATA / "tree31.json").operation("getTree")
    assert op.response_schema(200) == ("application/json", {"$ref": "#/components/schemas/Node"})
    assert op.response_schema("404") == ("application/problem+json", {"type": "object"})


def test_30_json_and_31_yaml(tmp_path: Path) -> None:
    import yaml

    as_json = tmp_path / "petstore.json"
    as_json.write_text(json.dumps(yaml.safe_load(PETSTORE.read_text())))
    assert load_spec(as_json).operation("addPet").key == "POST /pet"
    as_yaml = tmp_path / "trees.yaml"
    as_yaml.write_text(yaml.safe_dump(json.loads((DATA / "tree31.json").read_text())))
    trees = load_spec(as_yaml)
    assert trees.openapi == "3.1.0"
    assert trees.operation("getTree").parameters[0].schema["format"] == "uuid"


def test_relative_file_refs_are_bundled() -> None:
    spec = load_spec(DATA / "split" / "main.yaml")
    assert spec.servers == ("https://shop.example/shop/v1",)
    get = spec.operation("getItem")
    assert get.parameters[0].name == "itemId"
    assert get.parameters[0].schema == {"type": "integer", "format": "int32"}
    add = spec.operation("addItem")  # a path item that is itself a file ref
    _, schema = add.request_schema() or ("", {})
    check = spec.validator(schema)
    assert check.is_valid({"name": "lamp", "price": 3.5})
    assert sorted(check.errors({"price": -1})) == [
        ("/name", "required property is missing"),
        ("/price", "-1 is less than the minimum of 0"),
    ]


def test_relative_source_with_relative_to() -> None:
    spec = load_spec("split/main.yaml", relative_to=DATA)
    assert spec.title == "split shop"


# ------------------------------------------------------------------------ bad input


def test_cycle_that_never_resolves_names_file_and_place() -> None:
    err = _error(DATA / "cycle.yaml")
    assert err.file == str(DATA / "cycle.yaml")
    assert err.code == "bad-ref"
    assert "cycle" in err.message
    assert err.location is not None and err.location.endswith("/$ref")


def test_ref_to_itself_is_an_error() -> None:
    err = _error(DATA / "selfref.yaml")
    assert err.location == "#/components/schemas/Me/$ref"
    assert "cycle" in err.message


def test_ref_to_missing_target() -> None:
    err = _error(DATA / "missing_ref.yaml")
    assert "#/components/schemas/Nope" in err.message
    assert err.location == "#/paths/~1a/get/responses/200/content/application~1json/schema/$ref"


def test_ref_to_missing_file(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"
        "components:\n  schemas:\n    A: {$ref: './gone.yaml#/X'}\n"
    )
    err = _error(spec)
    assert err.file == str(spec)
    assert "gone.yaml" in err.message and "file not found" in err.message
    assert err.location == "#/components/schemas/A/$ref"


def test_missing_file() -> None:
    err = _error(DATA / "nope.yaml")
    assert err.code == "not-found"
    assert err.file == str(DATA / "nope.yaml")


def test_unreadable_directory(tmp_path: Path) -> None:
    err = _error(tmp_path)
    assert err.code == "unreadable"
    assert err.file == str(tmp_path)


def test_invalid_json_names_line(tmp_path: Path) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text('{"openapi": "3.0.0",\n "info": }')
    err = _error(spec)
    assert err.code == "syntax"
    assert err.location == "line 2, column 10"


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("openapi: 3.0.0\ninfo: [unclosed\n")
    err = _error(spec)
    assert err.code == "syntax"
    assert err.location is not None and err.location.startswith("line ")


def test_not_utf8(tmp_path: Path) -> None:
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes("openapi: 3.0.0\ninfo: {title: caf\xe9}\n".encode("latin-1"))
    err = _error(spec)
    assert err.code == "encoding"
    assert err.location == "line 2"


def test_huge_file_is_refused_unread(tmp_path: Path) -> None:
    spec = tmp_path / "huge.json"
    with spec.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: instant, but stat says 50 MB
    err = _error(spec)
    assert err.code == "too-large"
    assert err.file == str(spec)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("- just\n- a list\n", None),
        ("swagger: '2.0'\ninfo: {title: t}\n", "swagger"),
        ("openapi: 2.5.0\n", "openapi"),
        ("openapi: 3.0.0\ninfo: {title: t}\npaths: [a]\n", "paths"),
        ("openapi: 3.0.0\npaths:\n  /a:\n    get: 5\n", "paths./a.get"),
        ("openapi: 3.0.0\npaths:\n  /a/{id}:\n    get: {responses: {}}\n", "paths./a/{id}.get"),
        (
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: [{name: q}]\n",
            "paths./a.get.parameters[0]",
        ),
    ],
)
def test_structural_problems(tmp_path: Path, text: str, where: str | None) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    err = _error(spec)
    assert err.file == str(spec)
    assert err.location == where
    assert err.code == "spec"


# ------------------------------------------------------------------------ lookup


def test_operation_by_id_or_key_and_did_you_mean() -> None:
    spec = load_spec(PETSTORE)
    assert spec.operation("GET /pet/{petId}").operation_id == "getPetById"
    assert spec.operation("get /pet/{petId}").operation_id == "getPetById"
    assert spec.find("nothing") is None
    with pytest.raises(SpecError) as caught:
        spec.operation("getPetByID")
    assert caught.value.code == "unknown-operation"
    assert "did you mean 'getPetById'" in caught.value.message


def test_match_concrete_paths() -> None:
    spec = load_spec(PETSTORE)
    found = spec.match("GET", "/api/v3/pet/7")
    assert found is not None
    assert found[0].operation_id == "getPetById" and found[1] == {"petId": "7"}
    found = spec.match("get", "/pet/7?x=1")
    assert found is not None and found[0].operation_id == "getPetById"
    # A literal segment beats a template: /pet/findByStatus is not getPetById.
    found = spec.match("GET", "/api/v3/pet/findByStatus")
    assert found is not None and found[0].operation_id == "findPetsByStatus"
    found = spec.match("DELETE", "/user/ada%20l")
    assert found is not None and found[1] == {"username": "ada l"}
    assert spec.match("PATCH", "/pet/7") is None
    assert spec.match("GET", "/api/v3/nothing") is None


def test_match_with_full_server_url_base_path() -> None:
    spec = load_spec(DATA / "split" / "main.yaml")
    found = spec.match("GET", "/shop/v1/items/12")
    assert found is not None and found[1] == {"itemId": "12"}


def test_resolve_follows_ref_chains() -> None:
    spec = load_spec(PETSTORE)
    pet = spec.resolve({"$ref": "#/components/schemas/Pet"})
    assert pet["required"] == ["name", "photoUrls"]
    assert spec.resolve({"type": "string"}) == {"type": "string"}


def test_schema_at_walks_instance_pointers() -> None:
    spec = load_spec(PETSTORE)
    pet = {"$ref": "#/components/schemas/Pet"}
    assert spec.schema_at(pet, "/tags/0/name") == {"type": "string", "example": "friendly"}
    assert spec.schema_at(pet, "/category") is not None
    assert spec.schema_at(pet, "/nothing") is None
    assert spec.schema_at(pet, "") == spec.resolve(pet)
    inventory = spec.operation("getInventory").response_schema(200)
    assert inventory is not None
    assert spec.schema_at(inventory[1], "/sold") == {"type": "integer", "format": "int32"}


# ------------------------------------------------------------------------ validators


def test_validator_30_semantics() -> None:
    spec = load_spec(DATA / "nullable30.yaml")
    _, schema = spec.operation("addReading").request_schema() or ("", {})
    check = spec.validator(schema)
    assert check is spec.validator(schema)  # compiled once
    good = {
        "value": None,
        "count": 5,
        "at": "2026-01-02T03:04:05Z",
        "by": "a@b.org",
        "id": "123e4567-e89b-12d3-a456-426614174000",
        "kind": None,
    }
    assert check.errors(good) == []
    bad = {
        "value": 0,
        "count": 2**31,
        "at": "yesterday",
        "by": "nobody",
        "id": "not-a-uuid",
        "kind": "c",
    }
    errors = dict(check.errors(bad))
    assert errors["/count"] == "expected int32, got 2147483648"
    assert errors["/at"] == 'expected date-time, got "yesterday"'
    assert errors["/by"] == 'expected email, got "nobody"'
    assert errors["/id"] == 'expected uuid, got "not-a-uuid"'
    assert errors["/kind"] == 'expected one of "a", "b", got "c"'
    assert "/value" in errors  # exclusiveMinimum: true excludes 0
    assert check.errors({"value": "x"}) == [("/value", 'expected number, got "x"')]


def test_validator_is_cached_per_schema_identity() -> None:
    spec = load_spec(PETSTORE)
    a = {"type": "integer"}
    b = {"type": "integer"}
    assert spec.validator(a) is spec.validator(a)
    assert spec.validator(a) is not spec.validator(b)


# ------------------------------------------------------------------------ big real spec


def test_github_spec_loads_and_validates() -> None:
    spec = load_spec(real_spec("github_api.github.com.json"))
    assert len(spec.operations) == 1223
    op = spec.operation("issues/create")
    found = spec.match("POST", "/repos/octo/hello/issues")
    assert found is not None and found[0] is op
    _, schema = op.request_schema() or ("", {})
    assert spec.validator(schema).errors({"body": "x"}) == [
        ("/title", "required property is missing")
    ]


def test_spec_is_what_load_returns() -> None:
    spec = load_spec(PETSTORE)
    assert isinstance(spec, Spec)
    assert all(isinstance(op, Operation) for op in spec.operations)
    assert "x-lam-files" not in spec.document
    assert json.loads(json.dumps(spec.document))["openapi"] == "3.0.3"
