"""OpenAI's Images API (generations and edits): served by pass-through to OpenAI-compatible upstreams."""
