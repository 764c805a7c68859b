"""Responses tools on upstreams that only know functions, and the way their calls find home again.

Codex sends, besides plain `function` tools, a `namespace` tool (a group of functions whose calls come back
with `namespace` set), freeform `custom` tools (`apply_patch` takes a raw patch, not JSON) and the hosted
`web_search`. To make it work through a Chat Completions (or Messages) upstream:

- a namespace's functions become functions named `{namespace}__{name}`;
- a custom tool becomes a function with one string parameter, `input` (its grammar goes in the description);
- hosted tools the model can do without (web search, tool search) are marked droppable: where the upstream
  cannot run them they are left out, with a note in the request log. Other hosted tools (file search, code
  interpreter, MCP, …) stay vendor tools, which a translating exchange refuses with a 400 naming them.

The answer is mapped back with `CallTargets`, built from the client's request: a call to
`multi_agent_v1__spawn_agent` becomes a `function_call` with `namespace`, a call to a custom tool a
`custom_tool_call` whose `input` is the string argument. Codex's own Chat adapter used the same mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from onegate.dialects import canonical as c

NAMESPACE_SEPARATOR = "__"
# Hosted tools a model can answer without; Codex sends web_search on every turn.
DROPPABLE_KINDS = frozenset(
    {"web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11", "tool_search"}
)
_INPUT_SCHEMA = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The complete raw tool input."}},
    "required": ["input"],
    "additionalProperties": False,
}


def flat_name(namespace: str | None, name: str) -> str:
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}" if namespace else name


def custom_arguments(text: str) -> str:
    """A freeform tool input as the JSON arguments of its stand-in function."""
    return orjson.dumps({"input": text}).decode()


def custom_input(arguments: str) -> str:
    """The freeform input back out of the stand-in function's arguments (as-is when they are not JSON)."""
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return value["input"]
    return arguments


def _custom_as_function(tool: dict[str, Any], name: str) -> c.Tool:
    description = tool.get("description") or ""
    fmt = tool.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "grammar" and fmt.get("definition"):
        # The model must still write the freeform syntax, now inside a JSON string.
        description += f"\n\nThe input must follow this {fmt.get('syntax', '')} grammar:\n{fmt['definition']}"
    return c.Tool(name, description.strip() or None, _INPUT_SCHEMA)


def _function(tool: dict[str, Any], name: str) -> c.Tool:
    return c.Tool(name, tool.get("description"), tool.get("parameters") or {"type": "object", "properties": {}})


def tools_to_canonical(tools: list[dict[str, Any]]) -> list[c.Tool]:
    out: list[c.Tool] = []
    for tool in tools:
        kind = tool.get("type", "")
        if kind == "function":
            out.append(_function(tool, tool.get("name") or ""))
        elif kind == "custom":
            out.append(_custom_as_function(tool, tool.get("name") or ""))
        elif kind == "namespace":
            for inner in tool.get("tools") or []:
                name = flat_name(tool.get("name"), inner.get("name", ""))
                if inner.get("type") == "custom":
                    out.append(_custom_as_function(inner, name))
                elif inner.get("type") == "function":
                    out.append(_function(inner, name))
        else:
            out.append(c.Tool(tool.get("name", kind), kind=kind, raw=tool, droppable=kind in DROPPABLE_KINDS))
    return out


@dataclass(frozen=True, slots=True)
class CallTarget:
    """How a call to a flattened function is written back in the client's terms."""

    name: str
    namespace: str | None = None
    custom: bool = False


class CallTargets:
    """Flattened function name → the client's tool, from the tools of the client's request."""

    __slots__ = ("_targets",)

    def __init__(self, tools: list[dict[str, Any]] | None) -> None:
        self._targets: dict[str, CallTarget] = {}
        for tool in tools or []:
            if not isinstance(tool, dict):
                continue
            if tool.get("type") == "custom":
                self._targets[tool.get("name", "")] = CallTarget(tool.get("name", ""), custom=True)
            elif tool.get("type") == "namespace":
                for inner in tool.get("tools") or []:
                    name = inner.get("name", "")
                    target = CallTarget(name, tool.get("name"), inner.get("type") == "custom")
                    self._targets[flat_name(tool.get("name"), name)] = target

    def target(self, name: str) -> CallTarget:
        return self._targets.get(name) or CallTarget(name)
