"""The simulator reading through to the live demo app: simulated changes over live data.

A dry run of the demo's pages sends their fetch() calls to a Simulator whose ``fallback``
does the same GET against the running app; the app's database must not change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lam.sandbox.demo import ADMIN_PASSWORD, ADMIN_USER, SPEC_PATH, running, seed_database
from lam.sandbox.demo.live import DemoServer
from lam.sandbox.simulator import SimRequest, SimResponse, Simulator
from lam.spec import load_spec

pytestmark = pytest.mark.integration


@pytest.fixture()
def shop(tmp_path: Path) -> Iterator[DemoServer]:
    seed_database(tmp_path / "shop.db")
    with running(tmp_path / "shop.db", tmp_path / "access.jsonl") as server:
        yield server


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_through_to_the_live_demo_merges_simulated_changes(shop: DemoServer) -> None:
    before = _digest(shop.db_path)
    client = httpx.Client(base_url=shop.url, timeout=10)
    login = client.post("/api/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    auth = {"authorization": "Bearer " + login.json()["token"]}
    live_pets = client.get("/api/pets", headers=auth).json()
    live_orders = client.get("/api/orders", headers=auth).json()
    assert len(live_pets) >= 3 and any(o["status"] == "placed" for o in live_orders)
    asked: list[str] = []

    def fallback(request: SimRequest) -> SimResponse | None:
        asked.append(request.path)
        answer = client.get(request.path, params=dict(request.query), headers=auth)
        body = answer.json() if answer.content else None
        return SimResponse(answer.status_code, dict(answer.headers), answer.content, body)

    sim = Simulator(load_spec(SPEC_PATH), fallback=fallback, base_path="/api")

    def call(method: str, path: str, body: Any = None, **query: str) -> SimResponse:
        data = json.dumps(body).encode() if body is not None else b""
        headers = {**auth, "content-type": "application/json"} if body is not None else auth
        return sim.handle(
            SimRequest(method, path, {k: [v] for k, v in query.items()}, headers, data)
        )

    gone, changed = live_pets[0], live_pets[1]
    order = next(o for o in live_orders if o["status"] == "placed")
    created = call("POST", "/api/pets", {"name": "Zed the Dry", "species": "fish"})
    assert created.status == 201 and created.json["id"] > max(p["id"] for p in live_pets)
    assert call("PATCH", f"/api/pets/{changed['id']}", {"status": "sold"}).json["status"] == "sold"
    assert call("DELETE", f"/api/pets/{gone['id']}").status == 204
    assert call("POST", f"/api/orders/{order['id']}/cancel").json["status"] == "cancelled"

    pets = call("GET", "/api/pets").json
    expected = [p for p in live_pets if p["id"] != gone["id"]]
    expected = [{**p, "status": "sold"} if p["id"] == changed["id"] else p for p in expected]
    assert pets == [*expected, created.json]
    sold = call("GET", "/api/pets", status="sold").json
    assert changed["id"] in [p["id"] for p in sold]
    assert all(p["status"] == "sold" for p in sold)
    assert [p["id"] for p in call("GET", "/api/pets", name="ZED").json] == [created.json["id"]]
    item = call("GET", f"/api/pets/{changed['id']}").json
    assert item == {**changed, "status": "sold"}
    assert call("GET", f"/api/pets/{live_pets[2]['id']}").json == live_pets[2]  # live, unchanged
    missing = call("GET", f"/api/pets/{gone['id']}")
    assert (missing.status, missing.json) == (404, {"error": f"no pet with id {gone['id']}"})
    placed = [o["id"] for o in call("GET", "/api/orders", status="placed").json]
    cancelled = [o["id"] for o in call("GET", "/api/orders", status="cancelled").json]
    assert order["id"] in cancelled and order["id"] not in placed
    assert call("GET", "/api/pets/4242").status == 404
    assert "/api/pets/4242" in asked and f"/api/pets/{live_pets[2]['id']}" in asked

    # the live app saw only reads: same answers, same database bytes
    assert client.get("/api/pets", headers=auth).json() == live_pets
    assert client.get("/api/orders", headers=auth).json() == live_orders
    client.close()
    assert _digest(shop.db_path) == before
