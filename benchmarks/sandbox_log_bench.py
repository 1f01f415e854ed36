"""What the request log of ``lam sandbox serve`` costs: the simulator's ASGI app answering the
same read-only request mix in-process (state does not grow between rounds) with the log on
(lines printed to a null file) and off, alternated in rounds; the ratio of the best rounds.

    .venv/bin/python benchmarks/sandbox_log_bench.py [--requests 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lam.sandbox.server import SimulatorApp  # noqa: E402
from lam.sandbox.simulator import Simulator  # noqa: E402
from lam.spec import load_spec  # noqa: E402

MIX = [
    ("GET", "/api/v3/pet/findByStatus", b"status=available", b""),
    ("GET", "/api/v3/store/inventory", b"", b""),
    ("GET", "/api/v3/pet/1", b"", b""),
]


async def _drive(app: SimulatorApp, count: int) -> float:
    async def receive_for(body: bytes) -> Any:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        return receive

    async def send(_: Any) -> None:
        return None

    started = time.perf_counter()
    for i in range(count):
        method, path, query, body = MIX[i % len(MIX)]
        scope = {"type": "http", "method": method, "path": path, "query_string": query,
                 "headers": [(b"content-type", b"application/json")]}  # fmt: skip
        await app(scope, await receive_for(body), send)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    spec = load_spec(ROOT / "specs" / "petstore.yaml")
    with open(os.devnull, "w") as null:

        def log(line: str) -> None:
            print(line, file=null, flush=True)

        quiet = SimulatorApp(Simulator(spec, seed=1))
        logged = SimulatorApp(Simulator(spec, seed=1), log=log)
        best = {"off": float("inf"), "on": float("inf")}
        for _ in range(args.rounds):
            best["off"] = min(best["off"], asyncio.run(_drive(quiet, args.requests)))
            best["on"] = min(best["on"], asyncio.run(_drive(logged, args.requests)))
    per = {k: v / args.requests * 1e6 for k, v in best.items()}
    print(f"log off: {per['off']:.1f} us/request, log on: {per['on']:.1f} us/request")
    print(f"log on / log off: {best['on'] / best['off']:.2f}x (best of {args.rounds} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
