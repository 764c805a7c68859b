"""The durable journal: records a killed process had only queued are stored by the next start, once;
a live process's journal is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.teams import change_balance, create_team, get_team
from onegate.store.writer import LogWriter
from tests.records import charge, count_logs, ledger_total, log_row

KILLED = """
import os, signal, sys
from pathlib import Path
from onegate.store.db import open_engine
from onegate.store.writer import LogWriter
from tests.records import charge, log_row

engine = open_engine(sys.argv[1])
writer = LogWriter(engine, Path(sys.argv[2]) / "spill.jsonl", interval=3600, journal_dir=Path(sys.argv[2]) / "journal")
writer.start()
for i in range(50):
    writer.submit(log_row(f"req_{i}", 10, 1, 1), charge(f"req_{i}", 10, 1, 1))
os.kill(os.getpid(), signal.SIGKILL)  # nothing reached the database: the batch window is an hour
"""


def test_records_of_a_killed_process_are_replayed_once_at_the_next_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'onegate.db'}"
    engine = open_engine(url)
    migrate(engine)
    create_team(engine, "acme")
    change_balance(engine, "acme", "topup", 1000, "t")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED), url, str(tmp_path)], env=env, timeout=60)
    assert done.returncode == -9
    assert count_logs(engine) == 0 and list((tmp_path / "journal").iterdir())

    writer = LogWriter(engine, tmp_path / "spill.jsonl", journal_dir=tmp_path / "journal")
    writer.start()
    writer.close()
    assert writer.stats.replayed == 50
    assert count_logs(engine) == 50 and ledger_total(engine) == -500
    assert get_team(engine, "acme").balance_micros == 500
    assert list((tmp_path / "journal").iterdir()) == []
    engine.dispose()


def test_a_live_processes_journal_is_not_replayed_by_another(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'onegate.db'}")
    migrate(engine)
    live = LogWriter(engine, tmp_path / "spill.jsonl", interval=3600, journal_dir=tmp_path / "journal")
    live.start()
    for i in range(5):
        live.submit(log_row(f"req_{i}"))
    time.sleep(0.05)
    other = LogWriter(engine, tmp_path / "spill.jsonl", journal_dir=tmp_path / "journal")
    other.start()
    other.close()
    assert other.stats.replayed == 0 and count_logs(engine) == 0
    live.close()
    assert count_logs(engine) == 5 and list((tmp_path / "journal").iterdir()) == []
    engine.dispose()


def test_a_segment_stays_until_the_counters_have_its_commit(tmp_path):
    """A batch in the database whose commit the counters have not taken yet (its holds still on): its
    journal segment stays, so a kill -9 in between replays it and the holds end; then it goes."""
    import threading

    engine = open_engine(f"sqlite:///{tmp_path / 'onegate.db'}")
    migrate(engine)
    team = create_team(engine, "acme")
    taken = threading.Event()  # what Reservations.committed returns: set once the event loop applied it
    commits: list = []

    def on_commit(committed: object) -> threading.Event:
        commits.append(committed)
        return taken

    writer = LogWriter(
        engine, tmp_path / "spill.jsonl", interval=0.01, journal_dir=tmp_path / "journal", on_commit=on_commit
    )
    writer.start()
    writer.submit(log_row("req_a", 10, 1, team.id), charge("req_a", 10, 1, team.id))
    deadline = time.monotonic() + 10
    while not commits and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # rounds of the writer go by
    assert count_logs(engine) == 1 and len(list((tmp_path / "journal").iterdir())) == 2  # stored, and kept
    taken.set()
    while len(list((tmp_path / "journal").iterdir())) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(list((tmp_path / "journal").iterdir())) == 1  # only the segment being written
    writer.close()
    assert list((tmp_path / "journal").iterdir()) == []
    engine.dispose()


def test_at_shutdown_a_segment_whose_commit_the_counters_never_took_is_left_for_the_next_start(tmp_path):
    import threading

    engine = open_engine(f"sqlite:///{tmp_path / 'onegate.db'}")
    migrate(engine)
    team = create_team(engine, "acme")
    never = threading.Event()
    writer = LogWriter(
        engine, tmp_path / "spill.jsonl", interval=0.01, journal_dir=tmp_path / "journal", on_commit=lambda c: never
    )
    writer.start()
    writer.submit(log_row("req_a", 10, 1, team.id), charge("req_a", 10, 1, team.id))
    writer.close()
    assert count_logs(engine) == 1 and len(list((tmp_path / "journal").iterdir())) == 1
    told: list = []
    again = LogWriter(engine, tmp_path / "spill.jsonl", journal_dir=tmp_path / "journal", on_commit=told.append)
    again.start()  # the replay finds the charge stored: not applied twice, but told, so its hold ends
    again.close()
    assert [c.request_id for c in told[0].already] == ["req_a"]
    assert ledger_total(engine) == -10 and list((tmp_path / "journal").iterdir()) == []
    engine.dispose()
