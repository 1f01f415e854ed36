"""The API simulator: state across calls, determinism, materialization, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from lam.sandbox.simulator import SimRequest, SimResponse, Simulator
from lam.sandbox.transport import AsyncSimulatorTransport, SimulatorTransport
from lam.spec import Spec, load_spec

ROOT = Path(__file__).resolve().parents[1]


def _petstore_path() -> Path:
    return ROOT / "specs" / "petstore.yaml"


@pytest.fixture(scope="module")
def petstore() -> Spec:
    return load_spec(_petstore_path())


@pytest.fixture(scope="module")
def demo() -> Spec:
    return load_spec(ROOT / "lam" / "sandbox" / "demo" / "openapi.yaml")


def call(
    sim: Simulator,
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, list[str]] | None = None,
) -> SimResponse:
    """One request; the answer must be valid against the spec's schema for its status."""
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"content-type": "application/json"} if body is not None else {}
    answer = sim.handle(SimRequest(method, path, query or {}, headers, data))
    assert_valid(sim.spec, method, path, answer)
    return answer


def assert_valid(spec: Spec, method: str, path: str, answer: SimResponse) -> None:
    found = spec.match(method, path.split("?")[0])
    assert found is not None, f"{method} {path} matches no operation"
    schema = found[0].response_schema(answer.status)
    if schema is not None and "json" in schema[0] and answer.status != 400:
        errors = spec.validator(schema[1]).errors(answer.json)
        assert errors == [], f"{method} {path} -> {answer.status}: {errors}"


# -- petstore --------------------------------------------------------------------------------


def test_petstore_create_get_update_find_delete(petstore: Spec) -> None:
    sim = Simulator(petstore)
    created = call(sim, "POST", "/api/v3/pet", {"name": "Rex", "photoUrls": []})
    assert created.status in (200, 201)
    pet_id = created.json["id"]
    assert isinstance(pet_id, int)
    got = call(sim, "GET", f"/api/v3/pet/{pet_id}")
    assert got.status == 200 and got.json["name"] == "Rex"
    updated = call(
        sim, "PUT", "/api/v3/pet", {"id": pet_id, "name": "Max", "photoUrls": [], "status": "sold"}
    )
    assert updated.status == 200 and updated.json["name"] == "Max"
    assert call(sim, "GET", f"/api/v3/pet/{pet_id}").json["status"] == "sold"
    sold = call(sim, "GET", "/api/v3/pet/findByStatus", query={"status": ["sold"]})
    assert [p["id"] for p in sold.json] == [pet_id]
    available = call(sim, "GET", "/api/v3/pet/findByStatus", query={"status": ["available"]})
    assert pet_id not in [p["id"] for p in available.json]
    assert all(p["status"] == "available" for p in available.json)
    assert call(sim, "DELETE", f"/api/v3/pet/{pet_id}").status in (200, 204)
    gone = call(sim, "GET", f"/api/v3/pet/{pet_id}")
    assert gone.status == 404
    assert gone.json["status"] == 404
    assert call(sim, "DELETE", f"/api/v3/pet/{pet_id}").status == 404
    assert [(e.method, e.operation_id, e.object_id) for e in sim.journal] == [
        ("POST", "addPet", str(pet_id)),
        ("PUT", "updatePet", str(pet_id)),
        ("DELETE", "deletePet", str(pet_id)),
        ("DELETE", "deletePet", str(pet_id)),
    ]


def test_new_ids_follow_existing_ones(petstore: Spec) -> None:
    sim = Simulator(petstore, seed_data={"/pet": [{"id": 41, "name": "a", "photoUrls": []}]})
    first = call(sim, "POST", "/api/v3/pet", {"name": "b", "photoUrls": []}).json["id"]
    second = call(sim, "POST", "/api/v3/pet", {"name": "c", "photoUrls": []}).json["id"]
    assert (first, second) == (42, 43)


def test_seed_data_is_served_and_filtered(petstore: Spec) -> None:
    seed = {
        "/api/v3/pet": [
            {"id": 1, "name": "Ada", "photoUrls": [], "status": "available"},
            {"id": 2, "name": "Bo", "photoUrls": [], "status": "pending"},
        ]
    }
    sim = Simulator(petstore, seed_data=seed)
    pending = call(sim, "GET", "/api/v3/pet/findByStatus", query={"status": ["pending"]})
    assert [p["name"] for p in pending.json] == ["Bo"]
    assert call(sim, "GET", "/api/v3/pet/1").json["name"] == "Ada"


