"""API keys at run time: every key record in memory, and the delay for addresses that keep failing."""
