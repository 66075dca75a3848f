"""A tethered command whose parent died before the tether was tied stops at once instead of running on."""
import os
import signal
import subprocess
import sys

from plugin.lifeline import tethered


def test_a_command_whose_parent_is_already_gone_is_stopped_before_it_runs():
    command = tethered([sys.executable, "-c", "print('ran')"])
    command[command.index(str(os.getpid()))] = "1"  # as if the parent that started it had died meanwhile
    done = subprocess.run(command, check=False, capture_output=True, timeout=30)
    assert done.returncode == -signal.SIGTERM and b"ran" not in done.stdout


def test_a_tethered_command_runs_as_itself():
    done = subprocess.run(tethered([sys.executable, "-c", "import os; print(os.getppid())"]), check=False,
                          capture_output=True, timeout=30)
    assert done.returncode == 0 and done.stdout.decode().strip() == str(os.getpid())  # exec: no step in between
