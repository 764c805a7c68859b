"""The threat list: one file per attack family, each test named for the attack it stops (docs/SECURITY.md)."""
