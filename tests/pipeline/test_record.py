"""The record step's log row and charge: every value lands in its own column (the row is built
positionally, for speed), and a request that cost something is charged to the attempt that served it."""

from __future__ import annotations

import msgspec
import orjson

from onegate.accounting.ledger import charge_for
from onegate.accounting.pricing import Price
from onegate.accounting.usage import Usage
from onegate.apikeys import KeyRecord
from onegate.context import Attempt, RequestContext
from onegate.diagnosis.clients import ClientInfo
from onegate.pipeline.record import log_row
from onegate.store.schema import ledger, request_logs


def _served() -> RequestContext:
    ctx = RequestContext(
        "req_1", "POST", "/api/v1/chat/completions?x=1", {}, ClientInfo("codex", "0.9", "codex_cli/0.9"), "openai_chat"
    )
    ctx.key = KeyRecord(7, "ci", "h", "sk-…abcd", "active", None, None, 0.0, team_id=3)
    ctx.model_requested, ctx.model_routed, ctx.channel = "fast", "gpt-4.1-mini", "fake"
    ctx.status, ctx.error_code, ctx.error_message = 200, "code", "message"
    ctx.stream, ctx.first_byte_at = True, ctx.started + 0.25
    ctx.usage = Usage(11, 2, 3, 13, 5, reported=True)
    ctx.price, ctx.cost_micros, ctx.config_hint = Price(input=1), 17, "path.hint"
    ctx.attempts = [Attempt("down", 502, "refused"), Attempt("fake", 200)]
    ctx.notes = ["dropped a field"]
    return ctx


def test_each_value_of_the_context_lands_in_its_own_column():
    ctx = _served()
    row = msgspec.structs.asdict(log_row(ctx))
    assert list(row) == [c.name for c in request_logs.columns]
    assert row["request_id"] == "req_1" and row["created_at"] == ctx.created_at
    assert (row["key_id"], row["key_mask"], row["team_id"]) == (7, "sk-…abcd", 3)
    assert (row["client_name"], row["client_version"], row["user_agent"]) == ("codex", "0.9", "codex_cli/0.9")
    assert (row["method"], row["path"], row["dialect"]) == ("POST", "/api/v1/chat/completions?x=1", "openai_chat")
    assert (row["model_requested"], row["model_routed"], row["channel"]) == ("fast", "gpt-4.1-mini", "fake")
    assert (row["status"], row["error_code"], row["error_message"]) == (200, "code", "message")
    assert row["stream"] is True and row["ttfb_ms"] == 250.0 and row["latency_ms"] >= 0
    assert [row[f"{n}_tokens"] for n in ("input", "cached", "cache_write", "output", "reasoning")] == [11, 2, 3, 13, 5]
    assert row["cost_micros"] == 17 and orjson.loads(row["price"])["input"] is not None
    assert row["usage_estimated"] is False and row["config_hint"] == "path.hint"
    assert [a["channel"] for a in orjson.loads(row["attempts"])] == ["down", "fake"]
    assert row["notes"] == "dropped a field"


def test_the_charge_names_the_serving_attempt_and_every_ledger_column_it_fills():
    charge = msgspec.structs.asdict(charge_for(_served()))
    assert set(charge) <= {c.name for c in ledger.columns}
    assert charge == {
        "entry_id": "req_1:1", "kind": "charge", "team_id": 3, "key_id": 7, "request_id": "req_1",
        "model": "fast", "amount_micros": -17, "created_at": charge["created_at"],
    }  # fmt: skip
