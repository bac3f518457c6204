"""Real small or read-only file systems for fault tests: a tmpfs mounted for the test, remounted read-only, filled.

Mounting needs root (or CAP_SYS_ADMIN); where that is not possible the test is skipped and says why.  chmod is
not used: root, which the tests may run as, writes through any file mode.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "8m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` for the block; skips the test where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(path))
    except FileNotFoundError:
        pytest.skip("no mount command here: a real small or read-only file system cannot be made")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): needs root or "
                    "CAP_SYS_ADMIN; chmod would not stop root from writing")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def read_only(path: Path) -> None:
    done = _mount("-o", "remount,ro", str(path))
    assert done.returncode == 0, done.stderr


def writable(path: Path) -> None:
    done = _mount("-o", "remount,rw", str(path))
    assert done.returncode == 0, done.stderr


def fill(path: Path) -> Path:
    """Fill the file system ``path`` is on until it has no byte left; returns the filler file (delete it to free)."""
    filler = path / "filler.bin"
    chunk = b"\0" * (1 << 16)
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        for size in (4096, 512, 1):  # the last partial blocks
            while True:
                try:
                    f.write(b"\0" * size)
                except OSError:
                    break
    assert os.statvfs(path).f_bavail == 0
    return filler