def test_materializes_unknown_ids_once_and_not_after_delete(petstore: Spec) -> None:
    sim = Simulator(petstore)
    first = call(sim, "GET", "/api/v3/pet/777")
    assert first.status == 200 and first.json["id"] == 777
    assert call(sim, "GET", "/api/v3/pet/777").json == first.json
    call(sim, "DELETE", "/api/v3/pet/777")
    assert call(sim, "GET", "/api/v3/pet/777").status == 404
    user = call(sim, "GET", "/api/v3/user/grace")
    assert user.status == 200 and user.json["username"] == "grace"


def test_deterministic_for_a_seed(petstore: Spec) -> None:
    def answers(seed: int) -> list[Any]:
        sim = Simulator(petstore, seed=seed)
        return [
            call(sim, "GET", "/api/v3/pet/findByStatus", query={"status": ["available"]}).json,
            call(sim, "GET", "/api/v3/pet/5").json,
            call(sim, "GET", "/api/v3/store/order/3").json,
        ]

    assert answers(1) == answers(1)


INLINE = """
openapi: 3.1.0
info: {title: shop, version: "1"}
servers: [{url: "http://127.0.0.1:9/v1"}]
paths:
  /users/{user}/repos:
    get:
      operationId: listRepos
      parameters: [{name: user, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: ok
          content:
            application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Repo"}}}
    post:
      operationId: createRepo
      parameters: [{name: user, in: path, required: true, schema: {type: string}}]
      requestBody:
        content:
          application/json: {schema: {$ref: "#/components/schemas/Repo"}}
      responses:
        "201":
          description: created
          content:
            application/json: {schema: {$ref: "#/components/schemas/Repo"}}
  /users/{user}/repos/{repo}:
    parameters:
      - {name: user, in: path, required: true, schema: {type: string}}
      - {name: repo, in: path, required: true, schema: {type: string}}
    get:
      operationId: getRepo
      responses:
        "200":
          description: ok
          content:
            application/json: {schema: {$ref: "#/components/schemas/Repo"}}
  /invoices/{id}:
    get:
      operationId: getInvoice
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: ok
          content:
            application/json: {schema: {$ref: "#/components/schemas/Invoice"}}
  /invoices/{id}/pay:
    post:
      operationId: payInvoice
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {status: {type: string}}}
      responses:
        "200":
          description: paid
          content:
            application/json: {schema: {$ref: "#/components/schemas/Invoice"}}
components:
  schemas:
    Repo:
      type: object
      required: [repo, stars, created_at]
      properties:
        repo: {type: string}
        stars: {type: integer, minimum: 0, maximum: 100000}
        created_at: {type: string, format: date-time, readOnly: true}
        topics: {type: array, items: {type: string, enum: [python, rust]}}
    Invoice:
      type: object
      required: [id, amount, status]
      properties:
        id: {type: string}
        amount: {type: integer, minimum: 1}
        status: {type: string, enum: [open, paid]}
"""


@pytest.fixture
def inline(tmp_path: Path) -> Spec:
    path = tmp_path / "inline.yaml"
    path.write_text(INLINE)
    return load_spec(path)


def test_generated_values_follow_the_seed_number(inline: Spec) -> None:
    def stars(seed: int) -> list[int]:
        sim = Simulator(inline, seed=seed)
        return [call(sim, "GET", f"/v1/users/u/repos/r{n}").json["stars"] for n in range(4)]

    assert stars(1) == stars(1)
    assert stars(1) != stars(2)


def test_nested_collections_and_actions(inline: Spec) -> None:
    sim = Simulator(inline)
    made = call(sim, "POST", "/v1/users/ada/repos", {"repo": "lam", "stars": 3})
    assert made.status == 201
    assert made.json["created_at"]  # a readOnly field the server fills
    assert call(sim, "GET", "/v1/users/ada/repos/lam").json["stars"] == 3
    assert "lam" not in [r["repo"] for r in call(sim, "GET", "/v1/users/bob/repos").json]
    assert "lam" in [r["repo"] for r in call(sim, "GET", "/v1/users/ada/repos").json]
    paid = call(sim, "POST", "/v1/invoices/in_1/pay", {"status": "paid"})
    assert paid.json["id"] == "in_1" and paid.json["status"] == "paid"
    assert call(sim, "GET", "/v1/invoices/in_1").json["status"] == "paid"
    assert sim.journal[-1].operation_id == "payInvoice"
    assert sim.journal[-1].object_id == "in_1"


