"""Any OpenAI-compatible vendor (OpenAI, DeepSeek, Groq, vLLM, Ollama, OpenRouter, …) over pooled HTTP."""

from __future__ import annotations

from onegate.providers.http import HttpChannel, SessionFactory
from onegate.settings import ChannelConfig

OPENAI_NATIVE = {"openai_chat", "openai_completions", "openai_embeddings"}


class OpenAICompatibleProvider(HttpChannel):
    dialect = "openai_chat"

    def __init__(self, channel: ChannelConfig, session_factory: SessionFactory, hide_5xx_text: bool = False) -> None:
        self.native_dialects = frozenset(OPENAI_NATIVE | ({"openai_responses"} if channel.responses_api else set()))
        super().__init__(channel, session_factory, hide_5xx_text)

    def auth_headers(self, secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}
