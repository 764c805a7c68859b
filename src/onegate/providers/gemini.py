"""Google's Gemini API (`type: gemini` channels): `x-goog-api-key`. onegate uses it for Veo video tasks
(media/adapters/veo.py); it serves no chat dialect, so a chat model routed here is refused per attempt."""

from __future__ import annotations

from onegate.providers.http import HttpChannel


class GeminiProvider(HttpChannel):
    dialect = "gemini"
    native_dialects = frozenset({"openai_videos"})

    def auth_headers(self, secret: str) -> dict[str, str]:
        return {"x-goog-api-key": secret}
