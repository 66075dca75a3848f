"""Child processes that die with the process that started them, however it ends.

``tethered(command)`` prefixes a command with ``python -m plugin.lifeline <parent pid> --``: that small
step asks Linux to send it SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``), then becomes the
command (``exec``), which keeps the setting. The demo starts gunicorn and the worker this way, so a demo
killed outright (SIGKILL, the OOM killer, a crash) takes them with it instead of leaving them running on
its port.

Why this and not something else:
- The parent's signal handlers (SIGINT, SIGTERM, SIGHUP) cannot run when it is killed with SIGKILL.
- ``Popen(preexec_fn=...)`` runs Python between fork and exec, which is unsafe once the parent has
  threads (the app the demo builds to prepare its data may have started some).
- A watchdog in each child (polling ``getppid()``, or reading a pipe until the parent's end closes)
  needs code inside gunicorn's master and Huey's consumer and a thread or a poll in each; the kernel's
  parent-death signal needs neither and arrives at once.
The one race, the parent dying between the fork and the ``prctl``, is closed by comparing the parent
pid after the call with the one the parent passed. The signal follows the death of the *thread* that
started the child: start children from the main thread. Other systems have no such call: there the
step only execs, and the parent's signal handlers are the only guard.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def tethered(command: list[str]) -> list[str]:
    """``command``, run so that it receives SIGTERM when the calling process dies."""
    return [sys.executable, "-m", "plugin.lifeline", str(os.getpid()), "--", *command]


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """Ask for ``sig`` when the parent dies; if it has died already, take ``sig`` now."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        raise SystemExit("usage: python -m plugin.lifeline <parent pid> -- command [args ...]")
    die_with_parent(int(argv[0]))
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
