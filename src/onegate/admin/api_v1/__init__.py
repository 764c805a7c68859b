"""The versioned management API under `/admin/api/v1/` (docs/MANAGEMENT.md)."""