def test_request_validation(petstore: Spec) -> None:
    sim = Simulator(petstore)
    bad_id = call(sim, "GET", "/api/v3/pet/abc")
    assert bad_id.status == 404  # no pet has that id; getPetById documents 404, not 400
    assert bad_id.headers["content-type"] == "application/json"
    assert bad_id.json["errors"][0]["name"] == "petId"
    bad_body = call(sim, "POST", "/api/v3/pet", {"name": 5})
    assert bad_body.status == 422  # addPet documents 422 for bad input, not 400
    assert {e["name"] for e in bad_body.json["errors"]} >= {"/name"}
    bad_enum = call(sim, "GET", "/api/v3/pet/findByStatus", query={"status": ["lost"]})
    assert bad_enum.status == 422
    assert sim.journal == []
    lax = Simulator(petstore, validate=False)
    assert (
        lax.handle(SimRequest("GET", "/api/v3/pet/findByStatus", {"status": ["x"]})).status == 200
    )


def test_unknown_path_and_method(petstore: Spec) -> None:
    sim = Simulator(petstore)
    assert sim.handle(SimRequest("GET", "/api/v3/nothing")).status == 404
    assert sim.handle(SimRequest("PATCH", "/api/v3/store/inventory")).status == 405


# -- demo app spec ---------------------------------------------------------------------------


def test_demo_spec_state(demo: Spec) -> None:
    sim = Simulator(demo)
    base = sim.base_path
    assert base == "/api"
    created = call(sim, "POST", f"{base}/pets", {"name": "Nala", "species": "cat"})
    assert created.status == 201
    assert created.headers["location"].endswith(f"/pets/{created.json['id']}")
    pet = f"{base}/pets/{created.json['id']}"
    patched = call(sim, "PATCH", pet, {"name": "Nala II"})
    assert patched.json["name"] == "Nala II" and patched.json["species"] == "cat"
    replaced = call(
        sim,
        "PUT",
        pet,
        {"name": "Nala", "species": "cat", "status": "sold", "vaccinated": True, "notes": "ok"},
    )
    assert replaced.json["status"] == "sold" and replaced.json["id"] == created.json["id"]
    listed = call(sim, "GET", f"{base}/pets")
    assert created.json["id"] in [p["id"] for p in listed.json]
    call(sim, "DELETE", pet)
    assert call(sim, "GET", pet).status == 404
    assert created.json["id"] not in [p["id"] for p in call(sim, "GET", f"{base}/pets").json]


# -- read-through ----------------------------------------------------------------------------


def test_read_through_merges_simulated_changes(demo: Spec) -> None:
    live = {
        n: {
            "id": n,
            "name": name,
            "species": "dog",
            "status": "available",
            "vaccinated": True,
            "notes": "",
        }
        for n, name in ((1, "Ada"), (2, "Bo"))
    }
    asked: list[str] = []

    def fallback(request: SimRequest) -> SimResponse | None:
        asked.append(request.path)
        if request.path == "/api/pets":
            return SimResponse(200, {}, b"", list(live.values()))
        pet_id = int(request.path.rsplit("/", 1)[-1])
        if pet_id in live:
            return SimResponse(200, {}, b"", live[pet_id])
        return SimResponse(404, {}, b"", None)

    sim = Simulator(demo, fallback=fallback)
    assert call(sim, "GET", "/api/pets/1").json["name"] == "Ada"
    call(sim, "PATCH", "/api/pets/2", {"name": "Bobby"})
    call(sim, "DELETE", "/api/pets/1")
    new = call(sim, "POST", "/api/pets", {"name": "Cy", "species": "dog"}).json
    names = [p["name"] for p in call(sim, "GET", "/api/pets").json]
    assert names == ["Bobby", "Cy"]
    assert new["id"] not in live
    assert call(sim, "GET", "/api/pets/2").json["name"] == "Bobby"
    assert call(sim, "GET", "/api/pets/1").status == 404
    assert call(sim, "GET", "/api/pets/99").status == 404
    assert live[2]["name"] == "Bo"  # the live side is never changed
    assert "/api/pets/99" in asked


# -- transports ------------------------------------------------------------------------------


def test_httpx_transport(petstore: Spec) -> None:
    sim = Simulator(petstore)
    with httpx.Client(transport=SimulatorTransport(sim), base_url="http://sim/api/v3") as client:
        created = client.post("/pet", json={"name": "Rex", "photoUrls": []})
        assert created.status_code in (200, 201)
        found = client.get("/pet/findByStatus", params={"status": "available"})
        assert found.status_code == 200
        assert client.get(f"/pet/{created.json()['id']}").json()["name"] == "Rex"


