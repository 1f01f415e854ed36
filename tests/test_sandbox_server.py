"""``lam sandbox serve``: the simulator over real HTTP on 127.0.0.1, and its error lines."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PETSTORE = ROOT / "specs" / "petstore.yaml"
AUTH = {"Authorization": "Bearer sandbox"}  # the spec requires a bearer token; any will do


def _lam(*args: str) -> list[str]:
    return [sys.executable, "-m", "lam", *args]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    if not PETSTORE.is_file():
        pytest.skip("specs/petstore.yaml is not here yet")
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "/pet:\n  - {id: 5, name: Kiki, photoUrls: [], status: pending}\n", encoding="utf-8"
    )
    proc = subprocess.Popen(
        _lam("sandbox", "serve", str(PETSTORE), "--port", "0", "--seed", str(seed)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, proc.stderr.read() if proc.stderr else line
        yield line.split(" at ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.integration
def test_serves_state_over_http(served: str) -> None:
    assert served.endswith("/api/v3")
    with httpx.Client(base_url=served, timeout=5, headers=AUTH) as client:
        assert client.get("/pet/5").json()["name"] == "Kiki"
        pending = client.get("/pet/findByStatus", params={"status": "pending"}).json()
        assert [p["id"] for p in pending] == [5]
        made = client.post("/pet", json={"name": "Rex", "photoUrls": []})
        assert made.status_code in (200, 201)
        pet = f"/pet/{made.json()['id']}"
        assert client.get(pet).json()["name"] == "Rex"
        assert client.delete(pet).status_code in (200, 204)
        assert client.get(pet).status_code == 404
        bad = client.get("/pet/abc")  # getPetById documents 404, not 400: no pet has that id
        assert bad.status_code == 404
        assert bad.json()["errors"][0]["name"] == "petId"
        assert client.head("/pet/5").status_code == 200


@pytest.mark.integration
def test_bad_spec_and_seed_files_give_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: [\n", encoding="utf-8")
    result = subprocess.run(_lam("sandbox", "serve", str(broken)), capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "broken.yaml" in result.stderr
    missing = subprocess.run(
        _lam("sandbox", "serve", str(tmp_path / "nope.yaml")), capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert "nope.yaml: file not found" in missing.stderr
    if PETSTORE.is_file():
        seed = tmp_path / "seed.json"
        seed.write_text('{"pets": [1]}', encoding="utf-8")
        bad_seed = subprocess.run(
            _lam("sandbox", "serve", str(PETSTORE), "--seed", str(seed)),
            capture_output=True,
            text=True,
        )
        assert bad_seed.returncode == 1
        assert bad_seed.stderr.strip().endswith(
            "pets: expected a collection path starting with '/'"
        )


@pytest.mark.integration
def test_each_request_is_logged_like_prism_does(tmp_path: Path) -> None:
    """One line per request on stdout: time, method, path and query, status and reason, the
    operation, why an error answer was given, and how long it took; --quiet logs nothing."""
    proc = subprocess.Popen(
        _lam("sandbox", "serve", str(PETSTORE), "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" at ", 1)[1].strip()
        with httpx.Client(base_url=url, timeout=5, headers=AUTH) as client:
            client.get("/pet/findByStatus", params={"status": "sold"})
            client.post("/pet", json={"photoUrls": []})
            client.get("/nothing/here")
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    shape = r"^\d\d:\d\d:\d\d {} -> {} \(\d+\.\d ms\)$"
    assert re.match(
        shape.format(r"GET /api/v3/pet/findByStatus\?status=sold", "200 OK findPetsByStatus"),
        lines[0],
    ), lines[0]
    assert re.match(shape.format("POST /api/v3/pet", "422 Unprocessable Entity addPet: .*name.*"), lines[1])
    assert re.match(shape.format("GET /api/v3/nothing/here", "404 Not Found: .*"), lines[2])
    quiet = subprocess.Popen(
        _lam("sandbox", "serve", str(PETSTORE), "--port", "0", "--quiet"),
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert quiet.stdout is not None
        url = quiet.stdout.readline().split(" at ", 1)[1].strip()
        assert httpx.get(url + "/pet/findByStatus?status=sold", timeout=5, headers=AUTH).status_code == 200
    finally:
        quiet.terminate()
        quiet.wait(timeout=10)
        assert quiet.stdout is not None
        assert quiet.stdout.read() == ""
