"""The spec cache: hits, misses, stale and corrupt entries, atomic writes, check_spec caching."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lam.spec.check
import lam.spec.loader
from lam.spec import check_spec, load_spec
from lam.spec.cache import cache_dir, read_entry, write_entry

DATA = Path(__file__).resolve().parent / "data" / "specs"
PETSTORE = Path(__file__).resolve().parent.parent / "specs" / "petstore.yaml"


@pytest.fixture(autouse=True)
def _fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(lam.spec.loader, "_LOADED", {})
    return tmp_path / "cache"


def _entries() -> list[Path]:
    return sorted(cache_dir().glob("*.doc")) if cache_dir().exists() else []


def test_cache_dir_honours_env(tmp_path: Path) -> None:
    assert cache_dir() == tmp_path / "cache" / "specs"


def test_round_trip_and_missing_entry() -> None:
    assert read_entry("abc", "doc") is None
    write_entry("abc", "doc", {"a": [1, 2.5, "x", None, True]})
    assert read_entry("abc", "doc") == {"a": [1, 2.5, "x", None, True]}
    assert not list(cache_dir().glob(".tmp-*"))  # the temporary file was renamed away


def test_miss_writes_an_entry_and_hit_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_spec(PETSTORE)
    assert [p.name for p in _entries()] == [f"{first.content_hash}.v1.doc"]
    monkeypatch.setattr(lam.spec.loader, "_LOADED", {})

    def no_parse(*args: object, **kwargs: object) -> object:
        raise AssertionError("a cache hit must not parse the file again")

    monkeypatch.setattr(lam.spec.loader, "parse_source", no_parse)
    second = load_spec(PETSTORE)
    assert second is not first
    assert [op.key for op in second.operations] == [op.key for op in first.operations]


def test_same_process_load_is_memoised() -> None:
    assert load_spec(PETSTORE) is load_spec(PETSTORE)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # torn write
        lambda data: data[:-10] + b"0123456789",  # flipped payload
        lambda data: b"garbage",  # foreign file
        lambda data: b"",
    ],
)
def test_corrupt_entry_is_ignored_and_rewritten(damage: object) -> None:
    spec = load_spec(PETSTORE)
    (entry,) = _entries()
    good = entry.read_bytes()
    entry.write_bytes(damage(good))  # type: ignore[operator]
    lam.spec.loader._LOADED.clear()
    again = load_spec(PETSTORE)
    assert again.content_hash == spec.content_hash
    assert len(again.operations) == 18
    assert entry.read_bytes() == good


def test_changed_file_gets_a_new_entry(tmp_path: Path) -> None:
    copy = tmp_path / "petstore.yaml"
    shutil.copy(PETSTORE, copy)
    first = load_spec(copy)
    copy.write_text(PETSTORE.read_text().replace("title: lam petstore", "title: changed"))
    second = load_spec(copy)
    assert second.title == "changed"
    assert second.content_hash != first.content_hash
    assert len(_entries()) == 2


def test_stale_entry_when_a_referenced_file_changes(tmp_path: Path) -> None:
    split = tmp_path / "split"
    shutil.copytree(DATA / "split", split)
    first = load_spec(split / "main.yaml")
    assert first.operation("getItem").parameters[0].schema["format"] == "int32"
    common = split / "common.yaml"
    common.write_text(common.read_text().replace("format: int32", "format: int64"))
    lam.spec.loader._LOADED.clear()
    second = load_spec(split / "main.yaml")
    assert second.operation("getItem").parameters[0].schema["format"] == "int64"


def test_unwritable_cache_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LAM_CACHE_DIR", str(blocker))
    assert len(load_spec(PETSTORE).operations) == 18


def test_check_spec_runs_once_per_content(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_spec(PETSTORE) == []
    calls: list[object] = []
    real = lam.spec.check._validate

    def counting(document: object, openapi: str) -> object:
        calls.append(document)
        return real(document, openapi)  # type: ignore[arg-type]

    monkeypatch.setattr(lam.spec.check, "_validate", counting)
    assert check_spec(PETSTORE) == []
    assert calls == []


def test_check_spec_reports_problems(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {version: '1'}\npaths:\n  /a:\n    get:\n"
        "      responses: {'200': {content: {}}}\n"
    )
    problems = check_spec(spec)
    locations = {p.location for p in problems}
    assert "info" in locations  # title is missing
    assert any(loc.startswith("paths./a.get.responses") for loc in locations)
    assert check_spec(spec) == problems  # the cached answer is the same


def test_check_spec_turns_load_errors_into_problems() -> None:
    problems = check_spec(DATA / "cycle.yaml")
    assert len(problems) == 1
    assert "cycle" in problems[0].message


def test_warm_load_in_a_new_process(tmp_path: Path) -> None:
    code = (
        "import time, sys; from lam.spec import load_spec; t = time.perf_counter(); "
        f"s = load_spec({str(PETSTORE)!r}); print(len(s.operations))"
    )
    env_cmd = [sys.executable, "-c", code]
    for _ in range(2):  # the first run writes the entry, the second reads it
        out = subprocess.run(env_cmd, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "18"
    assert len(_entries()) == 1
