"""Hot reload: edit the preset file during a show and the change is applied on the next frame.

A background thread stats the file (never the render thread); once a change has stood still for one
poll (an editor may write in pieces) it loads and validates it there. The frame hook then applies a
good preset through the registry (values glide with their smoothing, scenes are replaced); a broken
file is reported in one line and the last good preset stays live.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Mapping

from vjgan.control.hooks import ShowState
from vjgan.control.presets import Preset, load_preset
from vjgan.control.registry import Registry, scene_spec
from vjgan.control.scenes import ScenePlayer
from vjgan.errors import VjganError


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class PresetWatcher:
    """LiveHook reloading `path` when it changes."""

    name = "preset"

    def __init__(self, path: str | Path, registry: Registry, scenes: ScenePlayer | None = None,
                 current: Preset | None = None, poll_s: float = 0.5) -> None:
        self.path = Path(path)
        self.registry = registry
        self.scenes = scenes
        self.current = current
        self.poll_s = poll_s
        self.reloads = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._result: Preset | str | None = None
        self._stop = threading.Event()
        self._loaded_sig = _signature(self.path)  # before the thread: an edit right away counts
        self._thread = threading.Thread(target=self._watch, name="vjgan-preset-watch", daemon=True)
        self._thread.start()

    # -- watcher thread ----------------------------------------------------------------------
    def _watch(self) -> None:
        loaded = seen = self._loaded_sig
        while not self._stop.wait(self.poll_s):
            sig = _signature(self.path)
            if sig is None or sig == loaded:
                seen = sig
                continue
            if sig != seen:  # changed since the last look: wait until it holds still
                seen = sig
                continue
            loaded = sig
            try:
                result: Preset | str = load_preset(self.path)
            except VjganError as exc:
                result = str(exc)
            except Exception as exc:  # noqa: BLE001 - a reload never stops the show
                result = f"preset {self.path}: {exc}"
            with self._lock:
                self._result = result

    # -- the hook ----------------------------------------------------------------------------
    def before_frame(self, t_s: float, state: ShowState) -> None:
        with self._lock:
            result, self._result = self._result, None
        if result is None:
            return
        if isinstance(result, str):
            if result != self.last_error:
                state.report(f"{result} — keeping the last good preset")
            self.last_error = result
            return
        self.last_error = None
        self.apply(result, state)

    def apply(self, preset: Preset, state: ShowState) -> None:
        chain_now = [s.name for s in getattr(state.chain, "specs", [])]
        chain_new = [e.name for e in preset.effects]
        if chain_now and chain_new != chain_now:
            state.report(f"preset {self.path}: effect chain {' + '.join(chain_new) or '(none)'} differs "
                         "from the running one — restart the show to rebuild it; other values applied")
        values = {n: v for n, v in preset.values().items() if n in self.registry}
        try:
            self.registry.set_many(values, "preset")
        except VjganError as exc:
            state.report(f"preset {self.path}: {exc} — keeping the last good preset")
            return
        if self.scenes is not None:
            for old in [n for n in self.registry.names() if n.startswith("scene.")]:
                self.registry.remove(old)
            for s in preset.scenes:
                self.registry.add(scene_spec(s.name))
            self.scenes.scenes = {s.name: s for s in preset.scenes}
        self.current = preset
        self.reloads += 1
        state.log(f"vjgan: preset {self.path.name} reloaded")

    def status(self) -> Mapping[str, str]:
        name = self.current.name if self.current is not None else self.path.stem
        if self.last_error:
            return {"Preset": f"{name} · reload failed (last good kept)"}
        return {"Preset": f"{name}" + (f" · reloaded ×{self.reloads}" if self.reloads else "")}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def __del__(self) -> None:  # pragma: no cover - a forgotten close must not leave a thread
        self._stop.set()


