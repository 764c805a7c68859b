"""Per-client setup guides, built from the live public address and the models a key may use.

A guide is data (fields named as the client shows them, files, a one-line test command, notes) so the
CLI, the HTML page and the admin API render the same content. Pure: the caller supplies the address,
the models and the endpoints this server serves. Texts come from the message catalog.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from onegate.i18n.catalog import normalise_lang, text

CLIENTS = (
    "cursor",
    "cherry-studio",
    "lobechat",
    "chatbox",
    "claude-code",
    "codex",
    "openai-python",
    "openai-node",
    "curl",
)
KEY_ENV = "ONEGATE_API_KEY"
SELFTEST = "onegate-selftest"
SELFTEST_IMAGE = "onegate-selftest-image"  # the free image model: proves the image path before money is spent


@dataclass(frozen=True, slots=True)
class GuideInput:
    root: str  # the server's public address, `https://HOST`
    models: tuple[str, ...]  # the models the key may use
    lang: str = "en"
    key_mask: str | None = None  # `sk-…abcd` when the guide is for one key
    served: frozenset[str] = frozenset({"/chat/completions", "/models"})  # endpoint suffixes served here

    @property
    def base(self) -> str:
        return f"{self.root}/api/v1"

    @property
    def anthropic_base(self) -> str:
        return f"{self.root}/api"


@dataclass(frozen=True, slots=True)
class SettingField:
    label: str  # as the client shows it
    value: str


@dataclass(frozen=True, slots=True)
class Snippet:
    title: str
    language: str  # toml | json | shell | python | javascript
    content: str
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class Guide:
    client: str
    lang: str
    title: str
    intro: str
    base_url: str  # the value this client's base-URL field takes
    model: str  # the model the examples use
    models: list[str]
    fields: list[SettingField] = field(default_factory=list)
    snippets: list[Snippet] = field(default_factory=list)
    test_command: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def pick_model(models: tuple[str, ...], prefixes: tuple[str, ...] = ()) -> str:
    """The model examples use: the first whose name starts with a preferred prefix, else the first chat model."""
    chat = [m for m in models if "embed" not in m.lower()]
    for prefix in prefixes:
        for name in chat:
            if name.lower().startswith(prefix):
                return name
    real = [m for m in chat if m != SELFTEST]
    return (real or chat or [SELFTEST])[0]


def key_value(g: GuideInput) -> str:
    return text("setup.key_placeholder", g.lang)


def key_label(g: GuideInput) -> str:
    return text("setup.key_yours", g.lang, mask=g.key_mask or "sk-og-…")


def export_lines(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in pairs)


def chat_curl(g: GuideInput, model: str) -> str:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}, ensure_ascii=False)
    return (
        f'curl -sS {g.base}/chat/completions -H "Authorization: Bearer ${KEY_ENV}" '
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


def models_curl(g: GuideInput) -> str:
    return f'curl -sS {g.base}/models -H "Authorization: Bearer ${KEY_ENV}"'


def images_note(g: GuideInput) -> str:
    """For clients with an image feature: which model, and the endpoint it calls."""
    return text("setup.note.images", g.lang, base=g.base, model=SELFTEST_IMAGE)


def images_curl(g: GuideInput) -> str:
    body = json.dumps({"model": SELFTEST_IMAGE, "prompt": "a small green square", "n": 1})
    return (
        f'curl -s {shlex.quote(g.base + "/images/generations")} -H "Authorization: Bearer ${KEY_ENV}" '
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


def _served_note(g: GuideInput, endpoint: str) -> list[str]:
    return [] if endpoint in g.served else [text("setup.note.not_served", g.lang, endpoint=endpoint)]


def is_private_address(root: str) -> bool:
    """Whether `root` can only be reached from the user's machine or network (Cursor calls from its cloud)."""
    host = urlsplit(root).hostname or ""
    if host == "localhost" or host.endswith((".local", ".lan", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified


def _guide(
    g: GuideInput,
    client: str,
    base: str,
    model: str,
    fields: list[SettingField],
    test_command: str,
    snippets: list[Snippet] | None = None,
    notes: list[str] | None = None,
) -> Guide:
    return Guide(
        client=client,
        lang=g.lang,
        title=text(f"setup.{client}.title", g.lang),
        intro=text(f"setup.{client}.intro", g.lang),
        base_url=base,
        model=model,
        models=list(g.models),
        fields=fields,
        snippets=snippets or [],
        test_command=test_command,
        notes=notes or [],
    )


def cursor(g: GuideInput) -> Guide:
    model = pick_model(g.models)
    notes = [text("setup.note.cursor_public", g.lang)]
    if is_private_address(g.root):
        notes.insert(0, text("setup.note.cursor_private_warning", g.lang, root=g.root))
    fields = [
        SettingField("OpenAI API Key", key_label(g)),
        SettingField("Override OpenAI Base URL", g.base),
        SettingField("+ Add Custom Model", ", ".join(m for m in g.models if "embed" not in m) or model),
    ]
    return _guide(g, "cursor", g.base, model, fields=fields, test_command=models_curl(g), notes=notes)


def cherry_studio(g: GuideInput) -> Guide:
    model = pick_model(g.models)
    t = g.lang
    fields = [
        SettingField(text("setup.field.provider_type", t), "OpenAI"),
        SettingField(text("client.cherry-studio.key", t), key_label(g)),
        SettingField(text("client.cherry-studio.base", t), g.base),
        SettingField(text("setup.field.models", t), ", ".join(g.models)),
        SettingField(text("setup.field.cherry_anthropic_host", t), g.anthropic_base),
    ]
    notes = [
        text("setup.note.cherry_old", t, base=g.base, root=g.root),
        text("setup.note.cherry_hash", t),
        images_note(g),
    ]
    return _guide(g, "cherry-studio", g.base, model, fields=fields, test_command=chat_curl(g, model), notes=notes)


def lobechat(g: GuideInput) -> Guide:
    model = pick_model(g.models)
    t = g.lang
    fields = [
        SettingField(text("client.lobechat.key", t), key_label(g)),
        SettingField(text("client.lobechat.base", t), g.base),
        SettingField(text("setup.field.models", t), ", ".join(g.models)),
    ]
    env = [
        ("OPENAI_API_KEY", key_value(g)),
        ("OPENAI_PROXY_URL", g.base),
        ("OPENAI_MODEL_LIST", "-all," + ",".join(f"+{m}" for m in g.models)),
    ]
    snippets = [Snippet(text("setup.snippet.server_env", t), "shell", export_lines(env))]
    notes = [text("setup.note.lobechat_v1", t), images_note(g)]
    return _guide(
        g, "lobechat", g.base, model, fields=fields, snippets=snippets, test_command=chat_curl(g, model), notes=notes
    )


def chatbox(g: GuideInput) -> Guide:
    model = pick_model(g.models)
    t = g.lang
    fields = [
        SettingField(text("setup.field.api_mode", t), "OpenAI API Compatible"),
        SettingField(text("client.chatbox.key", t), key_label(g)),
        SettingField(text("client.chatbox.base", t), g.base),
        SettingField("API Path", text("setup.value.leave_empty", t)),
        SettingField(text("setup.field.models", t), ", ".join(g.models)),
    ]
    notes = [text("setup.note.chatbox_claude", t, base=g.base), images_note(g)]
    return _guide(g, "chatbox", g.base, model, fields=fields, test_command=chat_curl(g, model), notes=notes)


def claude_code(g: GuideInput) -> Guide:
    model = pick_model(g.models, ("claude",))
    small = pick_model(g.models, ("claude-haiku", "claude-3-5-haiku", "claude"))
    env = {
        "ANTHROPIC_BASE_URL": g.anthropic_base,
        "ANTHROPIC_AUTH_TOKEN": key_value(g),
        "ANTHROPIC_API_KEY": "",
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": small,
    }
    t = g.lang
    snippets = [
        Snippet(text("setup.snippet.env", t), "shell", export_lines(list(env.items()))),
        Snippet(
            text("setup.snippet.claude_settings", t),
            "json",
            json.dumps({"env": env}, indent=2, ensure_ascii=False),
            "~/.claude/settings.json",
        ),
    ]
    fields = [SettingField(name, value) for name, value in env.items()]
    notes = [text("setup.note.claude_base", t, base=g.anthropic_base), text("setup.note.claude_key", t)]
    notes += _served_note(g, "/messages")
    return _guide(
        g,
        "claude-code",
        g.anthropic_base,
        model,
        fields=fields,
        snippets=snippets,
        test_command='claude -p "say hi"',
        notes=notes,
    )


def codex(g: GuideInput) -> Guide:
    model = pick_model(g.models, ("gpt-5", "gpt-", "o"))
    config = (
        f"model = {json.dumps(model)}\n"
        'model_provider = "onegate"\n\n'
        "[model_providers.onegate]\n"
        'name = "onegate"\n'
        f"base_url = {json.dumps(g.base)}\n"
        f'env_key = "{KEY_ENV}"\n'
        'wire_api = "responses"\n'
    )
    t = g.lang
    snippets = [
        Snippet(text("setup.snippet.codex_config", t), "toml", config, "~/.codex/config.toml"),
        Snippet(text("setup.snippet.env", t), "shell", export_lines([(KEY_ENV, key_value(g))])),
    ]
    fields = [SettingField("base_url", g.base), SettingField("env_key", KEY_ENV), SettingField("wire_api", "responses")]
    notes = [text("setup.note.codex_responses", t)] + _served_note(g, "/responses")
    return _guide(
        g,
        "codex",
        g.base,
        model,
        fields=fields,
        snippets=snippets,
        test_command='codex exec --skip-git-repo-check "say hi" </dev/null',
        notes=notes,
    )


def _sdk(
    g: GuideInput,
    client: str,
    code: str,
    language: str,
    filename: str,
    test: str,
    fields: list[str],
    images: str = "",
) -> Guide:
    """An OpenAI SDK guide: a code file, the environment variables the SDK reads, a one-line run, images."""
    env = [("OPENAI_BASE_URL", g.base), ("OPENAI_API_KEY", key_value(g))]
    snippets = [
        Snippet(text("setup.snippet.code", g.lang), language, code, filename),
        Snippet(text("setup.snippet.env", g.lang), "shell", export_lines(env)),
    ]
    if images:
        snippets.append(Snippet(text("setup.snippet.images", g.lang), language, images))
    settings = [SettingField(fields[0], g.base), SettingField(fields[1], key_label(g))]
    return _guide(g, client, g.base, pick_model(g.models), fields=settings, snippets=snippets, test_command=test)


def openai_python(g: GuideInput) -> Guide:
    model = pick_model(g.models)
    code = (
        "from openai import OpenAI\n\n"
        f'client = OpenAI(base_url="{g.base}", api_key="{key_value(g)}")\n'
        f"reply = client.chat.completions.create(\n"
        f'    model="{model}", messages=[{{"role": "user", "content": "hi"}}]\n'
        ")\n"
        "print(reply.choices[0].message.content)\n"
    )
    test = (
        'python -c "from openai import OpenAI; '
        f"print(OpenAI().chat.completions.create(model='{model}', "
        "messages=[{'role': 'user', 'content': 'hi'}]).choices[0].message.content)\""
    )
    images = (
        "import base64\n\n"
        f'image = client.images.generate(model="{SELFTEST_IMAGE}", prompt="a small green square")\n'
        'open("image.png", "wb").write(base64.b64decode(image.data[0].b64_json))\n'
    )
    return _sdk(g, "openai-python", code, "python", "hello.py", test, ["base_url", "api_key"], images)


def openai_node(g: GuideInput) -> Guide:
    model = pick_model(g.models)
    code = (
        'import OpenAI from "openai";\n\n'
        f'const client = new OpenAI({{ baseURL: "{g.base}", apiKey: "{key_value(g)}" }});\n'
        "const reply = await client.chat.completions.create({\n"
        f'  model: "{model}",\n'
        '  messages: [{ role: "user", content: "hi" }],\n'
        "});\n"
        "console.log(reply.choices[0].message.content);\n"
    )
    test = (
        "node -e \"const { OpenAI } = require('openai'); new OpenAI().chat.completions.create("
        f"{{ model: '{model}', messages: [{{ role: 'user', content: 'hi' }}] }})"
        '.then((r) => console.log(r.choices[0].message.content))"'
    )
    images = (
        f'const image = await client.images.generate({{ model: "{SELFTEST_IMAGE}", prompt: "a green square" }});\n'
        'console.log(image.data[0].b64_json.length, "base64 characters of PNG");\n'
    )
    return _sdk(g, "openai-node", code, "javascript", "hello.mjs", test, ["baseURL", "apiKey"], images)


def curl(g: GuideInput) -> Guide:
    model = pick_model(g.models)
    t = g.lang
    snippets = [
        Snippet(text("setup.snippet.env", t), "shell", export_lines([(KEY_ENV, key_value(g))])),
        Snippet(text("setup.snippet.list_models", t), "shell", models_curl(g)),
        Snippet(text("setup.snippet.images", t), "shell", images_curl(g)),
    ]
    fields = [SettingField("URL", f"{g.base}/chat/completions"), SettingField("Authorization", f"Bearer ${KEY_ENV}")]
    return _guide(g, "curl", g.base, model, fields=fields, snippets=snippets, test_command=chat_curl(g, model))


BUILDERS: dict[str, Callable[[GuideInput], Guide]] = {
    "cursor": cursor,
    "cherry-studio": cherry_studio,
    "lobechat": lobechat,
    "chatbox": chatbox,
    "claude-code": claude_code,
    "codex": codex,
    "openai-python": openai_python,
    "openai-node": openai_node,
    "curl": curl,
}


class UnknownClient(LookupError):
    pass


def build_guide(client: str, guide_input: GuideInput) -> Guide:
    builder = BUILDERS.get(client)
    if builder is None:
        raise UnknownClient(f"no setup guide for {client!r}; known: {', '.join(CLIENTS)}")
    lang = normalise_lang(guide_input.lang)
    if lang != guide_input.lang:
        guide_input = GuideInput(guide_input.root, guide_input.models, lang, guide_input.key_mask, guide_input.served)
    return builder(guide_input)
