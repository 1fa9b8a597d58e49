"""Bindings at work: MIDI messages -> registry values, soft takeover, MIDI learn, and the
value / LED feedback owed to the controller. No ports or threads here: `MidiHook` feeds it the
frame's messages and sends what `feedback()` returns.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Sequence

import mido

from vjgan.control.midi_map import Binding, Control, MidiMap
from vjgan.control.midi_values import Pickup, encoder_delta, to_position, to_value
from vjgan.errors import VjganError

SOURCE = "midi"  # the registry source name of every change made here


@dataclass
class _State:
    """What one binding remembers between messages."""

    pickup: Pickup
    pressed: bool = False  # buttons: the last press / release seen
    position: float | None = None  # relative encoders: where the virtual knob sits (0..1)
    last_sent: int | None = None  # feedback: the last value sent, so nothing is sent twice


@dataclass
class _Pending:
    value: Any
    binding: Binding
    relative: bool = False


@dataclass(frozen=True)
class LearnResult:
    binding: Binding | None
    message: str


class MidiController:
    def __init__(self, registry: Any, midi_map: MidiMap) -> None:
        self.registry = registry
        self.map = midi_map
        self.learning: str | None = None  # the parameter armed for MIDI learn
        self.learned: list[Binding] = []
        self._lock = threading.Lock()
        self._elsewhere: set[str] = set()  # params changed by another source since the last frame
        self._index: dict[tuple[str, int], list[Binding]] = {}
        self._states: dict[Control, _State] = {}
        self._feedback_due: set[Control] = set()
        self._rebuild()
        self._unsubscribe = registry.subscribe(self._on_change)

    # -- the bindings ------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self._index = {}
        states = {}
        for b in self.map.bindings:
            self._index.setdefault((b.control.kind, b.control.number), []).append(b)
            states[b.control] = self._states.get(b.control) or _State(
                Pickup(self.map.pickup_tolerance, enabled=self.map.pickup and not b.relative))
        self._states = states
        self._feedback_due = {b.control for b in self.map.bindings}

    def bindings_for(self, msg: Any) -> list[Binding]:
        number = msg.control if msg.type == "control_change" else getattr(msg, "note", None)
        kind = "cc" if msg.type == "control_change" else "note"
        return [b for b in self._index.get((kind, number), ()) if b.control.hears(msg)]

    def _on_change(self, name: str, value: Any, source: str) -> None:
        # Runs in whichever thread called Registry.set: only note it, act in the next frame.
        if source != SOURCE:
            with self._lock:
                self._elsewhere.add(name)

    def release_all(self) -> None:
        """After a reconnect: every knob picks up again, every LED is sent again."""
        for st in self._states.values():
            st.pickup.release()
            st.last_sent = None
            st.pressed = False
        self._feedback_due = set(self._states)

    def resend_all(self) -> None:
        """Send every LED / value again on the next `feedback()` (nothing else changes)."""
        for st in self._states.values():
            st.last_sent = None
        self._feedback_due = set(self._states)

    @property
    def waiting_to_pick_up(self) -> int:
        """Controls that were moved but have not met their value yet (for the HUD)."""
        return sum(1 for st in self._states.values()
                   if not st.pickup.engaged and st.pickup._last is not None)

    # -- one frame ---------------------------------------------------------------------------
    def process(self, messages: Sequence[Any]) -> tuple[list[LearnResult], list[Any]]:
        """Apply the frame's messages. Returns (MIDI learn outcomes, messages no binding heard)."""
        with self._lock:
            elsewhere, self._elsewhere = self._elsewhere, set()
        for b in self.map.bindings:
            if b.param in elsewhere:
                st = self._states[b.control]
                st.pickup.release()
                st.position = None
                self._feedback_due.add(b.control)
        learned: list[LearnResult] = []
        unheard: list[Any] = []
        pending: dict[str, _Pending] = {}
        for msg in messages:
            if self.learning is not None and _learnable(msg):
                learned.append(self._learn(msg))
                continue
            heard = self.bindings_for(msg) if msg.type in ("control_change", "note_on", "note_off") else []
            if not heard:
                unheard.append(msg)
            for b in heard:
                self._apply(b, msg, pending)
        for param, p in pending.items():
            self.registry.set(param, p.value, SOURCE)
            for b in self.map.bindings:
                if b.param != param:
                    continue
                if b is not p.binding:
                    self._states[b.control].pickup.release()  # another control moved it
                if b is not p.binding or p.relative:
                    self._feedback_due.add(b.control)  # LED rings of encoders follow too
        return learned, unheard

    def _apply(self, b: Binding, msg: Any, pending: dict[str, _Pending]) -> None:
        spec = self.registry.spec(b.param)
        st = self._states[b.control]
        if spec.kind in ("trigger", "bool"):
            if msg.type == "control_change":
                pressed = msg.value >= 64
            else:
                pressed = msg.type == "note_on" and msg.velocity > 0
            edge = pressed != st.pressed
            st.pressed = pressed
            if not edge:
                return
            if spec.kind == "trigger":
                if pressed:
                    self.registry.set(b.param, 1, SOURCE)
            elif b.button == "toggle":
                if pressed:
                    current = pending[b.param].value if b.param in pending else self.registry.get(b.param)
                    pending[b.param] = _Pending(not current, b)
                    self._feedback_due.add(b.control)
            else:
                pending[b.param] = _Pending(pressed, b)
            return
        lo = b.lo if b.lo is not None else spec.min
        hi = b.hi if b.hi is not None else spec.max
        if msg.type != "control_change":
            return
        if b.relative:
            if st.position is None:
                st.position = to_position(self.registry.get(b.param), spec.kind, lo, hi, b.curve,
                                          spec.choices)
            st.position = min(1.0, max(0.0, st.position + encoder_delta(msg.value, b.mode) * b.step))
            pending[b.param] = _Pending(to_value(st.position, spec.kind, lo, hi, b.curve, spec.choices),
                                        b, relative=True)
            return
        x = msg.value / 127.0
        current = to_position(self.registry.get(b.param), spec.kind, lo, hi, b.curve, spec.choices)
        if st.pickup.offer(x, current):
            pending[b.param] = _Pending(to_value(x, spec.kind, lo, hi, b.curve, spec.choices), b)

    # -- feedback ----------------------------------------------------------------------------
    def feedback(self) -> list[Any]:
        """Messages that bring the controller's LEDs / motor faders / rings up to date."""
        out = []
        due, self._feedback_due = self._feedback_due, set()
        if not self.map.feedback:
            return out
        for b in self.map.bindings:
            if b.control not in due or not b.feedback:
                continue
            spec = self.registry.spec(b.param)
            if spec.kind == "trigger":
                continue
            value = self.registry.get(b.param)
            if spec.kind == "bool":
                level = b.led_on if value else b.led_off
            else:
                lo = b.lo if b.lo is not None else spec.min
                hi = b.hi if b.hi is not None else spec.max
                level = round(127 * to_position(value, spec.kind, lo, hi, b.curve, spec.choices))
            st = self._states[b.control]
            if st.last_sent == level:
                continue
            st.last_sent = level
            channel = b.control.channel or 0
            if b.control.kind == "cc":
                out.append(mido.Message("control_change", channel=channel, control=b.control.number,
                                        value=level))
            else:
                out.append(mido.Message("note_on", channel=channel, note=b.control.number, velocity=level))
        return out

    # -- MIDI learn --------------------------------------------------------------------------
    def arm(self, name: str) -> str:
        """Arm MIDI learn: the next control moved is bound to `name` (a registry parameter;
        a bare action name such as "blackout" means action.blackout). Returns the full name."""
        if name not in self.registry and f"action.{name}" in self.registry:
            name = f"action.{name}"
        spec = self.registry.spec(name)  # VjganError with did-you-mean for unknown names
        if spec.kind == "list":
            raise VjganError(f"MIDI learn: {name} is a list — a control cannot drive it")
        self.learning = name
        return name

    def disarm(self) -> None:
        self.learning = None

    def _learn(self, msg: Any) -> LearnResult:
        name = self.learning
        assert name is not None
        spec = self.registry.spec(name)
        kind = "cc" if msg.type == "control_change" else "note"
        if kind == "note" and spec.kind not in ("trigger", "bool"):
            return LearnResult(None, f"MIDI learn: a note or pad cannot drive {name} ({spec.kind}) — "
                                     "move a knob or fader; still armed")
        control = Control(kind, msg.control if kind == "cc" else msg.note, msg.channel)
        button = "toggle" if spec.kind == "bool" and kind == "note" else "momentary"
        binding = Binding(control=control, param=name, button=button)
        self.map = self.map.with_binding(binding)
        self._rebuild()
        st = self._states[control]
        if kind == "note" or spec.kind in ("trigger", "bool"):
            st.pressed = kind == "cc" and msg.value >= 64
        else:  # the knob is at msg.value now: moving it across the value takes over
            lo = spec.min if spec.min is not None else 0.0
            hi = spec.max if spec.max is not None else 1.0
            st.pickup.offer(msg.value / 127.0, to_position(self.registry.get(name), spec.kind, lo, hi,
                                                           "linear", spec.choices))
        self.learned.append(binding)
        self.learning = None
        return LearnResult(binding, f"MIDI learn: {control.label()} -> {name}")

    def close(self) -> None:
        self._unsubscribe()


def _learnable(msg: Any) -> bool:
    """A control the performer moved on purpose: a CC, or a key / pad pressed."""
    return msg.type == "control_change" or (msg.type == "note_on" and msg.velocity > 0)

