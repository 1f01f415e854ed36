"""The project's own docs hold its contracts: every key of the plan and policy JSON Schemas is
documented in its format page, every exit code in docs/exit-codes.md, and nothing a user reads
or runs points outside the repository."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import lam.errors
from lam.documents import schema

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FORMAT_PAGES = {"plan": DOCS / "plan-format.md", "policy": DOCS / "policy-format.md"}
OUTSIDE = "../" + "shared"  # written so that this file does not name it


def property_names(node: Any) -> Iterator[tuple[str, str]]:
    """Every property name a schema defines, with where it is defined (for the message)."""

    def walk(value: Any, where: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, Mapping):
            for name in value.get("properties") or {}:
                yield name, f"{where}.properties.{name}"
            for key, sub in value.items():
                yield from walk(sub, f"{where}.{key}")
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                yield from walk(sub, f"{where}[{index}]")

    yield from walk(node, "#")


def documented_keys(page: Path) -> set[str]:
    """Names a page documents: each in backticks, alone or as a table's first column."""
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", sorted(FORMAT_PAGES))
def test_every_schema_property_is_documented(name: str) -> None:
    page = FORMAT_PAGES[name]
    documented = documented_keys(page)
    missing = sorted({f"{key} ({where})" for key, where in property_names(schema(name))
                      if key not in documented})  # fmt: skip
    assert missing == [], f"{page.name} does not document: {missing}"


@pytest.mark.parametrize("name", sorted(FORMAT_PAGES))
def test_the_format_pages_name_their_schema(name: str) -> None:
    text = FORMAT_PAGES[name].read_text(encoding="utf-8")
    assert f"lam/schemas/{name}.schema.json" in text and f"lam schema {name}" in text


def test_the_walk_finds_nested_properties() -> None:
    """The check above would pass vacuously if the walk missed nested definitions."""
    found = {key for key, _ in property_names(schema("plan"))}
    assert {"lam", "spec", "secret", "fingerprint", "no_text", "timeout"} <= found
    found = {key for key, _ in property_names(schema("policy"))}
    assert {"defaults", "destructive", "ui_text", "kind", "note"} <= found


def test_every_exit_code_is_documented() -> None:
    codes = {
        name: value
        for name, value in vars(lam.errors).items()
        if name.startswith("EXIT_") and isinstance(value, int)
    }
    assert len(codes) >= 5
    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    rows = {int(m[0]): m[1] for m in re.findall(r"^\| (\d+) \| `(EXIT_[A-Z]+)` \|", text, re.M)}
    assert rows == {value: name for name, value in codes.items()}


def test_every_error_class_exit_code_is_a_documented_one() -> None:
    documented = {v for k, v in vars(lam.errors).items() if k.startswith("EXIT_")}
    classes = [c for c in vars(lam.errors).values()
               if isinstance(c, type) and issubclass(c, lam.errors.LamError)]  # fmt: skip
    assert classes and {c.exit_code for c in classes} <= documented


def _user_files() -> Iterator[Path]:
    yield ROOT / "README.md"
    for folder in ("docs", "tests", "examples"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".md", ".py", ".yaml", ".yml", ".json", ".txt"):
                yield path


def test_nothing_points_outside_the_repository() -> None:
    """A user has only the repository: no doc, example or test may rely on a folder beside it."""
    outside = re.compile(re.escape(OUTSIDE) + "|" + r"parents\[2\]|ROOT\.parent\b")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _user_files()
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        )
        if outside.search(line)
    ]
    assert found == []


def test_the_readme_points_to_the_reference_pages() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("plan-format.md", "policy-format.md", "exit-codes.md", "risk.md", "records.md"):
        assert f"docs/{page}" in readme, page
        assert (DOCS / page).is_file(), page


def _first_yaml_block(page: Path) -> Any:
    import yaml

    text = page.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])


def test_the_examples_on_the_format_pages_are_valid() -> None:
    from jsonschema import Draft202012Validator

    from lam.policy import policy_from_data

    plan = _first_yaml_block(FORMAT_PAGES["plan"])
    assert list(Draft202012Validator(schema("plan")).iter_errors(plan)) == []
    policy = _first_yaml_block(FORMAT_PAGES["policy"])
    assert list(Draft202012Validator(schema("policy")).iter_errors(policy)) == []
    assert len(policy_from_data(policy).rules) == 3
