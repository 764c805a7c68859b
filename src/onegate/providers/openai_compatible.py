"""Any OpenAI-compatible vendor (OpenAI, DeepSeek, Groq, vLLM, Ollama, OpenRouter, …) over pooled HTTP."""

from __future__ import annotations

from onegate.providers.http import HttpChannel, SessionFactory
from onegate.settings import ChannelConfig
from onegate.surfaces import native_surfaces

OPENAI_NATIVE = native_surfaces("openai")
WITH_RESPONSES = native_surfaces("openai", "openai_responses")


class OpenAICompatibleProvider(HttpChannel):
    dialect = "openai_chat"

    def __init__(self, channel: ChannelConfig, session_factory: SessionFactory, hide_5xx_text: bool = False) -> None:
        self.native_dialects = WITH_RESPONSES if channel.responses_api else OPENAI_NATIVE
        super().__init__(channel, session_factory, hide_5xx_text)

    def auth_headers(self, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}
