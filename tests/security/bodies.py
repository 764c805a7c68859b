"""Request bodies for fuzzing: hypothesis strategies for valid shapes of each surface, then faults injected.

Random JSON would be refused at the first field and test nothing; these bodies look like what clients
send (messages, content blocks, tool calls, tool schemas, Responses items), and `mutate` then replaces,
deletes or adds fields at random places, with values of the wrong type, deep nesting or field names the
gateway reads. A quarter of the bodies stay valid and go all the way to a fake upstream and back.

Drawing a body from hypothesis costs milliseconds; a mutation costs microseconds. So each drawn body is
mutated several times with a random source hypothesis draws too (`st.randoms`): a failure is still
reproduced and shrunk by hypothesis, and thousands of bodies per surface fit in seconds.
"""

from __future__ import annotations

from random import Random
from typing import Any

import orjson
from hypothesis import strategies as st

from tests.security.harness import EMBEDDING_MODEL, PASSTHROUGH_ANTHROPIC, PASSTHROUGH_OPENAI

text = st.text(max_size=24)
name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
KNOWN = [PASSTHROUGH_OPENAI, PASSTHROUGH_ANTHROPIC] * 3
models = st.sampled_from([*KNOWN, "no-such-model", "GPT-4.1-Mini"])  # mostly served: most bodies reach a pair
leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False), text)
junk = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3))


