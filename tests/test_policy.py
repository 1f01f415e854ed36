"""The operator's policy: loading, every rule kind, first-match order, defaults, hosts, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lam.errors import PolicyError
from lam.policy import (
    ActionFacts,
    Policy,
    Rule,
    default_policy,
    find_project_policy,
    load_policy,
    policy_from_data,
)
from lam.types import Risk, Verdict

DESIGN_EXAMPLE = """\
defaults: {read: allow, write: allow, destructive: approve}
hosts: [127.0.0.1, localhost, "*.staging.example.com"]
rules:
  - match: {api: petstore, operation: deletePet}
    verdict: allow
  - match: {method: DELETE, path: "/admin/**"}
    verdict: deny
  - match: {ui_text: "Close account"}
    verdict: deny
"""


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def api(risk: Risk = Risk.READ, **facts: str) -> ActionFacts:
    return ActionFacts(kind="api", risk=risk, **facts)  # type: ignore[arg-type]


def test_default_policy_verdicts() -> None:
    policy = default_policy()
    assert policy.decide(api(Risk.READ)).verdict is Verdict.ALLOW
    assert policy.decide(api(Risk.WRITE)).verdict is Verdict.ALLOW
    found = policy.decide(api(Risk.DESTRUCTIVE))
    assert found.verdict is Verdict.APPROVE
    assert found.reasons == ("no rule matched; lam's default for destructive is approve",)


def test_design_example_loads_and_decides(tmp_path: Path) -> None:
    path = write(tmp_path, DESIGN_EXAMPLE)
    policy = load_policy(path)
    assert len(policy.rules) == 3
    delete_pet = api(Risk.DESTRUCTIVE, api="petstore", operation="deletePet", method="DELETE")
    decided = policy.decide(delete_pet)
    assert decided.verdict is Verdict.ALLOW
    assert decided.reasons == (
        f"rules[0] (api: petstore, operation: deletePet) of {path} says allow",
    )
    admin = ActionFacts(
        kind="request", risk=Risk.DESTRUCTIVE, method="delete", path="/admin/users/3"
    )
    assert policy.decide(admin).verdict is Verdict.DENY
    close = ActionFacts(kind="ui", risk=Risk.DESTRUCTIVE, ui_text="  close   ACCOUNT now")
    assert policy.decide(close).verdict is Verdict.DENY
    other = api(Risk.DESTRUCTIVE, api="petstore", operation="deleteUser")
    assert policy.decide(other).reasons == (
        f"no rule matched; the default of {path} for destructive is approve",
    )


def test_first_matching_rule_wins() -> None:
    policy = policy_from_data(
        {"rules": [
            {"match": {"method": "DELETE"}, "verdict": "deny", "note": "no deletes"},
            {"match": {"method": "DELETE", "path": "/pets/*"}, "verdict": "allow"},
        ]}
    )  # fmt: skip
    found = policy.decide(api(Risk.DESTRUCTIVE, method="DELETE", path="/pets/1"))
    assert found.verdict is Verdict.DENY
    assert found.reasons == ("rules[0] (method: DELETE) says deny (no deletes)",)


def test_all_match_keys_must_hold() -> None:
    policy = policy_from_data(
        {"rules": [{"match": {"api": "shop", "method": "POST"}, "verdict": "deny"}]}
    )
    assert policy.decide(api(Risk.WRITE, api="shop", method="POST")).verdict is Verdict.DENY
    assert policy.decide(api(Risk.WRITE, api="shop", method="PUT")).verdict is Verdict.ALLOW
    assert policy.decide(api(Risk.WRITE, api="bank", method="POST")).verdict is Verdict.ALLOW


def test_an_allow_rule_holds_only_for_every_reading_of_the_path() -> None:
    # a loosening rule must not be reached through a path a server reads differently
    policy = policy_from_data({"rules": [{"match": {"path": "/pets/**"}, "verdict": "allow"}]})
    assert policy.decide(api(Risk.DESTRUCTIVE, path="/pets/3")).verdict is Verdict.ALLOW
    for sneaky in ("/pets/../admin/x", "/pets/%2E%2E/admin", "/Pets/3", "/pets/..%2F..%2Fx"):
        assert policy.decide(api(Risk.DESTRUCTIVE, path=sneaky)).verdict is Verdict.APPROVE, sneaky


def test_a_fact_the_action_lacks_does_not_match() -> None:
    policy = policy_from_data({"rules": [{"match": {"path": "/**"}, "verdict": "deny"}]})
    ui = ActionFacts(kind="ui", risk=Risk.WRITE, ui_text="Save")
    assert policy.decide(ui).verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    ("glob", "path", "hit"),
    [
        ("/admin/**", "/admin", True),
        ("/admin/**", "/admin/users/3/roles", True),
        ("/admin/**", "/administrator", False),
        ("/pets/*", "/pets/7", True),
        ("/pets/*", "/pets/7/photos", False),
        ("/pets/*/photos", "/pets/7/photos", True),
        ("/pets/{petId}", "/pets/{petId}", True),
        ("/v?/pets", "/v3/pets", True),
        ("/v[12]/pets", "/v3/pets", False),
        ("/v[!1]/pets", "/v3/pets", True),
        ("**/delete", "/pets/3/delete", True),
        ("/pets/*", "/pets/7?x=1", True),
        # issue 9: servers decode, merge slashes, resolve dots and fold case before routing
        ("/admin/**", "/%61dmin/users/3", True),
        ("/admin/**", "/%2561dmin/users/3", True),
        ("/admin/**", "/Admin/users/4", True),
        ("/admin/**", "//admin/users/5", True),
        ("/admin/**", "/./admin/x", True),
        ("/admin/**", "/a/../admin/x", True),
        ("/admin/**", "/a/%2E%2E/admin/x", True),
        ("/admin/**", "/a/..%2Fadmin/x", True),
        ("/admin/**", "/admin;jsessionid=1/x", True),
        ("/admin/**", "\\admin\\x", True),
        ("/admin/**", "/admin-tools/x", False),
        ("/pets/*", "/pets/a%2Fb", True),  # as sent it is one segment: a deny holds
    ],
)
def test_path_globs(glob: str, path: str, hit: bool) -> None:
    policy = policy_from_data({"rules": [{"match": {"path": glob}, "verdict": "deny"}]})
    found = policy.decide(api(Risk.READ, path=path)).verdict
    assert (found is Verdict.DENY) is hit


@pytest.mark.parametrize(
    ("glob", "host", "hit"),
    [
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "a.b.example.com", False),
        ("**.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("API.Example.com", "api.example.com:8443", True),
        ("127.0.0.1:8080", "127.0.0.1:8080", True),
        ("127.0.0.1:8080", "127.0.0.1:9090", False),
        ("[::1]", "[::1]:8080", True),
    ],
)
def test_host_rules(glob: str, host: str, hit: bool) -> None:
    policy = policy_from_data({"rules": [{"match": {"host": glob}, "verdict": "deny"}]})
    assert (policy.decide(api(Risk.READ, host=host)).verdict is Verdict.DENY) is hit


@pytest.mark.parametrize(
    ("pattern", "text", "hit"),
    [
        ("Close account", "Close Account", True),
        ("close account", "Yes, close account", True),
        ("Delete*", "delete repository", True),
        ("Delete*", "Undo delete", False),
        ("Pay", "Repayment plan", True),  # substrings: the operator chose a short word
    ],
)
def test_ui_text_rules(pattern: str, text: str, hit: bool) -> None:
    policy = policy_from_data({"rules": [{"match": {"ui_text": pattern}, "verdict": "deny"}]})
    ui = ActionFacts(kind="ui", risk=Risk.WRITE, ui_text=text)
    assert (policy.decide(ui).verdict is Verdict.DENY) is hit


def test_method_risk_kind_and_operation_key_rules() -> None:
    policy = policy_from_data(
        {"rules": [
            {"match": {"method": ["put", "PATCH"]}, "verdict": "approve"},
            {"match": {"risk": ["destructive"], "kind": "request"}, "verdict": "deny"},
            {"match": {"operation": "delete /pets/{petId}"}, "verdict": "allow"},
            {"match": {"risk": "write"}, "verdict": "deny"},
        ]}
    )  # fmt: skip
    assert policy.decide(api(Risk.WRITE, method="patch")).verdict is Verdict.APPROVE
    request = ActionFacts(kind="request", risk=Risk.DESTRUCTIVE, method="POST")
    assert policy.decide(request).verdict is Verdict.DENY
    op = api(Risk.DESTRUCTIVE, operation="DELETE /pets/{petId}")
    assert policy.decide(op).verdict is Verdict.ALLOW
    assert policy.decide(api(Risk.WRITE, method="POST")).verdict is Verdict.DENY
    by_id = api(Risk.DESTRUCTIVE, operation="deletePet", method="DELETE", path="/pets/{petId}")
    assert policy.decide(by_id).verdict is Verdict.ALLOW


def test_defaults_override_only_what_they_name() -> None:
    policy = policy_from_data({"defaults": {"destructive": "deny"}})
    assert policy.decide(api(Risk.DESTRUCTIVE)).verdict is Verdict.DENY
    assert policy.decide(api(Risk.WRITE)).verdict is Verdict.ALLOW


# --- hosts ---


def test_default_hosts_are_the_declared_ones_only() -> None:
    policy = default_policy()
    declared = ["127.0.0.1:8080", "https://api.example.com/v1"]
    assert policy.host_allowed("127.0.0.1:8080", declared)
    assert policy.host_allowed("api.example.com", declared)
    assert policy.host_allowed("API.example.com:443", ["api.example.com"])
    assert not policy.host_allowed("127.0.0.1:9999", declared)
    assert not policy.host_allowed("localhost:8080", declared)  # localhost is not special
    assert not policy.host_allowed("evil.example.com", declared)
    assert not policy.host_allowed("127.0.0.1", [])
    assert not policy.host_allowed("", declared)


def test_listed_hosts_extend_the_declared_ones() -> None:
    # issue 11: a policy listing a page's CDN must not drop the plan's own app
    policy = policy_from_data({"hosts": ["localhost", "*.staging.example.com"]})
    assert policy.host_allowed("localhost:3000", ["api.example.com"])
    assert policy.host_allowed("shop.staging.example.com", [])
    assert policy.host_allowed("api.example.com", ["api.example.com"])
    assert not policy.host_allowed("127.0.0.1", [])
    assert not policy.host_allowed("evil.example.com", ["api.example.com"])


def test_a_host_deny_rule_restricts_even_the_declared_hosts() -> None:
    policy = policy_from_data(
        {
            "hosts": ["*.cdn.example"],
            "rules": [
                {"match": {"host": "api.example.com"}, "verdict": "deny"},
                {"match": {"host": "img.cdn.example", "method": "POST"}, "verdict": "deny"},
            ],
        }
    )
    assert not policy.host_allowed("api.example.com:443", ["api.example.com:443"])
    assert policy.host_allowed("shop.example.com:443", ["shop.example.com:443"])
    # a rule with more keys than host restricts those actions only, not the host
    assert policy.host_allowed("img.cdn.example", [])


def test_policy_built_directly_compiles_its_rules_and_hosts() -> None:
    policy = Policy(hosts=("*.test",), rules=(Rule(0, {"method": "GET"}, Verdict.DENY),))
    assert policy.host_allowed("a.test", [])
    assert policy.decide(api(Risk.READ, method="GET")).verdict is Verdict.DENY
    with pytest.raises(PolicyError):
        Rule(0, {}, Verdict.DENY)


# --- project config ---


def test_find_project_policy_walks_up_to_the_project_root(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".lam").mkdir()
    policy = project / ".lam" / "policy.yaml"
    policy.write_text("rules: []\n", encoding="utf-8")
    deep = project / "plans" / "shop"
    deep.mkdir(parents=True)
    (deep / "plan.yaml").write_text("lam: 1\n", encoding="utf-8")
    assert find_project_policy(deep) == policy
    assert find_project_policy(deep / "plan.yaml") == policy
    assert find_project_policy(project) == policy


def test_find_project_policy_stops_at_the_project_root(tmp_path: Path) -> None:
    (tmp_path / ".lam").mkdir()
    (tmp_path / ".lam" / "policy.yaml").write_text("{}\n", encoding="utf-8")
    inner = tmp_path / "inner"
    (inner / ".git").mkdir(parents=True)
    assert find_project_policy(inner) is None
    # a parent that is no project root is not searched (tests/test_policy_discovery.py)
    assert find_project_policy(tmp_path / "elsewhere") is None


# --- bad input ---


@pytest.mark.parametrize(
    ("text", "location", "words"),
    [
        ("rules: [\n", "line 2, column 1", "invalid YAML"),
        ("- allow\n", "(top level)", "must be a mapping"),
        ("", "(top level)", "got empty"),
        ("defaults: {read: allow}\nextra: 1\n", "(top level)", "unknown key 'extra'"),
        ("defaults: {read: yes}\n", "defaults.read", "is not one of"),
        ("defaults: {scary: deny}\n", "defaults", "unknown key 'scary'"),
        ("rules:\n  - match: {method: GET}\n    verdict: alow\n", "rules[0].verdict", "'alow'"),
        ("rules:\n  - match: {metod: GET}\n    verdict: deny\n", "rules[0].match", "'metod'"),
        ("rules:\n  - verdict: deny\n", "rules[0]", "'match' is required"),
        ("rules:\n  - match: {}\n    verdict: deny\n", "rules[0].match", "should be non-empty"),
        ("rules:\n  - match: {path: '/a/[b'}\n    verdict: deny\n", "rules[0].match.path", "never closed"),
        ("rules:\n  - match: {path: 'admin/**'}\n    verdict: deny\n", "rules[0].match.path", "starts with '/'"),
        ("rules:\n  - match: {path: '/a/***'}\n    verdict: deny\n", "rules[0].match.path", "'***'"),
        ("rules:\n  - match: {host: 'a b'}\n    verdict: deny\n", "rules[0].match.host", "bad host glob"),
        ("hosts: ['h:port']\n", "hosts[0]", "not a number"),
        ("hosts: [1]\n", "hosts[0]", "expected string"),
        ("rules:\n  - match: {ui_text: '[x'}\n    verdict: deny\n", "rules[0].match.ui_text", "never closed"),
        ("rules:\n  - match: {method: 'GE T'}\n    verdict: deny\n", "rules[0].match.method", ""),
        ("rules:\n  - match: {risk: huge}\n    verdict: deny\n", "rules[0].match.risk", ""),
        ("defaults: {1: allow}\n", "defaults", "key 1 is not a string"),
        ("a: 1\na: 2\n", "line 2, column 1", "duplicate key"),
    ],
)  # fmt: skip
def test_bad_policies_name_file_and_place(
    tmp_path: Path, text: str, location: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    err = info.value
    assert err.file == str(path)
    assert err.location == location
    assert words in err.message
    assert err.exit_code == 2


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "nope.yaml")
    assert info.value.code == "not-found"


def test_json_policy(tmp_path: Path) -> None:
    path = write(tmp_path, '{"rules": [{"match": {"api": "x"}, "verdict": "deny"}]}', "p.json")
    assert load_policy(path).rules[0].verdict is Verdict.DENY
