"""Anthropic Messages (`/v1/messages`, `count_tokens`), with named SSE events."""