def nested(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


schema = st.one_of(st.just({"type": "object", "properties": {"a": {"type": "string"}}}), st.dictionaries(text, junk))
# field names the gateway reads, for injection where they do not belong
FIELDS = (
    "model",
    "messages",
    "content",
    "role",
    "type",
    "text",
    "tools",
    "tool_choice",
    "tool_calls",
    "function",
    "name",
    "arguments",
    "parameters",
    "input",
    "input_schema",
    "system",
    "stream",
    "stream_options",
    "max_tokens",
    "image_url",
    "url",
    "source",
    "data",
    "output",
    "call_id",
    "summary",
    "reasoning",
    "thinking",
    "metadata",
    "instructions",
    "namespace",
    "format",
    "include",
    "user",
    "stop",
    "temperature",
)


def _dict(required: dict[str, Any], optional: dict[str, Any] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(required, optional=optional or {})


# Chat Completions --------------------------------------------------------------------------------------
chat_part = st.one_of(
    _dict({"type": st.just("text"), "text": text}),
    _dict(
        {
            "type": st.just("image_url"),
            "image_url": _dict({"url": st.sampled_from(["https://x.test/a.png", "data:image/png;base64,AAAA"])}),
        }
    ),
)
tool_call = _dict(
    {
        "id": name,
        "type": st.just("function"),
        "function": _dict({"name": name, "arguments": st.sampled_from(["{}", '{"a": 1}', "not json", "[1]"])}),
    }
)
chat_message = st.one_of(
    _dict(
        {"role": st.sampled_from(["system", "developer", "user"]), "content": text | st.lists(chat_part, max_size=3)}
    ),
    _dict({"role": st.just("assistant"), "content": text | st.none()}, {"tool_calls": st.lists(tool_call, max_size=2)}),
    _dict({"role": st.just("tool"), "tool_call_id": name, "content": text}),
)
chat_tool = _dict(
    {"type": st.just("function"), "function": _dict({"name": name}, {"description": text, "parameters": schema})}
)
chat = _dict(
    {"model": models, "messages": st.lists(chat_message, min_size=1, max_size=4)},
    {
        "stream": st.booleans(),
        "stream_options": _dict({"include_usage": st.booleans()}),
        "tools": st.lists(chat_tool, max_size=2),
        "tool_choice": st.sampled_from(["auto", "none", "required", {"type": "function", "function": {"name": "f"}}]),
        "max_tokens": st.integers(1, 64),
        "temperature": st.floats(0, 2),
        "stop": text | st.lists(text, max_size=2),
        "response_format": st.sampled_from(
            [{"type": "json_object"}, {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}]
        ),
        "reasoning_effort": st.sampled_from(["low", "high", "max"]),
        "user": text,
    },
)

# Anthropic Messages ------------------------------------------------------------------------------------
text_block = _dict({"type": st.just("text"), "text": text})
image_block = st.just({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}})
block = st.one_of(
    text_block,
    image_block,
    _dict({"type": st.just("tool_use"), "id": name, "name": name, "input": st.dictionaries(text, junk, max_size=3)}),
    _dict(
        {"type": st.just("tool_result"), "tool_use_id": name},
        {"content": text | st.lists(text_block | image_block, max_size=2), "is_error": st.booleans()},
    ),
    _dict({"type": st.just("thinking"), "thinking": text, "signature": text}),
)
anthropic_message = _dict(
    {"role": st.sampled_from(["user", "assistant"]), "content": text | st.lists(block, min_size=1, max_size=3)}
)
anthropic_optional = {
    "system": text | st.lists(text_block, max_size=2),
    "tools": st.lists(_dict({"name": name}, {"description": text, "input_schema": schema}), max_size=2),
    "tool_choice": st.sampled_from(
        [{"type": "auto"}, {"type": "any"}, {"type": "tool", "name": "f"}, {"type": "none"}]
    ),
    "thinking": _dict({"type": st.just("enabled"), "budget_tokens": st.integers(1024, 4096)}),
    "metadata": _dict({"user_id": text}),
    "temperature": st.floats(0, 1),
    "stop_sequences": st.lists(text, max_size=2),
    "output_config": _dict({"effort": st.sampled_from(["low", "high", "max"])}),
}
count_tokens = _dict(
    {"model": models, "messages": st.lists(anthropic_message, min_size=1, max_size=4)}, anthropic_optional
)
messages = _dict(
    {
        "model": models,
        "max_tokens": st.integers(1, 64),
        "messages": st.lists(anthropic_message, min_size=1, max_size=4),
    },
    {**anthropic_optional, "stream": st.booleans()},
)

# Responses ---------------------------------------------------------------------------------------------
input_text = _dict({"type": st.sampled_from(["input_text", "output_text"]), "text": text})
item = st.one_of(
    _dict(
        {"role": st.sampled_from(["user", "assistant", "system", "developer"]), "content": text | st.lists(input_text)},
        {"type": st.just("message")},
    ),
    _dict({"type": st.just("function_call"), "call_id": name, "name": name, "arguments": st.just("{}")}),
    _dict({"type": st.just("function_call_output"), "call_id": name, "output": text}),
    _dict({"type": st.just("custom_tool_call"), "call_id": name, "name": name, "input": text}),
    _dict(
        {"type": st.just("reasoning"), "summary": st.lists(_dict({"type": st.just("summary_text"), "text": text}))},
        {"encrypted_content": text | st.none()},
    ),
)
function_tool = _dict({"type": st.just("function"), "name": name}, {"description": text, "parameters": schema})
responses_tool = st.one_of(
    function_tool,
    _dict(
        {"type": st.just("custom"), "name": name},
        {"format": st.just({"type": "grammar", "syntax": "lark", "definition": "start: /.+/"})},
    ),
    _dict({"type": st.just("namespace"), "name": name, "tools": st.lists(function_tool, max_size=2)}),
    st.just({"type": "web_search"}),
)
responses = _dict(
    {"model": models, "input": text | st.lists(item, min_size=1, max_size=4)},
    {
        "instructions": text,
        "tools": st.lists(responses_tool, max_size=3),
        "tool_choice": st.sampled_from(["auto", "required", {"type": "function", "name": "f"}]),
        "reasoning": _dict({"effort": st.sampled_from(["low", "high"]), "summary": st.just("auto")}),
        "text": st.just({"format": {"type": "text"}}),
        "include": st.just(["reasoning.encrypted_content"]),
        "max_output_tokens": st.integers(16, 64),
        "store": st.just(False),
        "stream": st.booleans(),
    },
)

# Embeddings --------------------------------------------------------------------------------------------
embeddings = _dict(
    {
        "model": st.sampled_from([EMBEDDING_MODEL, EMBEDDING_MODEL, PASSTHROUGH_OPENAI, "no-such-model"]),
        "input": text | st.lists(text, min_size=1, max_size=3) | st.lists(st.integers(0, 1000), min_size=1),
    },
    {"encoding_format": st.just("float"), "dimensions": st.integers(1, 8)},
)


DEEP_TEXT = '{"a":' * 100 + "1" + "}" * 100  # JSON in a string (tool arguments) is parsed only by translation
STRINGS = ("", "x", "user", "text", "function", "\x00", "é", "💥", "null", "{}", "[1]", "a" * 300, DEEP_TEXT)


def junk_value(rnd: Random, depth: int = 0) -> Any:
    """A JSON value of any type, most of them wrong wherever they land; sometimes nested past the limit."""
    pick = rnd.randrange(12 if depth < 2 else 8)
    if pick == 0:
        return None
    if pick == 1:
        return rnd.random() < 0.5
    if pick == 2:
        return rnd.randint(-(2**53), 2**53)
    if pick == 3:
        return rnd.uniform(-1e6, 1e6)
    if pick < 8:
        return rnd.choice(STRINGS)
    if pick < 10:
        return [junk_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    if pick == 10:
        return {rnd.choice(FIELDS): junk_value(rnd, depth + 1) for _ in range(rnd.randrange(4))}
    return nested(rnd.randint(40, 160))  # past the 64-level limit; orjson writes up to 254


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON tree, the root's keys included."""
    out: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else ()
        for key in keys:
            out.append((node, key))
            stack.append(node[key])
    return out


def mutate(valid: dict[str, Any], rnd: Random) -> dict[str, Any]:
    """A copy of a valid body with 0-3 faults: a value replaced by one of the wrong type, a field deleted,
    or a field added (often one the gateway reads, in a place it does not belong)."""
    body = orjson.loads(orjson.dumps(valid))
    for _ in range(rnd.randrange(4)):
        slots = _slots(body)
        action = rnd.choice(("replace", "replace", "delete", "add"))
        if action == "add" or not slots:
            target = rnd.choice([body] + [c[k] for c, k in slots if isinstance(c[k], dict)])
            target[rnd.choice(FIELDS) if rnd.random() < 0.8 else rnd.choice(STRINGS)] = junk_value(rnd)
            continue
        container, key = rnd.choice(slots)
        if action == "delete":
            container.pop(key)
        else:
            container[key] = junk_value(rnd)
    return body


# Images and videos (the zero-cost self-test models: no upstream needed) ------------------------------------
images = _dict(
    {"model": st.sampled_from(["onegate-selftest-image"] * 3 + ["no-such-model"]), "prompt": text},
    {
        "n": st.integers(1, 3),
        "size": st.sampled_from(["1024x1024", "auto", "8x8"]),
        "quality": st.sampled_from(["low", "high", "hd"]),
        "stream": st.booleans(),
        "partial_images": st.integers(0, 3),
    },
)
videos = _dict(
    {"model": st.sampled_from(["onegate-selftest-video"] * 3 + ["no-such-model"]), "prompt": text},
    {"seconds": st.sampled_from(["4", "8", 4]), "size": st.sampled_from(["720x1280", "1280x720"])},
)

SURFACES: dict[str, tuple[str, str, st.SearchStrategy[dict[str, Any]]]] = {
    "chat": ("/api/v1/chat/completions", "openai", chat),
    "responses_on_chat": ("/api/v1/chat/completions", "openai", responses),  # Cursor's Responses-shaped bodies
    "messages": ("/api/v1/messages", "anthropic", messages),
    "count_tokens": ("/api/v1/messages/count_tokens", "anthropic", count_tokens),
    "responses": ("/api/v1/responses", "openai", responses),
    "embeddings": ("/api/v1/embeddings", "openai", embeddings),
    "images": ("/api/v1/images/generations", "openai", images),
    "videos": ("/api/v1/videos", "openai", videos),
}
