"""MIDI through real JACK MIDI ports (a JACK dummy server, NOTES §3): learn, soft takeover, LED
feedback, a flood, and a reconnect after the controller's port disappears and comes back.

The "controller" is a separate process owning two virtual JACK MIDI ports (it sends on one and
receives feedback on the other); killing it with SIGKILL is pulling the USB cable.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time

import mido
import pytest

from jack_util import JackServer, jackd_available
from vjgan.control.hooks import ShowState
from vjgan.control.midi import MidiHook
from vjgan.control.midi_map import MidiMap
from vjgan.control.midi_ports import MidoBackend
from vjgan.control.registry import build_registry


def _rtmidi_has_jack() -> bool:
    try:
        import rtmidi
    except ImportError:
        return False
    return rtmidi.API_UNIX_JACK in rtmidi.get_compiled_api()


pytestmark = [
    pytest.mark.skipif(not jackd_available(), reason="jackd is not installed (./vj test installs jackd2)"),
    pytest.mark.skipif(not _rtmidi_has_jack(), reason="python-rtmidi with JACK support is not installed"),
]

DEVICE = """
import sys, time, mido
backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
out = backend.open_output("ctl-out", client_name="vjgan-test-ctl")
def show(msg):
    print(str(msg), flush=True)
feedback = backend.open_input("ctl-in", client_name="vjgan-test-ctl-fb", callback=show)
print("ready", flush=True)
for line in sys.stdin:
    words = line.split()
    if words[0] == "flood":  # as fast as JACK's buffers take it without dropping
        for i in range(int(words[1])):
            out.send(mido.Message("sysex", data=[0x7E] * 20))
            out.send(mido.Message("clock"))
            if i % 5 == 4:
                time.sleep(0.001)
        time.sleep(0.3)
    else:
        out.send(mido.Message.from_str(line.strip()))
"""


class Device:
    """The controller process: `send` what a knob would, `received` what came back."""

    def __init__(self, jack: JackServer, script) -> None:
        self.proc = subprocess.Popen([sys.executable, str(script)], env=jack.env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.lines.get(timeout=20) == "ready"

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def send(self, text: str) -> None:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def received(self, timeout_s: float = 0.0) -> list[mido.Message]:
        out = []
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
                out.append(mido.Message.from_str(line))
            except queue.Empty:
                return out

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """A clean exit (its ports are unregistered at once; a killed client costs the server
        a timeout when it stops)."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


def cc(value: int) -> str:
    return f"control_change channel=0 control=7 value={value}"


@pytest.fixture
def jack(monkeypatch):
    with JackServer() as server:
        for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER", "JACK_NO_AUDIO_RESERVATION"):
            monkeypatch.setenv(key, server.env[key])
        yield server


def test_learn_takeover_feedback_flood_and_reconnect_over_jack(jack, tmp_path):
    script = tmp_path / "device.py"
    script.write_text(DEVICE)
    device = Device(jack, script)
    registry = build_registry()
    log: list[str] = []
    state = ShowState(engine=None, chain=None, log=log.append)
    hook = MidiHook(registry, MidiMap(name="vjgan-test-ctl"), MidoBackend("jack"), poll_s=0.2)
    link = hook.links["vjgan-test-ctl"]
    t_s = [0.0]

    def until(condition, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, f"timed out; status {hook.status()}, errors {state.errors}"
            t_s[0] += 0.01
            hook.before_frame(t_s[0], state)
            time.sleep(0.01)

    def value() -> float:
        return registry.get("react.pulse.react")  # range 0..4, default 0.5 (a knob at cc 16)

    try:
        until(lambda: link.connected and link.has_output)
        assert link.port_name == "vjgan-test-ctl:ctl-out" and link.output_name == "vjgan-test-ctl-fb:ctl-in"

        # MIDI learn: arm, turn a knob, bound
        hook.arm("react.pulse.react")
        device.send(cc(100))
        until(lambda: hook.controller.learning is None)
        assert [(b.control.label(), b.param) for b in hook.controller.map.bindings] == [
            ("ch1 cc 7", "react.pulse.react")]

        # soft takeover: far above the value nothing happens; crossing it takes over
        device.send(cc(90))
        until(lambda: hook.counts().get("received", 0) >= 2)
        assert value() == 0.5
        device.send(cc(5))
        until(lambda: value() == pytest.approx(4 * 5 / 127))

        # feedback: a change from elsewhere reaches the controller
        device.received(0.2)
        registry.set("react.pulse.react", 2.0, "osc")
        until(lambda: mido.Message("control_change", control=7, value=64) in device.received(0.05))

        # unplug: the port vanishes, the show notices and goes on
        device.kill()
        until(lambda: any("is gone" in e for e in state.errors))
        assert link.state == "lost" and "unplugged" in hook.status()["MIDI"]
        registry.set("react.pulse.react", 1.0, "osc")  # the value moves while it is away

        # plug back in: reopened by name, LEDs refreshed, knobs pick up again
        device = Device(jack, script)
        until(lambda: link.connected and link.has_output and link.generation == 2)
        until(lambda: mido.Message("control_change", control=7, value=32) in device.received(0.05))
        device.send(cc(100))  # the knob was left at 100: no jump
        until(lambda: hook.controller.waiting_to_pick_up == 1)
        assert value() == 1.0
        device.send(cc(20))
        until(lambda: value() == pytest.approx(4 * 20 / 127))

        # a SysEx + clock flood, then one knob move: the move lands, the flood is dropped
        device.send("flood 3000")
        device.send(cc(40))
        before = hook.counts()["received"]
        until(lambda: value() == pytest.approx(4 * 40 / 127))
        assert hook.counts()["received"] - before > 2500  # the ticks came through (SysEx is
        assert hook.clock.bpm is None  # ... refused by the backend); ~3000 ticks/s are no tempo
        assert hook.clock.rejected > 0
    finally:
        hook.close()
        device.stop()
