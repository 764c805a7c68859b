"""The log writer's promise: rows survive a database that refuses them, and a full queue never blocks."""

from __future__ import annotations

import msgspec
import orjson

from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.writer import LogWriter
from tests.records import charge, count_logs, ledger_total, log_row


def test_writer_spills_when_the_database_fails_and_replays_later(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")  # no schema yet: every insert fails
    spill = tmp_path / "spill.jsonl"
    writer = LogWriter(engine, spill, interval=0.01)
    writer.start()
    for i in range(5):
        writer.submit(log_row(f"req_{i}"))
    writer.close()
    assert writer.stats.spilled == 5 and spill.exists()

    migrate(engine)
    again = LogWriter(engine, spill, interval=0.01)
    again.start()  # replays the spill file first
    again.submit(log_row("req_99"))
    again.close()
    assert count_logs(engine) == 6 and not spill.exists()


def test_writer_spills_instead_of_blocking_when_the_queue_is_full(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    writer = LogWriter(engine, tmp_path / "spill.jsonl", max_queue=2)  # not started: nothing drains
    for i in range(5):
        writer.submit(log_row(f"req_{i}"))
    assert writer.stats.spilled == 3
    writer.start()
    writer.close()
    assert count_logs(engine) == 5


def test_a_spill_file_of_plain_json_rows_from_an_older_version_replays(tmp_path):
    """Spill files outlive upgrades: lines an older onegate wrote (a bare log row before charges, then
    {"log", "charge"} objects) are stored like the typed records that replaced them."""
    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    spill = tmp_path / "spill.jsonl"
    bare = msgspec.structs.asdict(log_row("req_old"))
    paired = {
        "log": msgspec.structs.asdict(log_row("req_paired", 7, 1)),
        "charge": msgspec.structs.asdict(charge("req_paired", 7, 1, None)),
    }
    spill.write_bytes(orjson.dumps(bare) + b"\n" + orjson.dumps(paired) + b"\n" + b'{"log": {"request_id"')  # torn tail
    writer = LogWriter(engine, spill, interval=0.01)
    writer.start()
    writer.close()
    assert count_logs(engine) == 2 and ledger_total(engine) == -7 and not spill.exists()


def test_a_replayed_charge_already_in_the_database_still_ends_its_hold(tmp_path):
    """kill -9 between the database commit and the counters' commit: the journal replays the charge, which
    is already in the ledger. Its hold must end all the same, or it counts against the team for days."""
    from onegate.store.ledger import Settlement, write_settlements
    from onegate.store.teams import create_team

    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    team = create_team(engine, "acme")
    first = Settlement(log_row("req_a", 7000, 1, team.id), charge("req_a", 7000, 1, team.id))
    with engine.begin() as conn:
        committed = write_settlements(conn, [first])
    assert [c.request_id for c in committed.charges] == ["req_a"]
    balance, version = committed.balances[team.id]
    replayed = Settlement(log_row("req_a", 7000, 1, team.id), charge("req_a", 7000, 1, team.id))
    with engine.begin() as conn:
        again = write_settlements(conn, [replayed])
    assert again.charges == [] and again.balances == {}  # not applied twice
    assert [c.request_id for c in again.already] == ["req_a"]  # but told, so its hold ends
    assert again.current == {team.id: (balance, version)}
    assert ledger_total(engine) == -7000
    engine.dispose()


def test_a_batch_lands_whole_or_not_at_all_on_sqlite(tmp_path):
    """A batch's log rows, charges and balance update are one transaction. pysqlite opens its transaction only
    at the first INSERT, so the savepoint the batch insert sits in began SQLite's transaction and its
    RELEASE committed it: log rows were visible (and durable) before their charges were written."""
    from onegate.store.db import write_transaction
    from onegate.store.ledger import Settlement, write_settlements
    from onegate.store.teams import create_team

    path = tmp_path / "db.sqlite"
    engine = open_engine(f"sqlite:///{path}")
    migrate(engine)
    team = create_team(engine, "acme")
    reader = open_engine(f"sqlite:///{path}")
    with write_transaction(engine) as conn:
        write_settlements(conn, [Settlement(log_row("req_a", 700, 1, team.id), charge("req_a", 700, 1, team.id))])
        assert count_logs(reader) == 0 and ledger_total(reader) == 0  # nothing seen before the commit
    assert count_logs(reader) == 1 and ledger_total(reader) == -700

    try:  # a failure mid-batch takes its log rows with it (the writer then spills the whole batch)
        with write_transaction(engine) as conn:
            write_settlements(conn, [Settlement(log_row("req_b", 5, 1, team.id), charge("req_b", 5, 1, team.id))])
            raise RuntimeError("the database went away")
    except RuntimeError:
        pass
    assert count_logs(reader) == 1 and ledger_total(reader) == -700
    engine.dispose()
    reader.dispose()


def test_a_spill_file_with_nul_characters_from_an_older_version_replays(engine, tmp_path):
    """Before NUL was replaced where caller text enters a row, a model name `"gpt\\u0000"` was spilled as
    is, and PostgreSQL refused the replay forever (text can't hold NUL): every later record in that spill
    file waited with it. Replayed lines get the same replacement as new rows."""
    from sqlalchemy import select

    from onegate.store.schema import request_logs

    spill = tmp_path / "old-spill.jsonl"
    poisoned = {
        "log": msgspec.structs.asdict(
            log_row("req_nul", 7, 1, model_requested="gpt\u0000-x", error_message="bad \u0000 byte")
        ),
        "charge": msgspec.structs.asdict(charge("req_nul", 7, 1, None, model="gpt\u0000-x")),
    }
    spill.write_bytes(
        orjson.dumps(poisoned) + b"\n" + orjson.dumps(msgspec.structs.asdict(log_row("req_next"))) + b"\n"
    )
    writer = LogWriter(engine, spill, interval=0.01)
    writer.start()
    writer.close()
    assert not spill.exists() and count_logs(engine) == 2 and ledger_total(engine) == -7
    with engine.connect() as conn:
        row = conn.execute(select(request_logs).where(request_logs.c.request_id == "req_nul")).one()
    assert (row.model_requested, row.error_message) == ("gpt\ufffd-x", "bad \ufffd byte")