async def _async_roundtrip(sim: Simulator) -> int:
    transport = AsyncSimulatorTransport(sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim/api/v3") as client:
        answer = await client.get("/pet/3")
        return answer.status_code


def test_async_httpx_transport(petstore: Spec) -> None:
    import asyncio

    assert asyncio.run(_async_roundtrip(Simulator(petstore))) == 200


def test_form_update_and_actions_with_their_own_answers(petstore: Spec) -> None:
    sim = Simulator(petstore)
    form = call(sim, "POST", "/api/v3/pet/8", query={"name": ["Fido"], "status": ["pending"]})
    assert form.status == 200
    pet = call(sim, "GET", "/api/v3/pet/8").json
    assert (pet["id"], pet["name"], pet["status"]) == (8, "Fido", "pending")
    upload = sim.handle(
        SimRequest(
            "POST", "/api/v3/pet/8/uploadImage", {}, {"content-type": "image/png"}, b"\x89PNG"
        )
    )
    assert upload.status == 200
    assert "name" not in upload.json  # the operation answers with its own schema, not a Pet
    assert_valid(petstore, "POST", "/api/v3/pet/8/uploadImage", upload)
    assert call(sim, "DELETE", "/api/v3/pet/8").status in (200, 204)
    request = SimRequest("POST", "/api/v3/pet/8/uploadImage", {}, {}, b"\x89PNG")
    assert sim.handle(request).status == 404
    assert sim.handle(SimRequest("POST", "/api/v3/pet/8/uploadImage")).status == 400


# -- the demo spec seeded from the demo store --------------------------------------------------


@pytest.fixture()
def shop_sim(demo: Spec, tmp_path: Path) -> Simulator:
    from lam.sandbox.demo import Store, seed_database

    seed_database(tmp_path / "shop.db")
    return Simulator(demo, seed_data=Store(tmp_path / "shop.db").snapshot())


def test_status_and_name_filters_on_seeded_lists(shop_sim: Simulator) -> None:
    pets = call(shop_sim, "GET", "/api/pets").json
    for status in ("available", "pending", "sold"):
        got = call(shop_sim, "GET", "/api/pets", query={"status": [status]}).json
        assert got == [p for p in pets if p["status"] == status]
    part = pets[0]["name"][1:3].upper()  # 'name' matches substrings, any case
    named = call(shop_sim, "GET", "/api/pets", query={"name": [part]}).json
    assert pets[0] in named
    assert all(part.lower() in p["name"].lower() for p in named)
    assert call(shop_sim, "GET", "/api/pets", query={"name": ["no-such-pet"]}).json == []


def test_cancel_action_moves_the_status_field(shop_sim: Simulator) -> None:
    placed = call(shop_sim, "GET", "/api/orders", query={"status": ["placed"]}).json
    order_id = placed[0]["id"]
    answer = call(shop_sim, "POST", f"/api/orders/{order_id}/cancel")
    assert answer.json == {**placed[0], "status": "cancelled"}
    assert call(shop_sim, "GET", f"/api/orders/{order_id}").json["status"] == "cancelled"
    left = call(shop_sim, "GET", "/api/orders", query={"status": ["placed"]}).json
    assert order_id not in [o["id"] for o in left]


def test_missing_objects_answer_in_the_specs_error_shape(shop_sim: Simulator) -> None:
    assert call(shop_sim, "GET", "/api/pets/9").json == {"error": "no pet with id 9"}
    missing = call(shop_sim, "POST", "/api/orders/77/cancel")
    assert (missing.status, missing.json) == (404, {"error": "no order with id 77"})
    assert call(shop_sim, "DELETE", "/api/pets/1").status == 204
    gone = call(shop_sim, "PATCH", "/api/pets/1", {"name": "Again"})
    assert (gone.status, gone.json) == (404, {"error": "no pet with id 1"})


def test_action_words_and_error_shapes_in_general(petstore: Spec) -> None:
    from lam.sandbox.shaping import error_value, problem, status_after

    enum = {"state": {"type": "string", "enum": ["open", "closed", "paid", "canceled"]}}
    found = [status_after(petstore, enum, word) for word in ("close", "pay", "cancel", "ship")]
    assert found == [("state", "closed"), ("state", "paid"), ("state", "canceled"), None]
    assert status_after(petstore, {"kind": enum["state"]}, "close") is None  # not status-like
    shape = {
        "type": "object",
        "required": ["code", "text"],
        "properties": {"code": {"type": "integer"}, "text": {"type": "string"}},
    }
    value = error_value(petstore, shape, problem(404, "Not Found", "no pet with id 9"))
    assert (value["code"], value["text"]) == (404, "no pet with id 9")
