"""Cost of the operator HUD in a window: drawing the cached panel every frame, and re-rendering its
text (at most 4 times a second).

    python bench/hud_bench.py [--size 1280x720] [--frames 300] [--json OUT.json]

Opens a real pygame OpenGL window (SDL_VIDEODRIVER=offscreen when no display is set), presents a
chain-sized texture each frame with and without the HUD, and times each variant to `ctx.finish()`
(so the GL work is counted, not just queued). Variants alternate frame by frame, so load from other
processes hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _stats(ms: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
            "mean_ms": float(a.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1280x720", help="window WxH (default 1280x720)")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")

    import numpy as np

    from vjgan.benchmark.machine import describe
    from vjgan.gfx.display import KEY_HELP, open_output
    from vjgan.gfx.hud import HudOverlay, HudStats, hud_lines

    out = open_output((w, h), headless=False, title="vjgan hud bench")
    try:
        picture = out.ctx.texture((w, h), 4, np.random.default_rng(0).integers(
            0, 255, (h, w, 4), dtype=np.uint8).tobytes())
        hud = HudOverlay(out.ctx, visible=True)
        rng = np.random.default_rng(1)
        timings: dict[str, list[float]] = {"present": [], "present+hud": [], "refresh": []}
        for i in range(args.frames):
            out.poll()
            stats = HudStats(fps=60 - rng.random(), frame_ms_p50=16.6, frame_ms_p99=20 * rng.random(),
                             generator_ms=9.0, effects_ms=1.2, level=rng.random(), low=rng.random(),
                             mid=rng.random(), high=rng.random(), bpm=124.0, blackout=False,
                             frozen=False, status=(("OSC", "0.0.0.0:9000 · 1 client"),),
                             keys=KEY_HELP)
            t0 = time.perf_counter()
            hud.update(hud_lines(stats), float(i), (w, h))  # always new text: the worst case
            timings["refresh"].append((time.perf_counter() - t0) * 1e3)
            for variant in (("present", "present+hud") if i % 2 else ("present+hud", "present")):
                t0 = time.perf_counter()
                out.show(picture)
                if variant == "present+hud":
                    hud.draw(out.size)
                out.ctx.finish()
                timings[variant].append((time.perf_counter() - t0) * 1e3)
                out.flip()
        result = {name: _stats(ms) for name, ms in timings.items()}
        draw = result["present+hud"]["p50_ms"] - result["present"]["p50_ms"]
        result["hud_draw_p50_ms"] = draw
        result["hud_per_frame_at_60fps_ms"] = draw + result["refresh"]["mean_ms"] / 15
        result["window"] = [w, h]
        result["panel"] = list(hud.rect((w, h)) or [])
        for name in ("present", "present+hud", "refresh"):
            r = result[name]
            print(f"{name:>12}: p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms")
        print(f"HUD draw {draw:.2f} ms/frame; with 4 text refreshes a second at 60 fps "
              f"{result['hud_per_frame_at_60fps_ms']:.2f} ms/frame")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump({"bench": "hud", "machine": describe(), **result}, fh, indent=2)
        hud.release()
        picture.release()
    finally:
        out.close()


if __name__ == "__main__":
    main()
