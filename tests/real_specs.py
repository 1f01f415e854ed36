"""Real third-party OpenAPI specs for the tests that need them, shipped in the repository.

They live compressed in ``tests/data/specs/real/`` (their sources and licences are in the
``NOTICE.md`` there); :func:`real_spec` gives the path of the plain file, unpacked once into the
temporary directory and checked against the digest below, so a fresh clone runs these tests
with nothing to fetch and nothing to skip.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import tempfile
from pathlib import Path

__all__ = ["REAL_SPECS", "SHIPPED", "real_spec"]

SHIPPED = Path(__file__).parent / "data" / "specs" / "real"

REAL_SPECS = {  # file name -> sha256 of the unpacked bytes, as published upstream
    "github_api.github.com.json": "829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a",
    "stripe_spec3_2023-09-12.yaml": "eed9ac08a03a5374caa994362bfa080ae87ee75f0a3dc76f9d48b19c705b50bb",
    "restbench_spotify_oas.json": "7cfaf223ea373d8aa7429e6d62d9085b4678617556865cf23496ab2c4bf44c54",
    "restbench_tmdb_oas.json": "6e5a3c4ebdf2e3deeada3331ad65c7b802b0aeb58c6167704db700be49b00017",
    "petstore_v3.openapi.yaml": "7c1315ff7d191c2470e1f5fc9c9f7de1c7aacd162f24eaaf0174f88e1b7d9b1d",
}


def real_spec(name: str) -> Path:
    """The unpacked spec ``name`` (a key of :data:`REAL_SPECS`)."""
    digest = REAL_SPECS[name]
    target = Path(tempfile.gettempdir()) / f"lam-real-specs-{digest[:16]}" / name
    if target.is_file():
        return target
    data = lzma.decompress((SHIPPED / f"{name}.xz").read_bytes())
    found = hashlib.sha256(data).hexdigest()
    if found != digest:
        raise AssertionError(f"{name}.xz unpacks to sha256 {found}, expected {digest}")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f"{name}.{os.getpid()}.part")
    part.write_bytes(data)
    part.replace(target)  # whole or absent, also when two test processes unpack at once
    return target
