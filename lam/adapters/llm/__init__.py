"""Language-model action models: OpenAI-compatible chat and Anthropic Messages backends.

Importing this package does no work: a backend is built only when
:class:`~lam.adapters.llm.model.LlmActionModel` is, from :func:`config_from_env` or by hand.
"""

from __future__ import annotations

from lam.adapters.llm.anthropic_messages import AnthropicMessages
from lam.adapters.llm.config import LlmConfig, config_from_env
from lam.adapters.llm.model import LlmActionModel, backend_for, tool_spec
from lam.adapters.llm.openai_chat import OpenAIChat
from lam.adapters.llm.wire import LlmBackend, LlmError, ToolAnswer, ToolSpec, Turn

__all__ = [
    "AnthropicMessages",
    "LlmActionModel",
    "LlmBackend",
    "LlmConfig",
    "LlmError",
    "OpenAIChat",
    "ToolAnswer",
    "ToolSpec",
    "Turn",
    "backend_for",
    "config_from_env",
    "tool_spec",
]
