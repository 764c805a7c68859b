"""Virtual keys: how they look, how they are stored (hashed) and shown (masked)."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

KEY_PREFIX = "sk-og-"  # tells our keys from vendors' keys at a glance


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: int
    name: str
    key_hash: str
    mask: str
    status: str  # "active" | "disabled"
    models: tuple[str, ...] | None  # None: every model
    expires_at: float | None
    created_at: float
    team_id: int | None = None
    budget_micros: int | None = None  # spend allowed per budget period; None = no budget of its own
    budget_period: str | None = None  # daily | weekly | monthly (UTC)
    rpm: int | None = None  # own limits; None = the configured default
    tpm: int | None = None
    concurrent: int | None = None

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now or time.time()) >= self.expires_at

    def allows(self, model: str) -> bool:
        return self.models is None or model in self.models


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")


def hash_key(key: str) -> str:
    # Keys are 240 random bits, so a fast hash is safe and keeps cache misses cheap.
    return hashlib.sha256(key.encode()).hexdigest()


def mask_key(key: str) -> str:
    """`sk-…abcd`: enough for a person to recognise a key, never enough to use it."""
    tail = key[-4:] if len(key) >= 8 else ""
    return f"sk-…{tail}"


def parse_duration(text: str) -> float:
    """`30d`, `12h`, `90m`, `3600s` or plain seconds -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    text = text.strip().lower()
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)
