"""Processes of test servers, each in its own process group (``start_new_session``) and
stopped by its PID (SIGTERM, then SIGKILL to the whole group after a bound). Process groups are
read from /proc; a watchdog kills every group still registered if the test process dies, so
nothing outlives the test run.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    from pathlib import Path

# One watchdog process per test session: its stdin is a pipe only this process writes to.
# Process groups ("+g PGID") and temp dirs ("+d PATH") are registered, and unregistered with
# "-"; when the pipe closes, because the test process exited or was killed (even by SIGKILL or
# os._exit), it SIGKILLs every group and deletes every dir still registered. Own session and
# SIGINT ignored: Ctrl-C must not kill it before the test process cleans up.
_WATCHDOG_SCRIPT = """\
import os, shutil, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
live = {"g": set(), "d": set()}
for line in sys.stdin:
    sign, kind, value = line[0], line[1], line[3:].rstrip("\\n")
    if sign == "+":
        live[kind].add(value)
    else:
        live[kind].discard(value)
for pgid in live["g"]:
    try:
        os.killpg(int(pgid), signal.SIGKILL)
    except OSError:
        pass
for path in live["d"]:
    shutil.rmtree(path, ignore_errors=True)
"""
_watchdog: subprocess.Popen[bytes] | None = None
_watchdog_lock = threading.Lock()
_watchdog_closed = threading.Event()

# How long a process may take to die after SIGKILL before we call it a bug.
_KILL_WAIT = 10.0


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgrp) of ``pid`` from /proc, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return fields[0], int(fields[1]), int(fields[2])


def _live_pids() -> t.Iterator[tuple[int, str, int, int]]:
    """(pid, state, ppid, pgrp) for every process that is not a zombie (Linux only)."""
    if not os.path.isdir("/proc/self"):
        return
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = _proc_stat(int(name))
        if stat is not None and stat[0] not in ("Z", "X"):
            yield int(name), *stat


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (or is stopped); zombies count as gone."""
    if os.path.isdir("/proc/self"):
        stat = _proc_stat(pid)
        return stat is not None and stat[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pids_in_group(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (Linux; empty elsewhere)."""
    return sorted(pid for pid, _, _, pgrp in _live_pids() if pgrp == pgid)


def child_pids(pid: int) -> list[int]:
    """Live children of ``pid`` (Linux; empty elsewhere)."""
    return sorted(child for child, _, ppid, _ in _live_pids() if ppid == pid)


def tell_watchdog(message: str) -> None:
    """Register (``"+g PGID"``, ``"+d PATH"``) or unregister (``"-g ..."``, ``"-d ..."``) what
    the watchdog cleans up if this process dies; it starts on the first registration."""
    global _watchdog
    with _watchdog_lock:
        if _watchdog is None:
            if message.startswith("-") or _watchdog_closed.is_set():
                return  # nothing registered (or already at interpreter exit)
            _watchdog = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHDOG_SCRIPT],
                stdin=subprocess.PIPE,
                start_new_session=True,
            )
            atexit.register(_stop_watchdog)
        assert _watchdog.stdin is not None
        try:
            _watchdog.stdin.write(f"{message}\n".encode())
            _watchdog.stdin.flush()
        except OSError:  # the watchdog is gone: nothing more we can do here
            pass


def _stop_watchdog() -> None:
    """At exit: close the pipe; the watchdog kills what is still registered and exits."""
    global _watchdog
    with _watchdog_lock:
        watchdog, _watchdog = _watchdog, None
        _watchdog_closed.set()
    if watchdog is None:
        return
    try:
        if watchdog.stdin is not None:
            watchdog.stdin.close()
    except OSError:
        pass
    try:
        watchdog.wait(timeout=5)
    except subprocess.TimeoutExpired:
        watchdog.kill()
        watchdog.wait()


def spawn(
    argv: t.Sequence[str], *, cwd: str | os.PathLike[str], env: t.Mapping[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (own process group), output appended to ``log``."""
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    tell_watchdog(f"+g {process.pid}")
    return process


def send_signal(pid: int, sig: int, *, group: bool = False) -> None:
    """Send ``sig`` to ``pid`` (or its process group); a process already gone is no error."""
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def group_is_ours(process: subprocess.Popen[bytes]) -> bool:
    """Whether process group ``process.pid`` (the server's own, see :func:`spawn`) may still be
    signalled. Its number is ours while the leader is not reaped; once the leader is reaped, only
    while other members of the group live (the kernel keeps the number for them). Otherwise the
    number is free: with ``pid_max`` at 32768 a long run recycles it, and ``killpg`` would hit
    another process group (another server of the run)."""
    if process.returncode is None:
        return True
    return not pid_alive(process.pid) and bool(pids_in_group(process.pid))


def stop_process(
    process: subprocess.Popen[bytes],
    *,
    timeout: float,
    sig: int = signal.SIGTERM,
    also_continue: bool = False,
) -> None:
    """Send ``sig`` to the PID, wait up to ``timeout``, then SIGKILL its whole process group
    while it is still the process's own (:func:`group_is_ours`).

    The group kill also takes down children the main process left behind (gunicorn workers).
    """
    if process.poll() is None:
        send_signal(process.pid, sig)
        if also_continue:  # a SIGSTOPped process only acts on SIGTERM once continued
            send_signal(process.pid, signal.SIGCONT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    if group_is_ours(process):
        send_signal(process.pid, signal.SIGKILL, group=True)
    try:
        process.wait(timeout=_KILL_WAIT)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"process {process.pid} survived SIGKILL for {_KILL_WAIT}s") from exc
    deadline = time.monotonic() + _KILL_WAIT
    while group_is_ours(process) and time.monotonic() < deadline:
        send_signal(process.pid, signal.SIGKILL, group=True)
        time.sleep(0.02)
    tell_watchdog(f"-g {process.pid}")
