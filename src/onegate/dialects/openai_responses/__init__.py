"""OpenAI Responses API (`/v1/responses`), the dialect Codex CLI speaks."""
