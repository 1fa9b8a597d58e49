"""`vjgan live`: its flags and the command, which wires the show's controls (OSC, preset hot
reload, the parameter registry) into the realtime loop."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from vjgan.cli_types import positive_float


def add_live_parser(sub: Any, add_show_flags: Callable[..., None]) -> None:
    live = sub.add_parser("live", help="run the realtime show",
                          description="The realtime loop on a wall clock: line-in (or a file played "
                          "at real time for rehearsal) to a window, or offscreen with --headless.")
    source = live.add_mutually_exclusive_group()
    source.add_argument("--audio-file", type=Path, metavar="FILE",
                        help="consume this file at real time instead of line-in (rehearsal)")
    source.add_argument("--audio-device", metavar="NAME",
                        help="line-in device name (substring) or index; default: the system input")
    live.add_argument("--sample-rate", type=int, default=48000, metavar="HZ",
                      help="line-in sample rate (default 48000)")
    live.add_argument("--channels", type=int, default=2, metavar="N",
                      help="line-in channels to capture (default 2; more for stems)")
    live.add_argument("--block", type=int, default=128, metavar="N",
                      help="line-in block size in samples (default 128: 2.7 ms at 48 kHz)")
    live.add_argument("--monitor-device", metavar="NAME",
                      help="output device that plays --audio-file (default: the system output)")
    live.add_argument("--fullscreen", action="store_true", help="fullscreen window (projector)")
    live.add_argument("--display", type=int, default=0, metavar="N",
                      help="which display the window opens on (default 0; a wrong number lists the "
                           "real ones)")
    live.add_argument("--headless", action="store_true",
                      help="render offscreen (EGL): no window, e.g. with --record or in CI")
    live.add_argument("--duration", type=positive_float, metavar="S",
                      help="stop after S seconds (default: until the audio ends or you quit)")
    live.add_argument("--record", type=Path, metavar="OUT.mp4",
                      help="also write what is shown, with the input audio, to an mp4")
    live.add_argument("--no-monitor", action="store_true",
                      help="do not play --audio-file to the speakers")
    add_show_flags(live, 60.0, "frame-rate cap of the show (default 60)")
    live.add_argument("--hud", action="store_true",
                      help="start with the operator HUD shown (fps, timings, meters, control status, "
                           "errors; key h toggles it; never recorded)")
    osc = live.add_argument_group("OSC control (see docs/control.md)")
    osc.add_argument("--osc-port", type=int, default=None, metavar="PORT",
                     help="UDP port for OSC control (default 8000, TouchOSC's send port)")
    osc.add_argument("--osc-bind", default=None, metavar="ADDRESS",
                     help="where to listen for OSC (default 127.0.0.1; a LAN address needs --osc-allow)")
    osc.add_argument("--osc-allow", action="append", default=[], metavar="ADDRESS[/BITS]",
                     help="a sender allowed to control the show (repeatable), e.g. 192.168.1.23 or "
                          "192.168.1.0/24")
    osc.add_argument("--osc-feedback", action="append", default=[], metavar="HOST:PORT",
                     help="always send parameter changes to this OSC client (repeatable)")
    osc.add_argument("--osc-config", type=Path, default=None, metavar="FILE.toml",
                     help="OSC settings: an [osc] table with port, bind, allow, feedback")
    osc.add_argument("--no-osc", action="store_true", help="do not listen for OSC")
    midi = live.add_argument_group("MIDI control (see docs/midi.md)")
    midi.add_argument("--midi", metavar="NAME",
                      help="MIDI controller: its port name or part of it (e.g. nanoKONTROL2)")
    midi.add_argument("--midi-map", metavar="NAME|FILE",
                      help="controller map: nanokontrol2, midimix, apcmini or a .toml file")
    midi.add_argument("--midi-save", type=Path, metavar="FILE",
                      help="write the map with MIDI-learned bindings here after every learn")
    midi.add_argument("--midi-notes", metavar="NAME",
                      help="play from MIDI notes on this port (pitch classes -> classes, "
                           "velocity -> pulse)")
    midi.add_argument("--midi-notes-channel", type=int, metavar="N",
                      help="only notes on this channel (1-16)")
    midi.add_argument("--midi-clock", metavar="NAME",
                      help="follow MIDI clock from this port (default: the notes port, else the "
                           "controller)")
    midi.add_argument("--midi-backend", default="auto", metavar="API",
                      help="auto (ALSA, then JACK), alsa, jack or a mido backend name")
    midi.add_argument("--no-midi-feedback", action="store_true",
                      help="send no LED/value feedback to the controller")
    live.add_argument("--no-preset-reload", action="store_true",
                      help="do not reload the preset file when it changes")


def cmd_live(args: argparse.Namespace, show: Any) -> int:
    from vjgan.control.build import build_control_hooks
    from vjgan.control.midi import build_midi_hook
    from vjgan.control.presets import load_preset
    from vjgan.live import LiveOptions, run_live

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    preset = load_preset(args.preset)  # read once: the show and its controls start from the same file
    opts = LiveOptions(show=show, audio_file=args.audio_file,
                       audio_device=args.audio_device, fullscreen=args.fullscreen,
                       display=args.display, headless=args.headless, duration_s=args.duration,
                       record=args.record, monitor=not args.no_monitor,
                       sample_rate_hz=args.sample_rate, channels=args.channels, block=args.block,
                       monitor_device=args.monitor_device, hud=args.hud, preset=preset)
    control = build_control_hooks(
        preset, args.preset, osc=not args.no_osc, osc_port=args.osc_port,
        osc_bind=args.osc_bind, osc_allow=args.osc_allow, osc_feedback=args.osc_feedback,
        osc_config=args.osc_config, reload_preset=not args.no_preset_reload, log=say)
    midi = build_midi_hook(
        control.registry, port=args.midi, map_file=args.midi_map, backend=args.midi_backend,
        notes_port=args.midi_notes, notes_channel=args.midi_notes_channel,
        clock_port=args.midi_clock, tempo=control.tempo, save_path=args.midi_save,
        feedback=False if args.no_midi_feedback else None)
    if midi is not None and control.osc is not None:
        control.osc.add_commands(midi.osc_commands())
    summary = run_live(opts, hooks=control.hooks(midi), log=say)
    print(f"showed {summary.frames} frames in {summary.elapsed_s:.1f} s ({summary.fps:.1f} fps, "
          f"frame time p50 {summary.frame_ms_p50:.1f} ms, p99 {summary.frame_ms_p99:.1f} ms)")
    if summary.record is not None:
        dropped = (f" ({summary.frames_dropped} frames dropped: the encoder fell behind)"
                   if summary.frames_dropped else "")
        print(f"recorded {summary.record}{dropped}")
    return 0
