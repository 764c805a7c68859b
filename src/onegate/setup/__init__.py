"""Per-client configuration guides, rendered from the live config for a given key (CLI, HTML, admin API)."""
