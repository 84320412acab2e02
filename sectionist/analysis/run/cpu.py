"""The cores the analysis's worker processes share out."""

from __future__ import annotations

import os


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity (a container's ``--cpuset-cpus``, ``taskset``),
    which ``os.cpu_count()`` ignores; at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)
