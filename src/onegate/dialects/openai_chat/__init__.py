"""OpenAI Chat Completions (and the legacy Completions and Embeddings bodies, which share its rules)."""
