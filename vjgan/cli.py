"""The `vjgan` command. Library code raises VjganError; only this module prints and exits."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from vjgan import __version__
from vjgan.audio.analysis import ONSET_METHODS
from vjgan.errors import VjganError
from vjgan.cli_live import add_live_parser, cmd_live as _cmd_live
from vjgan.cli_types import positive_float, whole_number
from vjgan.pipeline import SIZE_RULE, ShowOptions, live_threads, size_ok

DEMO_OUTPUT = Path("demo.mp4")


class _Parser(argparse.ArgumentParser):
    """Usage mistakes print one line naming the flag, and where the help is, then exit 2."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _size(text: str) -> int | tuple[int, int]:
    """--size N (square) or WxH (e.g. 1280x720 for a 16:9 projector)."""
    parts = text.lower().split("x")
    try:
        sides = [int(part) for part in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not N or WxH pixels (e.g. 512 or 1280x720)") from None
    if len(sides) not in (1, 2):
        raise argparse.ArgumentTypeError(f"{text!r} is not N or WxH pixels (e.g. 512 or 1280x720)")
    for side in sides:
        if not size_ok(side):
            raise argparse.ArgumentTypeError(f"{side} {SIZE_RULE}")
    return sides[0] if len(sides) == 1 else (sides[0], sides[1])


def _start(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more seconds")
    return value


def _fps(text: str) -> float:
    value = positive_float(text)
    if value > 240:
        raise argparse.ArgumentTypeError(f"{text} fps is above the 240 fps limit")
    return value


def _add_onset_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--onset-method", default="hfc", choices=ONSET_METHODS, metavar="NAME",
                   help="aubio onset detection function (default hfc, tuned on music; "
                        f"one of {', '.join(ONSET_METHODS)})")


def _add_show_flags(p: argparse.ArgumentParser, fps_default: float, fps_help: str) -> None:
    from vjgan.gfx.upload import FIT_MODES

    _add_onset_flag(p)
    p.add_argument("--model", type=str, metavar="FILE|STYLE",
                   help="model: a vjgan .safetensors, an NVlabs .pkl or rosinality .pt (loaded "
                        "in a time-limited child process; `vjgan convert` once to start faster), "
                        "or a style name (see `vjgan styles`); default: the bundled model")
    p.add_argument("--size", type=_size, metavar="N",
                   help="output size in pixels: N (square) or WxH, e.g. 1280x720 (even sides; a "
                        "square model fills and centre-crops); default: the model's resolution")
    p.add_argument("--fps", type=_fps, default=fps_default, metavar="N", help=fps_help)
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="latent seed: the same audio, seed and preset give the same frames (default 0)")
    p.add_argument("--preset", default="default", metavar="NAME",
                   help="a preset in presets/ (e.g. default, calm) or a path to a .toml file")
    p.add_argument("--threads", type=whole_number(1, 256, "threads"), metavar="N",
                   help="torch threads for the generator on a CPU (default: torch's; for live, 1 on "
                        "machines with 2 cores or fewer, where a second thread stalls frames "
                        "whenever anything else runs)")
    p.add_argument("--fit", default="fill", choices=FIT_MODES,
                   help="a picture of another shape than the output: fill (scale and centre-crop, "
                        "default), fit (whole picture, black bars) or mirror (fit, bars mirrored)")
    p.add_argument("--no-flash-limit", action="store_true",
                   help="turn off the photosensitivity limiter (on by default: at most 3 flashes "
                        "a second and capped brightness jumps, measured on the output)")
    p.add_argument("--stem", action="append", default=[], metavar="ROLE=CH",
                   help="drive a role (pulse, motion, class, contrast, flash) from one input channel "
                        "(1-based, as printed on the interface) or 'mix' — or, with render, from "
                        "an audio file (LSD's pulse_audio, ...); repeatable, e.g. --stem pulse=1 "
                        "--stem class=3 or --stem pulse=drums.wav (default: every role hears the mix)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vjgan",
        description="Live audio-reactive StyleGAN visuals: line-in or a song file in, a window or "
                    "an mp4 out.")
    parser.add_argument("--version", action="version", version=f"vjgan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser("demo", help="play the bundled demo (a window, or demo.mp4 headless)",
                          description="Play the bundled model to the bundled demo track. With a "
                          "display: a window, with the audio when an output device exists. "
                          "Without a display or with --headless: render an mp4.")
    demo.add_argument("--headless", action="store_true", help="render an mp4 instead of a window")
    demo.add_argument("-o", "--output", type=Path, default=DEMO_OUTPUT, metavar="OUT.mp4",
                      help="where the headless demo is written (default demo.mp4)")
    _add_show_flags(demo, 30.0, "frames per second (default 30)")

    render = sub.add_parser("render", help="render an audio file to an mp4 offline",
                            description="Render a song to H.264 video with the song muxed in as AAC "
                            "(stereo, at the song's own sample rate). Frame i shows the audio up to "
                            "i/fps; the same seed gives identical frames on a rerun.")
    render.add_argument("audio", type=Path, metavar="AUDIO", help="WAV, FLAC, OGG or MP3 file")
    render.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mp4",
                        help="the mp4 to write (replaced atomically; nothing left on failure)")
    render.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    render.add_argument("--start", type=_start, default=0.0, metavar="S",
                        help="render the song from S seconds in (stems follow; default 0)")
    render.add_argument("--duration", type=positive_float, metavar="S",
                        help="render S seconds of the song (default: to the end)")
    render.add_argument("--batch", type=whole_number(1, 64, "frames"), default=1, metavar="N",
                        help="generator frames per call (1-64, default 1; larger batches help on a GPU)")
    render.add_argument("--trace", type=Path, metavar="OUT.png",
                        help="also plot the reaction (pulse, motion speed, class vector) over time; "
                             "OUT.json writes the data instead")
    _add_show_flags(render, 30.0, "frames per second of the video (default 30)")

    add_live_parser(sub, _add_show_flags)

    analyze = sub.add_parser("analyze", help="analyse an audio file: onsets, tempo, bands, chroma",
                             description="Run the live analyser over a file at block rate and write "
                             "what it hears: onsets (estimated and detection times), BPM and beats, "
                             "band levels and a chromagram, as columnar JSON and optionally a plot.")
    analyze.add_argument("audio", type=Path, metavar="AUDIO", help="WAV, FLAC, OGG or MP3 file")
    analyze.add_argument("--json", type=Path, required=True, metavar="OUT.json",
                         help="where to write the analysis")
    analyze.add_argument("--plot", type=Path, metavar="OUT.png",
                         help="also draw waveform, onsets, band levels and chromagram")
    _add_onset_flag(analyze)

    sub.add_parser("devices", help="list audio inputs and outputs, and displays",
                   description="List audio input and output devices with channels and rates, "
                   "and the displays a show window can open on.")
    sub.add_parser("styles", help="list the installed model styles (names for --model)",
                   description="List the model styles --model accepts by name, with their files: "
                   "the bundled models, then the .safetensors files in your model folder "
                   "($VJGAN_MODEL_DIR, else $XDG_DATA_HOME/vjgan/models). vjgan never downloads models.")
    from vjgan.benchmark.cli import add_parser as add_bench_parser
    from vjgan.train.cli import add_parser as add_train_parser

    add_train_parser(sub)
    add_bench_parser(sub)
    params = sub.add_parser("params", help="list every parameter a show can control",
                            description="The parameter registry: every parameter OSC, MIDI, presets "
                            "and scenes can set, with its type, range, default, unit, smoothing and "
                            "OSC address (/vjgan/ + the dotted name with slashes).")
    params.add_argument("--preset", default="default", metavar="NAME|FILE",
                        help="the show's preset (its effects and scenes add parameters)")
    params.add_argument("--markdown", action="store_true", help="print a Markdown table")
    params.add_argument("--touchosc", metavar="OUT.tosc",
                        help="also write a TouchOSC layout with a control for each parameter")
    convert = sub.add_parser("convert", help="convert a StyleGAN .pkl/.pt to a vjgan .safetensors model",
                             description="Read an NVlabs StyleGAN2-ADA/StyleGAN3 .pkl, a rosinality "
                             "stylegan2-pytorch .pt or a vjgan model (the format is read from the file's "
                             "content) in a separate process with a time limit, and write it as a vjgan "
                             ".safetensors model for --model, or for the model folder (see `vjgan styles`).")
    convert.add_argument("input", type=Path, metavar="IN", help="the model file to convert")
    convert.add_argument("output", type=Path, metavar="OUT.safetensors",
                         help="where to write the vjgan model (replaced atomically)")
    convert.add_argument("--timeout", type=positive_float, default=600.0, metavar="S",
                         help="give up when reading IN takes longer than S seconds (default 600)")
    return parser


