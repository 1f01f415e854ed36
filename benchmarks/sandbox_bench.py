"""Requests per second of ``lam sandbox serve`` against Stoplight Prism's mock, same client.

Both servers run on 127.0.0.1 and answer the same request mix (reads, filtered lists and
creates), first on specs/petstore.yaml and then on a generated 500-path spec. lam keeps state
and validates requests; Prism validates requests and answers from examples. The load client
is ``wrk`` when installed (``apt-get install wrk``), else a threaded httpx loop; the same client
drives both servers, so the ratios compare the servers, not the clients.

Prism: ``npm install @stoplight/prism-cli`` into some folder and pass ``--prism
FOLDER/node_modules/.bin/prism`` (or put ``prism`` on PATH).

    .venv/bin/python benchmarks/sandbox_bench.py [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
PETSTORE = ROOT / "specs" / "petstore.yaml"
RESOURCES = 250  # two paths each: /resN and /resN/{id}
AUTH = {"authorization": "Bearer bench"}


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    body: Any = None


@dataclass(frozen=True)
class Result:
    rps: float
    non_2xx: int


def generated_spec(folder: Path) -> Path:
    """A spec with RESOURCES collections, each with list/create and get/put/delete: 500 paths."""
    paths: dict[str, Any] = {}
    item_ref = {"$ref": "#/components/schemas/Item"}

    def ok(schema: Any) -> dict[str, Any]:
        return {"description": "ok", "content": {"application/json": {"schema": schema}}}

    for n in range(RESOURCES):
        id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
        paths[f"/res{n}"] = {
            "get": {
                "operationId": f"list{n}",
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/S"}}
                ],
                "responses": {"200": ok({"type": "array", "items": item_ref})},
            },
            "post": {
                "operationId": f"create{n}",
                "requestBody": {"content": {"application/json": {"schema": item_ref}}},
                "responses": {"201": ok(item_ref)},
            },
        }
        paths[f"/res{n}/{{id}}"] = {
            "parameters": [id_param],
            "get": {"operationId": f"get{n}", "responses": {"200": ok(item_ref)}},
            "put": {
                "operationId": f"put{n}",
                "requestBody": {"content": {"application/json": {"schema": item_ref}}},
                "responses": {"200": ok(item_ref)},
            },
            "delete": {"operationId": f"delete{n}", "responses": {"204": {"description": "gone"}}},
        }
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "generated 500 paths", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {
                "S": {"type": "string", "enum": ["active", "archived"]},
                "Item": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {
                        "id": {"type": "integer", "readOnly": True, "example": 1},
                        "name": {"type": "string", "example": "thing"},
                        "status": {"$ref": "#/components/schemas/S"},
                        "count": {"type": "integer", "minimum": 0},
                    },
                },
            }
        },
    }
    path = folder / "generated-500.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def petstore_mix() -> list[Req]:
    return [
        Req("GET", "/pet/1"),
        Req("GET", "/pet/findByStatus?status=available"),
        Req("POST", "/pet", {"name": "Rex", "photoUrls": [], "status": "sold"}),
        Req("GET", "/store/order/3"),
    ]


def generated_mix() -> list[Req]:
    out = []
    for n in range(RESOURCES):
        out.append(Req("GET", f"/res{n}/{n % 7 + 1}"))
        if n % 2 == 0:
            out.append(Req("GET", f"/res{n}?status=active"))
        if n % 5 == 0:
            out.append(Req("POST", f"/res{n}", {"name": "made", "status": "archived"}))
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], base: str, probe: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + probe, headers=AUTH, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start: {' '.join(command)}")


def check_mix(base: str, mix: list[Req]) -> list[str]:
    """Requests of the mix that do not answer 2xx (printed, so a fast 400 cannot hide)."""
    bad = []
    with httpx.Client(headers=AUTH, timeout=5) as client:
        for req in mix[:40]:
            answer = client.request(req.method, base + req.path, json=req.body)
            if not 200 <= answer.status_code < 300:
                bad.append(f"{req.method} {req.path} -> {answer.status_code}")
    return bad


def load_wrk(base: str, mix: list[Req], seconds: float, connections: int, tmp: Path) -> Result:
    lines = ["local r = {}", "init = function(args)"]
    for i, req in enumerate(mix, 1):
        path = urlpath(base) + req.path
        body = json.dumps(req.body) if req.body is not None else None
        headers = '{["Authorization"]="Bearer bench", ["Content-Type"]="application/json"}'
        lines.append(
            f"  r[{i}] = wrk.format({json.dumps(req.method)}, {json.dumps(path)}, {headers}, "
            f"{json.dumps(body) if body else 'nil'})"
        )
    lines.append("end")  # wrk.format knows the Host header only once init runs
    lines.append("local i = 0")
    lines.append("request = function() i = i + 1; return r[(i % #r) + 1] end")
    script = tmp / "mix.lua"
    script.write_text("\n".join(lines), encoding="utf-8")
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds:.0f}s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Result(rps, int(non.group(1)) if non else 0)


def load_python(base: str, mix: list[Req], seconds: float, connections: int) -> Result:
    counts = [0] * connections
    bad = [0] * connections
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
            i = k
            while time.monotonic() < stop:
                req = mix[i % len(mix)]
                status = client.request(req.method, req.path, json=req.body).status_code
                counts[k] += 1
                bad[k] += not 200 <= status < 300
                i += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Result(sum(counts) / seconds, sum(bad))


def urlpath(base: str) -> str:
    return "/" + base.split("/", 3)[3] if base.count("/") >= 3 else ""


def run_one(
    name: str, command: list[str], base: str, mix: list[Req], args: argparse.Namespace, tmp: Path
) -> Result:
    proc = start(command, base, mix[0].path)
    try:
        bad = check_mix(base, mix)
        if bad:
            print(f"  {name}: not 2xx: {'; '.join(bad[:3])}", file=sys.stderr)
        if args.client == "wrk":
            return load_wrk(base, mix, args.seconds, args.connections, tmp)
        return load_python(base, mix, args.seconds, args.connections)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--prism", default=os.environ.get("PRISM") or shutil.which("prism"))
    parser.add_argument("--client", choices=("wrk", "python"), default=None)
    args = parser.parse_args()
    args.client = args.client or ("wrk" if shutil.which("wrk") else "python")
    if not args.prism:
        raise SystemExit("Prism not found: npm install @stoplight/prism-cli; pass --prism PATH")
    lam = [sys.executable, "-m", "lam", "sandbox", "serve"]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        cases = [("petstore", PETSTORE, "/api/v3", petstore_mix())]
        cases.append(("generated 500 paths", generated_spec(tmp), "", generated_mix()))
        for label, spec, prefix, mix in cases:
            port = free_port()
            ours = run_one(
                "lam",
                [*lam, str(spec), "--port", str(port)],
                f"http://127.0.0.1:{port}{prefix}",
                mix,
                args,
                tmp,
            )
            port = free_port()
            prism = run_one(
                "prism",
                [args.prism, "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
                f"http://127.0.0.1:{port}",
                mix,
                args,
                tmp,
            )
            rows.append((label, ours, prism))
    print(f"client: {args.client}, {args.connections} connections, {args.seconds:.0f} s each")
    print(f"{'spec':<22}{'lam req/s':>12}{'prism req/s':>13}{'lam/prism':>11}{'non-2xx':>14}")
    for label, ours, prism in rows:
        print(
            f"{label:<22}{ours.rps:>12.0f}{prism.rps:>13.0f}{ours.rps / prism.rps:>10.2f}x"
            f"{f'{ours.non_2xx}/{prism.non_2xx}':>14}"
        )
    small, big = rows[0][1].rps, rows[1][1].rps
    print(f"lam at 500 paths / lam on petstore: {big / small:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
