"""Time and memory limits that hold across grounding and search: one deadline, checked often
enough that a planner stops within a small fraction of its limit, and an optional bound on the
process's peak resident memory that ends the work with a clear error instead of swapping."""

from __future__ import annotations

import time
from dataclasses import dataclass

from neurips23.errors import UserError


class OutOfTime(Exception):  # noqa: N818 - a result ("timeout"), not a failure
    """The deadline passed during `stage` (grounding or search)."""

    def __init__(self, stage: str):
        super().__init__(f"time limit reached during {stage}")
        self.stage = stage


class OutOfMemory(UserError):  # noqa: N818 - reads as the condition the user sees
    """The process's peak resident memory passed the bound during `stage`."""


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (ru_maxrss; KB on Linux, bytes on macOS)."""
    import resource
    import sys

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def process_age() -> float:
    """Seconds since this `neurips23` command started: the process's age when the process is
    the command (Linux /proc), so its own start-up counts; from the entry point's call when the
    command runs inside another process (a test session), whose age is not the command's; 0
    when no command is running (a library call)."""
    import os
    import time

    from neurips23.utils import command_started

    started = command_started()
    if started is None:
        return 0.0
    in_process = max(0.0, time.monotonic() - started[0])
    if not started[1]:
        return in_process
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(in_process, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return in_process


@dataclass
class Limits:
    """A wall-clock deadline (`time.perf_counter()` value) and an optional memory bound (MB)."""

    deadline: float | None = None
    memory_mb: float | None = None
    _last_memory_check: float = float("-inf")

    @classmethod
    def start(cls, time_limit: float | None = None, memory_mb: float | None = None,
              already_spent: float = 0.0) -> Limits:
        """Limits whose clock started `already_spent` seconds ago."""
        now = time.perf_counter()
        deadline = None if time_limit is None else now + time_limit - already_spent
        return cls(deadline, memory_mb)

    def remaining(self) -> float:
        """Seconds left (inf without a deadline)."""
        return float("inf") if self.deadline is None else self.deadline - time.perf_counter()

    def check(self, stage: str) -> None:
        """Raise OutOfTime past the deadline, OutOfMemory past the memory bound (the memory
        is read at most every 0.1 s)."""
        now = time.perf_counter()
        if self.deadline is not None and now > self.deadline:
            raise OutOfTime(stage)
        if self.memory_mb is not None and now - self._last_memory_check > 0.1:
            self._last_memory_check = now
            used = peak_rss_mb()
            if used > self.memory_mb:
                raise OutOfMemory(f"memory limit of {self.memory_mb:g} MB reached during "
                                  f"{stage} (peak resident memory {used:.0f} MB); raise "
                                  "--memory-limit or use a smaller problem")
