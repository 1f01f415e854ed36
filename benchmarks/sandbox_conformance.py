"""Does the sandbox answer as its spec says? Schemathesis (``st run``, all checks) against
``lam sandbox serve SPEC`` and against Prism's mock of the same spec, with the same seed,
example count and phases; prints the unique failures per check for each server.

    (cd benchmarks && npm ci)    # Prism 5.16.0, pinned in benchmarks/package.json
    .venv/bin/python benchmarks/sandbox_conformance.py [--prism PATH] \\
        [--examples 50] [--seed 1] [--phases examples,coverage,fuzzing,stateful] [--out DIR]
        [SPEC ...]

Without SPEC arguments: the project's specs (specs/*.yaml) and the real Petstore v3 from
../shared/specs. Prism: benchmarks/node_modules (``npm ci`` there), else ``--prism``, ``$PRISM``
or ``prism`` on PATH. Both servers get the same requests up to what each answers (Schemathesis' stateful
phase follows the answers), and neither gets a credential: the ignored-auth check sends its own.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "specs"
DEFAULT_SPECS = [
    ROOT / "specs" / "petstore.yaml",
    ROOT / "specs" / "demo.yaml",
    SHARED / "petstore_v3.openapi.yaml",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], url: str, log: Path) -> subprocess.Popen[bytes]:
    """Start a server and wait until it answers anything at ``url``."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{command[0]} exited: {log.read_text(errors='replace')[-800:]}")
        try:
            httpx.get(url, timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"{command[0]} did not answer at {url} within 90 s")


def schemathesis(
    name: str, spec: Path, url: str, args: argparse.Namespace, work: Path
) -> tuple[dict[str, int], str]:
    """Unique failures per check (``ST101 Server error`` -> 1) and the totals line."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    command = [
        st,
        "run",
        str(spec),
        "--url",
        url,
        "--checks",
        "all",
        "--max-examples",
        str(args.examples),
        "--seed",
        str(args.seed),
        "--phases",
        args.phases,
        "--workers",
        "1",
        "--no-color",
        "--generation-database",
        "none",
    ]
    out = subprocess.run(command, capture_output=True, text=True, cwd=work).stdout
    if args.out is not None:  # Schemathesis' own report, to see each failure and its curl
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{spec.stem}.{name}.txt").write_text(out)
    counts = {name: int(n) for name, n in re.findall(r"❌ (ST\d+ [^:\n]+): (\d+)", out)}
    totals = re.search(r"(\d+) generated, .*", out)
    return counts, totals.group(0) if totals else out[-300:].strip()


def server_base(spec: Path) -> str:
    """The spec's first server path (``/api/v3``): lam serves under it, Prism at the root."""
    from lam.spec import load_spec

    servers = load_spec(str(spec)).servers
    path = httpx.URL(servers[0]).path if servers else ""
    return path.rstrip("/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", type=Path)
    local = Path(__file__).resolve().parent / "node_modules" / ".bin" / "prism"  # (cd benchmarks && npm ci)
    parser.add_argument(
        "--prism",
        default=os.environ.get("PRISM") or (str(local) if local.exists() else shutil.which("prism")),
    )
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--out", type=Path, help="folder for Schemathesis' output of each run")
    args = parser.parse_args()
    if not args.prism:
        raise SystemExit("Prism not found: (cd benchmarks && npm ci), or pass --prism PATH")
    specs = [s.resolve() for s in args.specs] or [s for s in DEFAULT_SPECS if s.is_file()]
    print(
        f"st run --checks all --max-examples {args.examples} --seed {args.seed} "
        f"--phases {args.phases} --workers 1"
    )
    for spec in specs:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            results = {}
            base = server_base(spec)
            for name in ("lam", "prism"):
                port = free_port()
                if name == "lam":
                    command = [sys.executable, "-m", "lam", "sandbox", "serve", str(spec)]
                    command += ["--port", str(port), "--quiet"]
                    url = f"http://127.0.0.1:{port}{base}"
                else:
                    command = [args.prism, "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]
                    url = f"http://127.0.0.1:{port}"
                proc = start(command, url, work / f"{name}.log")
                try:
                    started = time.monotonic()
                    counts, totals = schemathesis(name, spec, url, args, work)
                    results[name] = (counts, totals, time.monotonic() - started)
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
            print(f"\n{spec.name}")
            checks = sorted({c for counts, _, _ in results.values() for c in counts})
            print(f"  {'unique failures':<48}{'lam':>6}{'prism':>7}")
            for check in checks:
                row = [results[n][0].get(check, 0) for n in ("lam", "prism")]
                print(f"  {check:<48}{row[0]:>6}{row[1]:>7}")
            total = [sum(results[n][0].values()) for n in ("lam", "prism")]
            print(f"  {'total':<48}{total[0]:>6}{total[1]:>7}")
            for name in ("lam", "prism"):
                print(f"  {name}: {results[name][1]} ({results[name][2]:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
