"""`gen_ai.operation.name` per surface (OpenTelemetry GenAI conventions); `count_tokens` is onegate's own."""

from __future__ import annotations

OPERATIONS = {
    "openai_chat": "chat",
    "openai_chat_responses_body": "chat",  # a Responses body sent to /chat/completions
    "openai_responses": "chat",
    "anthropic_messages": "chat",
    "openai_completions": "text_completion",
    "openai_embeddings": "embeddings",
    "anthropic_count_tokens": "count_tokens",
}
