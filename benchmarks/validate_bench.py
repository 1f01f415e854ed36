"""Spec loading and per-call checks on GitHub's REST spec: lam against plain openapi-core.

Run: ``.venv/bin/python benchmarks/validate_bench.py [--calls 300] [--spec FILE]``

Measures, in one run and on one machine:

* lam's ``load_spec`` cold (fresh cache dir, new process) and warm (new process, cache filled),
  each until the first validator is compiled ("ready to validate");
* openapi-core's ``OpenAPI.from_file_path`` (its default load, which validates the spec);
* one API call checked: lam's ``check_call`` and openapi-core's ``validate_request`` over the
  same few hundred real operations with plausible parameters and bodies (median and p95,
  after one warm-up pass each).

The spec is the copy the tests use (tests/data/specs/real/, unpacked), else it is fetched
with ``npm pack @octokit/openapi@23.0.2``. Figures are printed as ratios against openapi-core.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import lzma
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "tests" / "data" / "specs" / "real" / "github_api.github.com.json.xz"
NPM_PACKAGE = "@octokit/openapi@23.0.2"


def find_spec(tmp: Path) -> Path:
    if SHIPPED.exists():  # the copy the tests use (tests/data/specs/real/NOTICE.md)
        plain = tmp / "api.github.com.json"
        plain.write_bytes(lzma.decompress(SHIPPED.read_bytes()))
        return plain
    subprocess.run(["npm", "pack", NPM_PACKAGE], cwd=tmp, check=True, capture_output=True)
    (tarball,) = tmp.glob("*.tgz")
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp / "pkg", filter="data")
    found = sorted((tmp / "pkg").rglob("api.github.com.json"), key=lambda p: len(str(p)))
    if not found:
        raise SystemExit(f"no api.github.com.json in {NPM_PACKAGE}")
    return found[0]


# ----------------------------------------------------------------------------- sample calls


def sample(spec: Any, schema: Any, depth: int = 0) -> Any:
    """A plausible value for a schema: its example, default, first enum value, or by type."""
    schema = spec.resolve(schema) if isinstance(schema, dict) else {}
    if not isinstance(schema, dict):
        return "x"
    for key in ("example", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("allOf", "oneOf", "anyOf"):
        if schema.get(key):
            return sample(spec, schema[key][0], depth + 1)
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample(spec, schema.get("items", {}), depth + 1)] if depth < 4 else []
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            name: sample(spec, props.get(name, {}), depth + 1)
            for name in schema.get("required", [])
            if depth < 6
        }
    fmt = schema.get("format")
    return {
        "date-time": "2026-01-02T03:04:05Z",
        "date": "2026-01-02",
        "email": "octo@example.org",
        "uri": "https://example.org/x",
        "uuid": "123e4567-e89b-12d3-a456-426614174000",
    }.get(str(fmt), "octo")


def sample_calls(spec: Any, count: int) -> list[dict[str, Any]]:
    """Up to ``count`` operations spread over the spec, with their params and body."""
    ops = spec.operations
    step = max(1, len(ops) // count)
    calls = []
    for op in ops[::step][:count]:
        params = {
            p.name: sample(spec, p.schema)
            for p in op.parameters
            if p.required or p.location == "query"
        }
        body: Any = None
        media = None
        chosen = op.request_schema()
        if chosen is not None and "json" in chosen[0]:
            media, schema = chosen
            body = sample(spec, schema)
        calls.append({"op": op, "params": params, "body": body, "media": media})
    return calls


def timings(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered) * 1e3,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1e3,
    }


# ----------------------------------------------------------------------------- children


def child_lam(path: str, calls: int) -> dict[str, Any]:
    started = time.perf_counter()
    from lam.api_checks import NO_BODY, check_call
    from lam.spec import load_spec

    imported = time.perf_counter()
    spec = load_spec(path)
    first = spec.operation("issues/create").request_schema()
    assert first is not None
    spec.validator(first[1])
    ready = time.perf_counter()
    out: dict[str, Any] = {"import_s": imported - started, "load_s": ready - imported}
    if calls:
        batch = sample_calls(spec, calls)
        flagged: dict[str, str] = {}  # op -> lam's first problem
        for call in batch:  # warm-up: compile validators once
            body = NO_BODY if call["media"] is None else call["body"]
            found = check_call(spec, call["op"], params=call["params"], body=body,
                               content_type=call["media"])  # fmt: skip
            if found:
                flagged[call["op"].key] = f"{found[0].location}: {found[0].message}"
        samples = []
        for call in batch:
            body = NO_BODY if call["media"] is None else call["body"]
            t0 = time.perf_counter()
            check_call(spec, call["op"], params=call["params"], body=body,
                       content_type=call["media"])  # fmt: skip
            samples.append(time.perf_counter() - t0)
        out |= timings(samples) | {"calls": len(batch), "flagged": flagged}
    return out


def child_core(path: str, calls: int) -> dict[str, Any]:
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest

    from lam.spec import load_spec

    t0 = time.perf_counter()
    api = OpenAPI.from_file_path(path)
    out: dict[str, Any] = {"load_s": time.perf_counter() - t0}
    batch = sample_calls(load_spec(path), calls)
    requests = []
    for call in batch:
        op = call["op"]
        url = op.path
        query, headers = {}, {}
        for p in op.parameters:
            if p.name not in call["params"]:
                continue
            value = call["params"][p.name]
            if p.location == "path":
                url = url.replace("{" + p.name + "}", str(value))
            elif p.location == "query":
                query[p.name] = value if isinstance(value, list) else str(value)
            elif p.location == "header":
                headers[p.name] = str(value)
        data = json.dumps(call["body"]).encode() if call["media"] else None
        requests.append(
            MockRequest(
                "https://api.github.com", op.method.lower(), url, args=query, headers=headers,
                data=data, content_type=call["media"] or "application/json",
            )
        )  # fmt: skip
    failed: dict[str, str] = {}  # op -> openapi-core's error
    for call, request in zip(batch, requests, strict=True):  # warm-up
        try:
            api.validate_request(request)
        except Exception as exc:  # any validation failure counts the same
            cause = exc.__cause__ or exc.__context__
            said = f"{type(exc).__name__}: {exc}"
            failed[call["op"].key] = f"{said} ({cause})" if cause else said
    samples = []
    for request in requests:
        t0 = time.perf_counter()
        with contextlib.suppress(Exception):  # timing only
            api.validate_request(request)
        samples.append(time.perf_counter() - t0)
    return out | timings(samples) | {"calls": len(requests), "flagged": failed}


def run_child(kind: str, path: Path, calls: int, env: dict[str, str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--spec", str(path), "--calls", str(calls)],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t0
    return result


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: statistics.median(r[key] for r in runs) for key in ("load_s", "process_s")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--spec", help="the GitHub spec file (default: found or fetched)")
    parser.add_argument("--repeat", type=int, default=5, help="lam load runs (median)")
    parser.add_argument("--child", choices=["lam", "core"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fn = child_lam if args.child == "lam" else child_core
        print(json.dumps(fn(args.spec, args.calls)))
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = Path(args.spec) if args.spec else find_spec(tmp)
        print(f"spec: {path} ({path.stat().st_size / 1e6:.1f} MB)")
        colds, warms = [], []
        for i in range(args.repeat):  # lam loads are short: repeat them, report the median
            env = dict(os.environ, LAM_CACHE_DIR=str(tmp / f"cache{i}"))
            colds.append(run_child("lam", path, 0, env))
            warms.append(run_child("lam", path, args.calls if i == 0 else 0, env))
        core = run_child("core", path, args.calls, env)
    cold, warm = _median_run(colds), _median_run(warms)
    warm |= {k: v for k, v in warms[0].items() if k not in cold}
    base_load = core["load_s"]
    rows = [
        ("load, openapi-core from_file_path", base_load, base_load),
        ("load, lam cold (new process, empty cache)", cold["load_s"], base_load),
        ("load, lam warm (new process, cache filled)", warm["load_s"], base_load),
        ("lam process incl. imports, cold", cold["process_s"], base_load),
        ("lam process incl. imports, warm", warm["process_s"], base_load),
    ]
    print(f"\n{'what':48} {'seconds':>10} {'x openapi-core':>15}")
    for name, value, base in rows:
        print(f"{name:48} {value:10.3f} {value / base:15.4f}")
    print(f"(lam: median of {args.repeat} runs each; load average {os.getloadavg()[0]:.1f})")
    print(f"\nper call over {warm['calls']} GitHub operations (after one warm-up pass)")
    print(f"{'what':48} {'median ms':>10} {'p95 ms':>10} {'x core (median)':>16}")
    for name, figures in (("openapi-core validate_request", core), ("lam check_call", warm)):
        ratio = figures["median_ms"] / core["median_ms"]
        print(f"{name:48} {figures['median_ms']:10.3f} {figures['p95_ms']:10.3f} {ratio:16.4f}")
    lam_flagged, core_flagged = warms[0]["flagged"], core["flagged"]
    both = sorted(set(lam_flagged) & set(core_flagged))
    print(f"\ncalls flagged (plausible but synthetic values): lam {len(lam_flagged)}, "
          f"openapi-core {len(core_flagged)}, both {len(both)}")  # fmt: skip
    sides = (("lam", lam_flagged, core_flagged), ("openapi-core", core_flagged, lam_flagged))
    for name, mine, other in sides:
        for key in sorted(set(mine) - set(other)):
            print(f"  only {name}: {key}: {mine[key][:160]}")
    print("why they differ: docs/risk.md, 'Where lam and openapi-core disagree' (a readOnly path "
          "parameter is core-readonly-param); benchmarks/oracle_differential.py checks all calls")  # fmt: skip


if __name__ == "__main__":
    main()
