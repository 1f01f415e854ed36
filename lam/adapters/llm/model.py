"""The LLM action model: prompt files + observation + history in, a validated Proposal out.

:class:`LlmActionModel` renders the goal (trusted, from the user) and the observation (untrusted,
in delimited data blocks, see :mod:`lam.adapters.llm.render`), asks a backend to call one tool
whose arguments are plan steps (the plan JSON Schema's ``step``), and checks the answer: the
tool schema, one action per step, unique ids, declared APIs, then the caller's own validator.
A broken answer gets one repair round-trip with the problems; a second broken one is an
:class:`~lam.adapters.llm.wire.LlmError`. The tool schema has no field for approvals or policy,
so nothing a model says can approve a step: the caller's guard decides as for any plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from string import Template
from typing import Any

from jsonschema import Draft202012Validator

from lam.adapters.llm.anthropic_messages import AnthropicMessages
from lam.adapters.llm.config import LlmConfig, config_from_env
from lam.adapters.llm.openai_chat import OpenAIChat
from lam.adapters.llm.render import (
    render_apis,
    render_history,
    render_memory,
    render_page,
)
from lam.adapters.llm.wire import LlmBackend, LlmError, ToolAnswer, ToolSpec, Turn
from lam.documents import format_path, schema
from lam.memory import MemoryStore
from lam.planner.base import HistoryItem, Observation, Proposal
from lam.plans import API_ACTION, UI_ACTIONS

__all__ = ["TOOL_NAME", "LlmActionModel", "Validator", "backend_for", "prompt", "tool_spec"]

TOOL_NAME = "propose_steps"

Validator = Callable[[Sequence[Mapping[str, Any]]], Sequence[tuple[str, str]]]
"""A caller's extra check of proposed steps: ``(location, message)`` per problem."""

_ACTIONS = (API_ACTION, *UI_ACTIONS)


def prompt(name: str) -> Template:
    """A prompt file shipped in ``lam/adapters/llm/prompts`` (``system``, ``observation``,
    ``repair``) as a :class:`string.Template`."""
    text = resources.files("lam.adapters.llm.prompts").joinpath(f"{name}.md").read_text("utf-8")
    return Template(text)


def tool_spec() -> ToolSpec:
    """The tool the model must call: plan steps (the plan schema's own ``step``) and how sure
    it is. No approval or policy field exists, and unknown keys are refused."""
    plan = schema("plan")
    parameters = {
        "type": "object",
        "additionalProperties": False,
        "required": ["steps", "done", "confidence"],
        "properties": {
            "steps": {"type": "array", "maxItems": 50, "items": {"$ref": "#/$defs/step"}},
            "done": {"type": "boolean", "description": "The goal is met once these steps ran."},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "unsure": {
                "type": "array",
                "items": {"type": "string"},
                "description": "One line per part of the goal that could not be grounded.",
            },
            "notes": {"type": "array", "items": {"type": "string"}},
            "inputs": plan["properties"]["inputs"],
        },
        "$defs": plan["$defs"],
    }
    return ToolSpec(TOOL_NAME, "Propose the next lam plan steps towards the goal.", parameters)


def backend_for(config: LlmConfig) -> LlmBackend:
    """The backend that speaks ``config.provider``'s protocol."""
    if config.provider == "anthropic":
        return AnthropicMessages(config)
    return OpenAIChat(config)