def cmd_convert(args: argparse.Namespace) -> int:
    from vjgan.files import check_folder
    from vjgan.gan.loader import load_isolated
    from vjgan.gan.modelfile import architecture_name, save_generator

    out: Path = args.output
    if out.suffix.lower() != ".safetensors":
        raise VjganError(f"{out}: vjgan model files end in .safetensors; name the output e.g. "
                         f"{out.with_suffix('.safetensors')}")
    check_folder(out, "the model file")  # before the model is loaded
    G = load_isolated(args.input, timeout_s=args.timeout)
    save_generator(G, out)
    params = sum(p.numel() for p in G.parameters())
    print(f"wrote {out}: {architecture_name(G)} {G.img_resolution}x{G.img_resolution}, "
          f"z_dim {G.z_dim}, c_dim {G.c_dim}, {params / 1e6:.2f}M parameters")
    return 0


def show_options(args: argparse.Namespace) -> ShowOptions:
    return ShowOptions(model=args.model, size=args.size, seed=args.seed, preset=args.preset,
                       fps=args.fps, stems=tuple(args.stem), onset_method=args.onset_method,
                       fit=args.fit, flash_limit=not args.no_flash_limit, threads=args.threads)


def cmd_render(args: argparse.Namespace) -> int:
    from vjgan.render import render_file

    summary = render_file(args.audio, args.output, show_options(args),
                          progress=not args.no_progress, start_s=args.start,
                          duration_s=args.duration, batch_size=args.batch, trace=args.trace)
    print(f"wrote {summary.output} ({summary.frames} frames, {summary.duration_s:.1f} s of audio, "
          f"rendered in {summary.wall_s:.1f} s, {summary.realtime_factor:.2f}x real time)")
    if args.trace is not None:
        print(f"wrote {args.trace}")
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    show = show_options(args)
    return _cmd_live(args, dataclasses.replace(show, threads=live_threads(show.threads)))


