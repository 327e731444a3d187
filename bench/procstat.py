"""Process and machine facts read from /proc (Linux only), for benchmark reports.

Contract: every function returns plain JSON-serialisable values and never raises for a
process that has gone away; it returns ``None`` (or skips it) instead.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by ``pid`` (its threads included)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces; the fields after it are space-separated.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS


def rss_kb(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB (VmRSS)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def snapshot(pids: dict[str, int]) -> dict[str, dict[str, float | int | None]]:
    """``{name: {"pid", "cpu_s", "rss_kb"}}`` for each named process."""
    return {
        name: {"pid": pid, "cpu_s": cpu_seconds(pid), "rss_kb": rss_kb(pid)}
        for name, pid in pids.items()
    }


def diff(
    before: dict[str, dict[str, float | int | None]],
    after: dict[str, dict[str, float | int | None]],
    seconds: float,
) -> dict[str, dict[str, float | int | None]]:
    """CPU seconds spent between two snapshots, CPU share of one core, and RSS at the end."""
    out: dict[str, dict[str, float | int | None]] = {}
    for name, end in after.items():
        start = before.get(name, {})
        c0, c1 = start.get("cpu_s"), end.get("cpu_s")
        used = round(float(c1) - float(c0), 2) if c0 is not None and c1 is not None else None
        out[name] = {
            "pid": end["pid"],
            "cpu_s": used,
            "cpu_pct": round(100 * used / seconds, 1) if used is not None and seconds else None,
            "rss_kb": end.get("rss_kb"),
        }
    return out


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine, all cores, from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def machine_busy_pct(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """Share of all cores busy between two ``machine_ticks`` (PostgreSQL, Redis, nginx,
    the load generator and the nodes alike), as % of the whole machine."""
    total = after[1] - before[1]
    return round(100 * (after[0] - before[0]) / total, 1) if total > 0 else None


def raise_fd_limit(want: int = 65536) -> int:
    """Raise this process's RLIMIT_NOFILE soft limit as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, object]:
    """Where the numbers were measured: CPU, memory, kernel, Python, load right now."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_total_mb": mem_kb // 1024,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "load_average": load_average(),
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }
