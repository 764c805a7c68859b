"""onegate: one OpenAI-compatible gateway that every AI client can be pointed at."""

__version__ = "0.1.0"
