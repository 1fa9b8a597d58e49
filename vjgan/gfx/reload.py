"""Noticing edited shader files (no GL, no clock: stream time is an input).

`FileWatcher.poll(t_s)` stats the watched files at most once per `interval_s` of `t_s` and
reports each file whose (mtime, size, inode) changed since it was last seen, or that went
missing. The effect chain compiles what changed and swaps programs only on success
(`EffectChain.poll_reload`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

RELOAD_INTERVAL_S = 0.25

Signature = tuple[int, int, int] | None


def signature(path: Path) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


@dataclass(frozen=True)
class FileChange:
    path: Path
    missing: bool  # True: the file is gone (or unreadable); False: it changed


class FileWatcher:
    def __init__(self, interval_s: float = RELOAD_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._seen: dict[Path, Signature] = {}
        self._last_poll_s: float | None = None

    def watch(self, path: Path) -> None:
        """Start watching `path` as it is now (an edit after this call counts as a change)."""
        self._seen[path] = signature(path)

    def unwatch(self, path: Path) -> None:
        self._seen.pop(path, None)

    @property
    def paths(self) -> list[Path]:
        return list(self._seen)

    def poll(self, t_s: float) -> list[FileChange]:
        """Changes since the last poll; nothing if the last poll was less than interval_s ago."""
        if self._last_poll_s is not None and 0.0 <= t_s - self._last_poll_s < self.interval_s:
            return []
        self._last_poll_s = t_s
        changes = []
        for path, old in self._seen.items():
            new = signature(path)
            if new != old:
                self._seen[path] = new
                changes.append(FileChange(path, missing=new is None))
        return changes
