"""What each student costs the machine, sampled: memory and CPU of all their processes.

Each student is a system user, so their share of the machine is every process running as their
uid: their JupyterLab server, its kernels, and whatever those start (git during a pull). Every
``interval`` seconds a thread sums, per student, the resident memory (RSS, and PSS: shared pages
divided among the processes that map them, closer to what a container limit charges) of those
processes; the peak is the largest such sum. CPU seconds are the user + system time of each
process as last seen, summed over every process the student ever had, so a process that ended
still counts with what it had used by its last sample. The hub and its proxy are sampled the
same way, by process id.
"""

from __future__ import annotations

import threading

import psutil

MB = 2**20


class Usage:
    """Peak memory and CPU seconds per uid and per named process, sampled in a thread."""

    def __init__(self, uids: dict[str, int], pids: dict[str, int], interval: float = 0.5):
        self.uids, self.pids, self.interval = dict(uids), dict(pids), interval
        names = [*self.uids, *self.pids]
        self.peak_rss = dict.fromkeys(names, 0)
        self.peak_pss = dict.fromkeys(names, 0)
        self._cpu: dict[str, dict[tuple[int, float], float]] = {name: {} for name in names}
        self.samples = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-usage", daemon=True)

    def _members(self) -> dict[str, list[psutil.Process]]:
        members: dict[str, list[psutil.Process]] = {name: [] for name in self.peak_rss}
        by_uid = {uid: name for name, uid in self.uids.items()}
        for process in psutil.process_iter(["uids"]):
            uids = process.info["uids"]
            if uids is not None and uids.real in by_uid:
                members[by_uid[uids.real]].append(process)
        for name, pid in self.pids.items():
            try:
                members[name].append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                pass
        return members

    def sample(self) -> None:
        with self._lock:
            for name, processes in self._members().items():
                rss = pss = 0
                for process in processes:
                    try:
                        memory = process.memory_full_info()
                        times = process.cpu_times()
                        key = (process.pid, process.create_time())
                    except psutil.Error:
                        continue
                    rss += memory.rss
                    pss += getattr(memory, "pss", memory.rss)
                    self._cpu[name][key] = times.user + times.system
                self.peak_rss[name] = max(self.peak_rss[name], rss)
                self.peak_pss[name] = max(self.peak_pss[name], pss)
            self.samples += 1

    def cpu_s(self, name: str) -> float:
        """CPU seconds ``name``'s processes used so far (sampling first)."""
        self.sample()
        with self._lock:
            return sum(self._cpu[name].values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self) -> Usage:
        self._thread.start()
        return self

    def stop(self) -> Usage:
        self._stop.set()
        self._thread.join()
        self.sample()
        return self
