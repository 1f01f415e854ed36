"""Property tests: whatever document load_policy is fed, it returns a Policy or raises
PolicyError, never anything else; and decisions on any loaded policy are total."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lam.errors import PolicyError
from lam.policy import ActionFacts, Policy, load_policy, policy_from_data
from lam.types import Decision, Risk

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["allow", "approve", "deny", "read", "write", "destructive", "GET",
                     "DELETE", "/admin/**", "*.example.com", "[", "/a/***", "h:80", "**"]),
)  # fmt: skip
keys = st.one_of(
    st.sampled_from(["defaults", "hosts", "rules", "match", "verdict", "note", "api",
                     "operation", "method", "path", "host", "ui_text", "risk", "kind",
                     "read", "write", "destructive"]),
    st.text(max_size=6),
    st.integers(),
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)
verdicts = st.sampled_from(["allow", "approve", "deny", "maybe"])
match_values = st.one_of(
    st.sampled_from(["petstore", "deletePet", "DELETE", "/admin/**", "/pets/*", "[x",
                     "*.example.com", "Close account", "destructive", "ui"]),
    st.lists(st.sampled_from(["GET", "post", "read", "write"]), max_size=3),
    scalars,
)  # fmt: skip
rules = st.fixed_dictionaries(
    {"match": st.dictionaries(keys, match_values, max_size=4), "verdict": verdicts}
)
policy_like = st.fixed_dictionaries(
    {},
    optional={
        "defaults": st.dictionaries(st.sampled_from(["read", "write", "destructive", "x"]), verdicts),
        "hosts": st.lists(st.one_of(st.text(max_size=15), st.sampled_from(["*.a.com", "h:1", "[::1]"]))),
        "rules": st.lists(rules, max_size=4),
    },
)  # fmt: skip
actions = st.builds(
    ActionFacts,
    kind=st.sampled_from(["api", "ui", "request"]),
    risk=st.sampled_from(list(Risk)),
    api=st.none() | st.text(max_size=8),
    operation=st.none() | st.text(max_size=12),
    method=st.none() | st.sampled_from(["GET", "delete", "PATCH"]),
    path=st.none() | st.text(max_size=20),
    host=st.none() | st.text(max_size=20),
    ui_text=st.none() | st.text(max_size=20),
)


def _load(tmp: Path, data: Any, as_json: bool) -> Policy:
    path = tmp / ("p.json" if as_json else "p.yaml")
    text = json.dumps(data) if as_json else yaml.safe_dump(data)
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=documents, as_json=st.booleans())
def test_any_document_loads_or_raises_policy_error(
    tmp_path: Path, data: Any, as_json: bool
) -> None:
    if as_json and isinstance(data, dict) and any(not isinstance(k, str) for k in data):
        as_json = False  # JSON would turn the keys into strings
    try:
        policy = _load(tmp_path, data, as_json)
    except PolicyError as exc:
        assert exc.file is not None
        assert exc.message
    else:
        assert isinstance(policy, Policy)


@settings(max_examples=300, deadline=None)
@given(data=policy_like, action=actions, host=st.text(max_size=20))
def test_policy_like_mappings_load_or_raise_and_decide_totally(
    data: dict[str, Any], action: ActionFacts, host: str
) -> None:
    try:
        policy = policy_from_data(data, file="p.yaml")
    except PolicyError as exc:
        assert exc.file == "p.yaml"
        return
    decided = policy.decide(action)
    assert isinstance(decided, Decision)
    assert decided.reasons
    assert isinstance(policy.host_allowed(host, ["127.0.0.1", host]), bool)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=60))
def test_any_text_file_loads_or_raises_policy_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(PolicyError):
        load_policy(path)
