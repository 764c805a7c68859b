"""Any OpenAI-compatible vendor (OpenAI, DeepSeek, Groq, vLLM, Ollama, OpenRouter, …) over pooled HTTP."""

from __future__ import annotations

from onegate.providers.http import HttpChannel, SessionFactory
from onegate.providers.protocol import UpstreamRequest
from onegate.settings import ChannelConfig

OPENAI_NATIVE = {"openai_chat", "openai_completions", "openai_embeddings"}


class OpenAICompatibleProvider(HttpChannel):
    dialect = "openai_chat"

    def __init__(self, channel: ChannelConfig, session_factory: SessionFactory) -> None:
        super().__init__(channel, session_factory)
        self.native_dialects = frozenset(OPENAI_NATIVE | ({"openai_responses"} if channel.responses_api else set()))

    def headers(self, request: UpstreamRequest) -> dict[str, str]:
        headers = super().headers(request)
        if secret := self.secret():
            headers["Authorization"] = f"Bearer {secret}"
        return headers
