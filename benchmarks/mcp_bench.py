"""Per-tool latency of ``lam mcp`` against Playwright MCP (``@playwright/mcp`` from npm), on
the same pages of the demo shop, through the same client (the official MCP Python SDK over
stdio), in one run. Prints each tool's median and lam's ratio to Playwright MCP's.

Both servers start headless on Debian's Chromium (Playwright MCP with ``--executable-path``).
Each signs in, then repeats ROUNDS times: a snapshot, a click on a pet's link (a page load),
a snapshot, a navigation back to the list. What lam adds to each action (validation, the policy,
the step and network guards, a signed record with a screenshot per step, and the page as text
after each action) is in its figures; Playwright MCP acts directly.

    (cd benchmarks && npm ci)          # @playwright/mcp, pinned in benchmarks/package.json
    .venv/bin/python benchmarks/mcp_bench.py [ROUNDS]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp_harness import ref_of, shop_args  # noqa: E402
from servers import start_demo  # noqa: E402

PLAYWRIGHT_MCP = ROOT / "benchmarks" / "node_modules" / "@playwright" / "mcp" / "cli.js"
CHROMIUM = "/usr/bin/chromium"
TOOLS = ("browser_navigate", "browser_snapshot", "browser_click", "browser_type")


def servers(url: str, home: Path) -> dict[str, StdioServerParameters]:
    env = {
        **os.environ,
        "LAM_HOME": str(home / "lam-home"),
        "LAM_RUNTIME_DIR": str(home / "lam-runtime"),
        "LAM_CONFIG_DIR": str(home / "lam-config"),
    }
    return {
        "playwright-mcp": StdioServerParameters(
            command="node",
            args=[
                str(PLAYWRIGHT_MCP),
                "--headless",
                "--browser",
                "chromium",
                "--executable-path",
                CHROMIUM,
                "--isolated",
            ],
            cwd=home,
            env=env,
        ),
        "lam mcp": StdioServerParameters(
            command=sys.executable,
            args=["-m", "lam", "mcp", *shop_args(url, api=False)],
            cwd=home,
            env=env,
        ),
    }


async def drive(
    params: StdioServerParameters, url: str, rounds: int, key: str
) -> dict[str, list[float]]:
    """Sign in, then ``rounds`` times: snapshot, click a pet, snapshot, go back to the list.
    ``key`` is the name of the ref argument (Playwright MCP 0.0.83 calls it ``target``)."""
    times: dict[str, list[float]] = defaultdict(list)
    with open(os.devnull, "w") as quiet:
        async with (
            stdio_client(params, errlog=quiet) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()

            async def call(name: str, arguments: dict[str, Any]) -> str:
                started = time.perf_counter()
                result = await session.call_tool(name, arguments)
                times[name].append(time.perf_counter() - started)
                text = "\n".join(getattr(c, "text", "") for c in result.content)
                if result.isError:
                    raise RuntimeError(f"{name}: {text[:300]}")
                return text

            await call("browser_navigate", {"url": f"{url}/login"})
            page = await call("browser_snapshot", {})
            ref = ref_of(page, r'textbox "Username"')
            await call("browser_type", {"element": "Username", key: ref, "text": "admin"})
            page = await call("browser_snapshot", {})
            ref = ref_of(page, r'textbox "Password"')
            await call(
                "browser_type",
                {"element": "Password", key: ref, "text": "admin-pass", "submit": True},
            )
            for i in range(rounds):
                page = await call("browser_snapshot", {})
                name = ("Rex", "Bella", "Milo")[i % 3]
                ref = ref_of(page, rf'link "{name}"')
                await call("browser_click", {"element": name, key: ref})
                await call("browser_snapshot", {})
                await call("browser_navigate", {"url": f"{url}/pets"})
    return {k: v for k, v in times.items() if k in TOOLS}


def main(rounds: int) -> None:
    if not PLAYWRIGHT_MCP.exists():
        raise SystemExit("no @playwright/mcp: run `npm ci` in benchmarks/ first")
    with tempfile.TemporaryDirectory() as tmp, start_demo(Path(tmp)) as demo:
        results = {}
        for name, params in servers(demo.url, Path(tmp)).items():
            key = "target" if name == "playwright-mcp" else "ref"
            results[name] = asyncio.run(drive(params, demo.url, rounds, key))
    lam, peer = results["lam mcp"], results["playwright-mcp"]
    print(f"per-tool latency, median of n calls (one run, {rounds} rounds, same pages/client)")
    print(f"{'tool':<20} {'n':>3} {'playwright-mcp':>15} {'lam mcp':>10} {'lam/pw':>8}")
    for tool in TOOLS:
        a, b = statistics.median(peer[tool]), statistics.median(lam[tool])
        print(
            f"{tool:<20} {len(lam[tool]):>3} {a * 1000:>12.1f} ms {b * 1000:>7.1f} ms {b / a:>7.2f}x"
        )
    pairs = {
        n: statistics.median(r["browser_snapshot"]) + statistics.median(r["browser_click"])
        for n, r in results.items()
    }
    ratio = pairs["lam mcp"] / pairs["playwright-mcp"]
    print(
        f"snapshot + click round trip: playwright-mcp {pairs['playwright-mcp'] * 1000:.1f} ms, "
        f"lam mcp {pairs['lam mcp'] * 1000:.1f} ms ({ratio:.2f}x)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
