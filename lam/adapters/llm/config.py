"""Which language model lam talks to, read from the environment.

=====================  ===========================================================
``LAM_LLM``            ``openai`` (any OpenAI-compatible server) or ``anthropic``
``LAM_LLM_MODEL``      the model name; default ``gpt-4o-mini`` / ``claude-sonnet-4-5``
``LAM_LLM_BASE_URL``   the server; default ``https://api.openai.com/v1`` (or
                       ``OPENAI_BASE_URL``) / ``https://api.anthropic.com`` (or
                       ``ANTHROPIC_BASE_URL``)
``OPENAI_API_KEY``     the key for OpenAI-compatible servers (local ones need none)
``ANTHROPIC_API_KEY``  the key for Anthropic (required)
``LAM_LLM_TIMEOUT``    seconds per request, default 60
``LAM_LLM_MODE``       ``tools`` (default) or ``json_schema`` for OpenAI-compatible
                       servers without tool calling (``response_format``)
=====================  ===========================================================

The key is held out of ``repr`` so it never reaches a log or an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from lam.errors import UsageError

__all__ = ["DEFAULTS", "LlmConfig", "Mode", "Provider", "config_from_env"]

Provider = Literal["openai", "anthropic"]
Mode = Literal["tools", "json_schema"]

DEFAULTS: Mapping[str, Mapping[str, str]] = {
    "openai": {"base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini"},
    "anthropic": {"base_url": "https://api.anthropic.com", "model": "claude-sonnet-4-5"},
}
"""Each provider's documented API root and a model lam picks when none is named."""

_KEY_VARS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
_BASE_VARS = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}


@dataclass(frozen=True)
class LlmConfig:
    """Where and how to reach a model. Build it by hand or with :func:`config_from_env`."""

    provider: Provider
    model: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    mode: Mode = "tools"
    max_tokens: int = 4096
    max_retry_wait: float = 30.0  # longest Retry-After lam waits out before giving up

    def redact(self, text: str) -> str:
        """``text`` with the key (should a server echo it) replaced by ``***``."""
        return text.replace(self.api_key, "***") if self.api_key else text


def config_from_env(env: Mapping[str, str] | None = None) -> LlmConfig:
    """The configuration the environment describes; a bad value is a :class:`UsageError`."""
    env = os.environ if env is None else env
    provider = (env.get("LAM_LLM") or "openai").strip().lower()
    if provider not in DEFAULTS:
        raise UsageError(
            f"LAM_LLM must be openai or anthropic, got {provider!r}", location="LAM_LLM"
        )
    defaults = DEFAULTS[provider]
    base_url = (
        env.get("LAM_LLM_BASE_URL") or env.get(_BASE_VARS[provider]) or defaults["base_url"]
    ).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise UsageError(
            f"the model's base URL must start with http:// or https://, got {base_url!r}",
            location="LAM_LLM_BASE_URL",
        )
    key = env.get(_KEY_VARS[provider]) or None
    if key is None and base_url == defaults["base_url"]:
        raise UsageError(
            f"{_KEY_VARS[provider]} is not set (needed for {base_url})",
            location=_KEY_VARS[provider],
            code="no-key",
        )
    mode = (env.get("LAM_LLM_MODE") or "tools").strip().lower()
    if mode not in ("tools", "json_schema"):
        raise UsageError(
            f"LAM_LLM_MODE must be tools or json_schema, got {mode!r}", location="LAM_LLM_MODE"
        )
    if mode == "json_schema" and provider == "anthropic":
        raise UsageError(
            "LAM_LLM_MODE=json_schema is for OpenAI-compatible servers only",
            location="LAM_LLM_MODE",
        )
    return LlmConfig(
        provider=provider,  # type: ignore[arg-type]
        model=env.get("LAM_LLM_MODEL") or defaults["model"],
        base_url=base_url,
        api_key=key,
        timeout=_seconds(env.get("LAM_LLM_TIMEOUT"), "LAM_LLM_TIMEOUT", 60.0),
        mode=mode,  # type: ignore[arg-type]
    )


def _seconds(value: str | None, name: str, default: float) -> float:
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UsageError(
            f"{name} must be a positive number of seconds, got {value!r}", location=name
        )
    return seconds
