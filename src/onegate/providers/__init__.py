"""Where and how to call a vendor. An OpenAI-compatible vendor is a data row, not a class."""
