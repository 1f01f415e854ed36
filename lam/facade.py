"""The functional API behind ``lam.validate``, ``lam.run`` and friends (filled in below)."""

from __future__ import annotations

from pathlib import Path

from lam.policy import Policy

__all__ = ["resolve_policy"]


def resolve_policy(policy: Policy | str | Path | None) -> Policy:
    """A policy object as given; a policy file loaded; None: the operator's policy (the
    project's, found from the working directory, else lam's defaults), as the CLI finds it."""
    if isinstance(policy, Policy):
        return policy
    from lam.policy_source import operator_policy

    found, _source = operator_policy(Path(policy) if policy is not None else None, Path.cwd())
    return found
