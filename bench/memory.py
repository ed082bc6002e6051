"""What the pipeline bench samples of the `kindling serve` process tree: its processes, their resident
memory (RSS and PSS) and their CPU time, by kind of process."""

import os
import threading


def process_tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            pass
    return found


def resident_mb(pid: int) -> tuple[float, float]:
    """Resident memory of one process, (RSS, PSS) in MB: RSS counts every page it maps in full, PSS
    divides a page shared by n processes (the node binary's code, shared libraries) by n."""
    found = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                name, _, rest = line.partition(":")
                if name in ("Rss", "Pss"):
                    found[name] = int(rest.split()[0]) / 1024
    except (OSError, ValueError):
        pass
    return found.get("Rss", 0.0), found.get("Pss", 0.0)


class MemorySampler(threading.Thread):
    """The largest resident memory of a process tree seen while it runs (the sum of its processes'
    RSS, and of their PSS: each shared page counted once), and what it was made of; and the CPU time
    each kind of process used meanwhile (sampled every 0.2 s, so a process that ends between two
    samples loses at most its last 0.2 s: Node processes are replaced now and then)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = {"rss": 0.0, "pss": 0.0}
        self.parts: dict[str, dict[str, list]] = {"rss": {}, "pss": {}}  # kind -> [count, MB]
        self.done = threading.Event()
        # pid -> (kind, CPU seconds when first seen or 0 for a process born meanwhile, latest CPU seconds)
        self.cpu: dict[int, list] = {}
        self.sample_cpu(first=True)

    def sample_cpu(self, first: bool = False) -> None:
        for pid in process_tree(self.pid):
            used = cpu_seconds(pid)
            if used is None:
                continue
            if pid not in self.cpu:
                self.cpu[pid] = [process_kind(pid), used if first else 0.0, used]
            self.cpu[pid][2] = used

    def cpu_by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for kind, start, latest in self.cpu.values():
            totals[kind] = totals.get(kind, 0.0) + latest - start
        return totals

    def run(self):
        while not self.done.wait(0.2):
            self.sample_cpu()
            parts: dict[str, dict[str, list]] = {"rss": {}, "pss": {}}
            for pid in process_tree(self.pid):
                kind = self.cpu[pid][0] if pid in self.cpu else process_kind(pid)
                for measure, mb in zip(("rss", "pss"), resident_mb(pid), strict=True):
                    part = parts[measure].setdefault(kind, [0, 0.0])
                    part[0] += 1
                    part[1] += mb
            for measure, by_kind in parts.items():
                total = sum(mb for _count, mb in by_kind.values())
                if total > self.peak[measure]:
                    self.peak[measure], self.parts[measure] = total, by_kind

    def describe(self, measure: str) -> str:
        parts = ", ".join(
            f"{kind} {count} x {mb / count:,.0f} MB" if count > 1 else f"{kind} {mb:,.0f} MB"
            for kind, (count, mb) in sorted(self.parts[measure].items(), key=lambda item: -item[1][1])
        )
        return f"{self.peak[measure]:,.0f} MB ({parts})"


def process_kind(pid: int) -> str:
    """What a process of the tree is: node, web (uvicorn), worker, serve (the scheduler), bubblewrap
    (the sandbox around each Node process) or other."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        return "other"
    name = os.path.basename(words[0])
    if name == "node":
        return "node"
    if name.startswith("python"):
        return "web" if "uvicorn" in words else "worker" if "worker" in words else "serve"
    return "bubblewrap" if name == "bwrap" else "other"


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used so far (user + system), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
