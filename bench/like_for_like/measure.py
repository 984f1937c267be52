"""Run a command and print its wall seconds, CPU seconds and peak RSS as JSON.

    python -m bench.like_for_like.measure COMMAND [ARG ...]

A small process between run.py and each side, on purpose: Linux carries a
process's peak RSS across exec from the memory it was spawned with, so a side
spawned straight from run.py (which has numpy and pyarrow loaded) would report at
least run.py's RSS. Spawned from this process, which imports only the standard
library, the side's peak RSS is its own. CPU is the child's user + system time
(all its threads) and peak RSS its ru_maxrss, both from os.wait4; wall is timed
around spawn and wait. The command's output goes to stderr, so this process's
stdout is the JSON line alone; the exit status is the command's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def measure(command: list[str]) -> tuple[int, dict[str, float]]:
    """The command's exit status and {wall, cpu, rss_mib}."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=sys.stderr)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    figures = {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
    }
    return process.returncode, figures


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    code, figures = measure(sys.argv[1:])
    sys.stdout.flush()
    print(json.dumps(figures), flush=True)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