class LlmActionModel:
    """An :class:`~lam.planner.base.ActionModel` backed by a language model.

    ``backend`` defaults to the one the environment configures (:func:`config_from_env`);
    ``validator`` is the caller's extra check; ``memory`` adds what worked and failed on the
    page's site before to the prompt (as data).
    """

    def __init__(
        self,
        backend: LlmBackend | None = None,
        *,
        validator: Validator | None = None,
        memory: MemoryStore | None = None,
    ) -> None:
        self.backend = backend or backend_for(config_from_env())
        self.validator = validator
        self.memory = memory
        self.tool = tool_spec()
        self._checker = Draft202012Validator(self.tool.schema)

    def messages(
        self, observation: Observation, history: Sequence[HistoryItem]
    ) -> tuple[str, list[Turn]]:
        """The system prompt and the first user turn for this observation."""
        system = prompt("system").substitute(tool=self.tool.name)
        user = prompt("observation").substitute(
            tool=self.tool.name,
            goal=" ".join(observation.goal.split()),
            page=render_page(observation),
            apis=render_apis(observation),
            history=render_history(history),
            memory=render_memory(self._remembered(observation)),
        )
        return system, [Turn("user", user)]

    def propose(self, observation: Observation, history: Sequence[HistoryItem]) -> Proposal:
        """Ask the model for the next steps; repair once; return them as a Proposal."""
        system, turns = self.messages(observation, history)
        used = {str(item.step.get("id")) for item in history}
        answer = self.backend.ask(system, turns, self.tool)
        problems = self.problems(answer, observation, used)
        if problems:
            errors = "\n".join(f"- {where}: {what}" for where, what in problems)
            turns += [
                Turn("answer", answer=answer),
                Turn(
                    "correction",
                    prompt("repair").substitute(errors=errors, tool=self.tool.name),
                    answer,
                ),
            ]
            answer = self.backend.ask(system, turns, self.tool)
            problems = self.problems(answer, observation, used)
        if problems:
            where, what = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise LlmError(
                f"the model's answer is still unusable after one repair: {what}{more}",
                file=self.backend.config.model,
                location=where,
                code="llm-bad-plan",
            )
        return _proposal(answer.arguments)

    def problems(
        self, answer: ToolAnswer, observation: Observation, used_ids: set[str]
    ) -> list[tuple[str, str]]:
        """Everything wrong with an answer, as ``(location, message)``; empty when usable."""
        args = answer.arguments
        if args is None:
            said = f" (it said: {answer.raw!r})" if answer.raw else ""
            return [("(answer)", f"no call of {self.tool.name} with JSON arguments{said}")]
        found = [
            (format_path(e.absolute_path), e.message)
            for e in sorted(self._checker.iter_errors(args), key=lambda e: list(map(str, e.path)))
        ]
        if found:
            return found
        seen = set(used_ids)
        for i, step in enumerate(args["steps"]):
            actions = [a for a in _ACTIONS if a in step]
            if len(actions) != 1:
                found.append(
                    (
                        f"steps[{i}]",
                        f"needs exactly one action, found {', '.join(actions) or 'none'}",
                    )
                )
            if step["id"] in seen:
                found.append((f"steps[{i}].id", f"id {step['id']!r} is already used"))
            seen.add(step["id"])
            call = step.get(API_ACTION)
            if isinstance(call, str):
                api = call.split(" ", 1)[0].split(".", 1)[0]
                if api not in observation.apis:
                    known = ", ".join(observation.apis) or "none"
                    found.append((f"steps[{i}].call", f"unknown api {api!r} (known: {known})"))
        if not found and self.validator is not None:
            found += list(self.validator(args["steps"]))
        return found

    def _remembered(self, observation: Observation) -> list[dict[str, Any]]:
        if self.memory is None or not observation.url:
            return []
        return [
            {
                "key": r.key,
                "hints": dict(r.hints),
                "failed": r.failed,
                "error": r.last_error,
                "successes": r.successes,
            }
            for r in self.memory.entries(observation.url)[:40]
        ]


def _proposal(args: Mapping[str, Any]) -> Proposal:
    return Proposal(
        steps=tuple(dict(s) for s in args["steps"]),
        confidence=float(args["confidence"]),
        done=bool(args["done"]),
        unsure=tuple(args.get("unsure") or ()),
        notes=tuple(args.get("notes") or ()),
        inputs={k: dict(v) for k, v in (args.get("inputs") or {}).items()},
    )
