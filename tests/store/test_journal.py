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
from tests.records import count_logs, ledger_total, log_row

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