def cmd_demo(args: argparse.Namespace) -> int:
    from vjgan.audio.demo_track import ensure_demo_track

    from vjgan.gfx.display import desktop_display_present

    track = ensure_demo_track()
    if not args.headless and desktop_display_present():
        from vjgan.live import LiveOptions, run_live

        try:
            run_live(LiveOptions(show=show_options(args), audio_file=track))
            return 0
        except VjganError as exc:
            print(f"vjgan: no window ({exc}); rendering {args.output} instead", file=sys.stderr)
    from vjgan.render import render_file

    summary = render_file(track, args.output, show_options(args))
    print(f"demo written to {summary.output.resolve()} ({summary.frames} frames, "
          f"{summary.duration_s:.1f} s) — open it with any video player")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from vjgan.audio.analysis import AnalysisConfig
    from vjgan.audio.report import analyze_file, plot_report, write_json

    report = analyze_file(args.audio, AnalysisConfig(onset_method=args.onset_method))
    write_json(report, args.json)
    bpm = f"{report['bpm']:.1f} BPM" if report.get("bpm") else "no steady tempo"
    print(f"wrote {args.json}: {len(report['onsets'])} onsets, {bpm}, "
          f"{len(report['frames']['t'])} blocks of {report['hop']} samples")
    if args.plot is not None:
        plot_report(report, args.audio, args.plot)
        print(f"wrote {args.plot}")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from vjgan.audio.devices import describe_devices
    from vjgan.gfx.display import list_displays

    print(describe_devices())
    displays, reason = list_displays()
    print("displays (--display N):" + ("" if displays else f" none ({reason})"))
    for d in displays:
        print(f"  {d.describe()}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from vjgan.benchmark.cli import run

    return run(args)


def cmd_train(args: argparse.Namespace) -> int:
    from vjgan.train.cli import run

    return run(args)


def cmd_params(args: argparse.Namespace) -> int:
    from vjgan.control.params_table import params_report

    print(params_report(args.preset, args.markdown, args.touchosc))
    return 0


def cmd_styles(args: argparse.Namespace) -> int:
    from vjgan.gan.styles import list_styles, user_dir

    styles = list_styles()
    width = max(len(name) for name in styles) if styles else 0
    for name, path in styles.items():
        print(f"{name:<{width}}  {path}")
    user = user_dir()
    note = "" if user.is_dir() else " (does not exist yet)"
    print(f"add a style: put a .safetensors model file in {user}{note}")
    return 0


COMMANDS = {"demo": cmd_demo, "render": cmd_render, "live": cmd_live, "analyze": cmd_analyze,
            "devices": cmd_devices, "styles": cmd_styles, "convert": cmd_convert,
            "params": cmd_params, "train": cmd_train,
            "bench": cmd_bench}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except VjganError as exc:
        print(f"vjgan: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vjgan: stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
