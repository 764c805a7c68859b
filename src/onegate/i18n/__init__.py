"""User-facing texts in English and Chinese, from one catalog."""
