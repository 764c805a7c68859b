"""The admin API: JSON under `/admin/api/…`, behind its own bearer token."""
