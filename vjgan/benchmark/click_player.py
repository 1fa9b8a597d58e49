"""The click player: a separate process (its own JACK client or sound-card stream) playing a click
train at known sample positions, for the end-to-end latency bench.

The child plays silence until the parent says "go", then the train: clicks spaced irregularly
(seeded), so they fall at every phase of the video frame. Each click starts with a sharp edge.
It stamps every output block with `time.monotonic_ns()` and reports, for each click, the stamp of
the block it went out in. Protocol: JSON lines on stdout (["ready", info], then ["done", result]);
"go" and "stop" lines on stdin.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vjgan.errors import VjganError

CHILD_CODE = "from vjgan.benchmark.click_player import main; main()"
CLIENT_NAME = "vjgan-clicks"


@dataclass(frozen=True)
class PlayerConfig:
    device: str | int | None = None  # output device (JACK: "system"); None = the default output
    sample_rate: int = 48000
    block: int = 128
    seconds: float = 30.0  # length of the click train
    seed: int = 1
    gap_min_s: float = 0.25  # spacing between clicks, drawn uniformly
    gap_max_s: float = 0.45
    lead_s: float = 0.3  # silence before the first click
    client_name: str = CLIENT_NAME


def click_schedule(config: PlayerConfig) -> np.ndarray:
    """Start frames of the clicks, relative to "go"."""
    rng = np.random.default_rng(config.seed)
    times, t = [], config.lead_s
    while t < config.seconds - 0.2:
        times.append(t)
        t += rng.uniform(config.gap_min_s, config.gap_max_s)
    return np.round(np.asarray(times) * config.sample_rate).astype(np.int64)


def click_track(config: PlayerConfig, schedule: np.ndarray) -> np.ndarray:
    """The train: each hit is a noise burst with a 200 Hz body, 30 ms decay, first sample at 0.8."""
    rate = config.sample_rate
    rng = np.random.default_rng(config.seed + 1)
    t = np.arange(int(0.15 * rate)) / rate
    hit = (0.4 * rng.standard_normal(t.size) + 0.4 * np.sin(2 * np.pi * 200.0 * t)) * np.exp(-t / 0.03)
    hit[0] = 0.8
    track = np.zeros(int(config.seconds * rate) + hit.size, dtype=np.float32)
    for start in schedule:
        track[start : start + hit.size] += hit
    return track


class _Playback:
    """The output callback's state: silence until go, then the track; one stamp per block."""

    def __init__(self, track: np.ndarray, max_blocks: int) -> None:
        self.track = track
        self.go = False
        self.position = -1  # frames of the track played (-1 before go)
        self.stamps = np.zeros((max_blocks, 2), dtype=np.int64)
        self.blocks = 0
        self.underflows = 0

    def callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        now = time.monotonic_ns()
        if status and status.output_underflow:
            self.underflows += 1
        outdata.fill(0.0)
        if self.go and self.position < 0:
            self.position = 0
        if self.position < 0:
            return
        chunk = self.track[self.position : self.position + frames]
        outdata[: chunk.size, 0] = chunk
        self.position += frames
        if self.blocks < self.stamps.shape[0]:
            self.stamps[self.blocks] = (self.position, now)
            self.blocks += 1


def _send(kind: str, payload: Any) -> None:
    sys.stdout.write(json.dumps([kind, payload]) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    """Child entry point: `python -c "from vjgan.benchmark.click_player import main; main()" CONFIG_JSON`."""
    config = PlayerConfig(**json.loads((argv if argv is not None else sys.argv)[1]))
    from vjgan.audio.capture_child import _set_jack_client_name
    from vjgan.audio.devices import import_sounddevice

    _set_jack_client_name(config.client_name)
    sd = import_sounddevice()
    schedule = click_schedule(config)
    playback = _Playback(click_track(config, schedule), int(config.seconds * config.sample_rate / config.block) + 64)
    try:
        stream = sd.OutputStream(device=config.device, samplerate=config.sample_rate, channels=1, dtype="float32",
                                 blocksize=config.block, latency="low", callback=playback.callback)
        stream.start()
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        _send("error", f"cannot open the click output '{config.device}': {type(exc).__name__}: {exc}")
        return
    _send("ready", {"device": str(sd.query_devices(stream.device)["name"]), "latency_s": stream.latency})
    for line in sys.stdin:
        if line.strip() == "go":
            playback.go = True
        elif line.strip() == "stop":
            break
    stream.stop()
    stream.close()
    ends, stamps = playback.stamps[: playback.blocks, 0], playback.stamps[: playback.blocks, 1]
    idx = np.searchsorted(ends, schedule, side="right")
    click_ns = [int(stamps[i]) if i < ends.size else -1 for i in idx]
    _send("done", {"schedule": schedule.tolist(), "click_ns": click_ns, "played_frames": int(playback.position),
                   "underflows": playback.underflows})


class ClickPlayer:
    """The parent's handle on a player process: start (waits for "ready"), go, finish."""

    def __init__(self, config: PlayerConfig, timeout_s: float = 20.0) -> None:
        from vjgan.audio.supervisor import _child_env

        self.config = config
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD_CODE, json.dumps(asdict(config))],
                                     env=_child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err, text=True)
        kind, payload = self._receive(timeout_s)
        if kind != "ready":
            self.close()
            raise VjganError(str(payload))
        self.info: dict[str, Any] = payload

    def _receive(self, timeout_s: float) -> tuple[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self._err.seek(0)
            said = self._err.read().decode(errors="replace").strip().splitlines()[-3:]
            return "error", f"the click player gave no answer in {timeout_s:.0f} s: {' / '.join(said)}"
        kind, payload = json.loads(line)
        return str(kind), payload

    def _say(self, word: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()

    def go(self) -> None:
        self._say("go")

    def finish(self, timeout_s: float = 20.0) -> dict[str, Any]:
        """Stop playing; the schedule and the stamp of each click's output block."""
        self._say("stop")
        kind, payload = self._receive(timeout_s)
        self.close()
        if kind != "done":
            raise VjganError(str(payload))
        return payload

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._err.close()
