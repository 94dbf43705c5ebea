"""What a process tree costs, read from /proc: CPU time (utime + stime) and memory.

CPU time is the steadiest figure on a shared machine: wall-clock throughput moves with
whatever else runs, the CPU a process spends per request barely does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class Usage:
    """One reading of a process tree."""

    cpu_seconds: float  # utime + stime of every live process in the tree
    rss_bytes: int  # VmRSS summed over the tree
    hwm_bytes: int  # VmHWM (peak RSS) summed over the tree
    processes: int


def _stat_fields(pid: int) -> list[str]:
    text = (PROC / str(pid) / "stat").read_text()
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)  # fields[0] is field 3 (state): utime is 14, stime 15
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def parent_of(pid: int) -> int:
    return int(_stat_fields(pid)[1])


def status_kib(pid: int, key: str) -> int:
    """A ``kB`` line of /proc/<pid>/status (VmRSS, VmHWM), in KiB; 0 when absent."""
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def tree(root: int) -> list[int]:
    """``root`` and every live descendant (worker processes included)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(parent_of(int(entry.name)), []).append(int(entry.name))
            except (OSError, ValueError):
                continue  # exited while we looked
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def usage(root: int) -> Usage:
    cpu, rss, hwm, alive = 0.0, 0, 0, 0
    for pid in tree(root):
        try:
            cpu += cpu_seconds(pid)
            rss += status_kib(pid, "VmRSS") * 1024
            hwm += status_kib(pid, "VmHWM") * 1024
            alive += 1
        except (OSError, ValueError):
            continue
    return Usage(cpu, rss, hwm, alive)
