"""User shaders: found by name in the user folders, hot reloaded, and never able to stop a show."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from vjgan.errors import VjganError
from vjgan.gfx.reload import FileWatcher
from vjgan.gfx.resources import builtin_shader_dir
from vjgan.gfx.uniforms import FrameUniforms

moderngl = pytest.importorskip("moderngl")
from vjgan.gfx.effects import EffectChain, EffectSpec, available_effects  # noqa: E402

SOLID = "void main() {{ f_color = vec4({r}, {g}, {b}, 1.0); }}\n"


def write(path: Path, text: str) -> None:
    """Write and move the mtime on, as an editor saving a second later would."""
    old = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(old + 10**9, old + 10**9))


def frame(chain: EffectChain, t_s: float = 0.0) -> np.ndarray:
    chain.render(np.full((8, 8, 3), 90, np.uint8), FrameUniforms(level=1.0, time_s=t_s))
    return chain.read()


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    d = tmp_path / "mine"
    d.mkdir()
    (d / "tint.frag").write_text(SOLID.format(r=0.0, g=0.5, b=0.0))
    return d


@pytest.fixture
def chain(ctx, user_dir):
    c = EffectChain(ctx, (8, 8), [EffectSpec("tint", 1.0)], shader_dir=user_dir)
    yield c
    c.release()


def test_watcher_polls_at_most_every_quarter_second(tmp_path):
    p = tmp_path / "a.frag"
    p.write_text("x")
    w = FileWatcher()
    w.watch(p)
    assert w.poll(0.0) == []
    write(p, "xy")
    assert w.poll(0.1) == []  # too soon: not even looked at
    changes = w.poll(0.3)
    assert [(c.path, c.missing) for c in changes] == [(p, False)]
    assert w.poll(0.6) == []  # reported once
    p.unlink()
    assert [(c.path, c.missing) for c in w.poll(0.9)] == [(p, True)]


def test_a_fixed_file_swaps_in(chain, user_dir):
    assert frame(chain)[0, 0].tolist() == [0, 128, 0]
    assert chain.poll_reload(0.0) == []  # nothing changed
    write(user_dir / "tint.frag", SOLID.format(r=1.0, g=0.0, b=0.0))
    assert chain.poll_reload(0.1) == []  # within 0.25 s of the last look: not looked yet
    assert chain.poll_reload(0.3) == ["tint"]
    assert frame(chain, 0.5)[0, 0].tolist() == [255, 0, 0] and chain.last_error is None


def test_syntax_error_keeps_the_old_program_and_names_the_line(chain, user_dir):
    before = frame(chain)
    broken = "void main() {\n  vec3 c = vec3(1.0);\n  f_color = vec4(c, 1.0)\n}\n"  # no ';'
    write(user_dir / "tint.frag", broken)
    assert chain.poll_reload(1.0) == []
    err = chain.last_error
    assert err is not None and "\n" not in err
    assert f"{user_dir / 'tint.frag'}:" in err and ("tint.frag:3:" in err or "tint.frag:4:" in err)
    assert np.array_equal(frame(chain, 1.0), before)  # the last good program still runs
    write(user_dir / "tint.frag", SOLID.format(r=0.0, g=0.0, b=1.0))
    assert chain.poll_reload(2.0) == ["tint"] and chain.last_error is None
    assert frame(chain, 2.0)[0, 0].tolist() == [0, 0, 255]


def test_dropped_and_renamed_uniforms_do_not_crash(chain, user_dir):
    write(user_dir / "tint.frag",
          "void main() { f_color = vec4(u_strength * u_amp * 0.5, 0.0, 0.0, 1.0); }\n")
    assert chain.poll_reload(1.0) == ["tint"]
    assert frame(chain, 1.0)[0, 0].tolist() == [128, 0, 0]
    write(user_dir / "tint.frag",  # u_strength and u_amp gone, an unknown uniform instead
          "uniform float u_wobble;\n"
          "void main() { f_color = vec4(0.0, u_wobble + 0.25, 0.0, 1.0); }\n")
    assert chain.poll_reload(2.0) == ["tint"]
    chain.set_strength("tint", 0.7)
    assert frame(chain, 2.0)[0, 0].tolist() == [0, 64, 0]
    assert chain.last_error is None


def test_a_deleted_file_keeps_the_last_good_program(chain, user_dir):
    before = frame(chain)
    (user_dir / "tint.frag").unlink()
    assert chain.poll_reload(1.0) == []
    assert "tint.frag" in chain.last_error and "missing" in chain.last_error
    assert np.array_equal(frame(chain, 1.0), before)
    (user_dir / "tint.frag").write_text(SOLID.format(r=1.0, g=1.0, b=1.0))
    assert chain.poll_reload(2.0) == ["tint"] and chain.last_error is None


def test_a_missing_texture_reads_black_with_one_warning(ctx, user_dir):
    (user_dir / "noisy.frag").write_text(
        "uniform sampler2D u_noise;\n"
        "void main() { f_color = vec4(texture(u_noise, v_uv).rgb + texture(u_input, v_uv).rgb * 0.0"
        " + vec3(0.0, 0.0, texture(u_noise, v_uv).a * 0.5), 1.0); }\n")
    chain = EffectChain(ctx, (8, 8), [EffectSpec("noisy")], shader_dir=user_dir)
    try:
        assert frame(chain)[0, 0].tolist() == [0, 0, 128]  # black (alpha 1) texture
        assert len(chain.warnings) == 1 and "u_noise" in chain.warnings[0]
        assert "noisy.frag" in chain.warnings[0] and "\n" not in chain.warnings[0]
    finally:
        chain.release()


def test_a_reload_may_start_reading_the_previous_output(chain, user_dir):
    write(user_dir / "tint.frag", "void main() {\n  f_color = vec4(0.5 * texture(u_prev_output, "
          "v_uv).rgb + 0.5 * texture(u_input, v_uv).rgb, 1.0);\n}\n")
    assert chain.poll_reload(1.0) == ["tint"]
    got = [int(frame(chain, 1.0 + i / 30)[0, 0, 0]) for i in range(3)]
    assert [abs(g - e) <= 1 for g, e in zip(got, (45, 68, 79))] == [True] * 3, got


def test_contract_edit_rebuilds_the_effects(ctx, tmp_path):
    d = tmp_path / "shaders"
    shutil.copytree(builtin_shader_dir(), d)
    (d / "tint.frag").write_text("void main() { f_color = vec4(vj_level_x2(), 0.0, 0.0, 1.0); }\n")
    contract = (d / "_contract.glsl").read_text()
    write(d / "_contract.glsl", contract + "float vj_level_x2() { return 0.25; }\n")
    chain = EffectChain(ctx, (8, 8), [EffectSpec("tint")], shader_dir=d)
    try:
        assert frame(chain)[0, 0, 0] == 64
        write(d / "_contract.glsl", contract + "float vj_level_x2() { return 2.0 * u_level; }\n")
        assert chain.poll_reload(1.0) == ["tint"]
        assert frame(chain, 1.0)[0, 0, 0] == 255
    finally:
        chain.release()


def test_user_effects_are_found_by_name_in_the_xdg_folder(ctx, tmp_path, monkeypatch):
    monkeypatch.delenv("VJGAN_SHADER_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert "glow" not in available_effects()
    folder = tmp_path / "vjgan" / "shaders"
    folder.mkdir(parents=True)
    (folder / "glow.frag").write_text(SOLID.format(r=1.0, g=1.0, b=0.0))
    assert {"glow", "flash", "swirl"} <= set(available_effects())
    chain = EffectChain(ctx, (8, 8), [EffectSpec("glow")])
    try:
        assert frame(chain)[0, 0].tolist() == [255, 255, 0]
    finally:
        chain.release()
    with pytest.raises(VjganError, match=r"unknown effect 'glwo'.*available effects: .*glow"):
        EffectChain(ctx, (8, 8), [EffectSpec("glwo")])


def test_presets_accept_user_effects(tmp_path, monkeypatch):
    from vjgan.control.presets import parse_preset

    monkeypatch.setenv("VJGAN_SHADER_DIR", str(tmp_path))
    (tmp_path / "glow.frag").write_text(SOLID.format(r=1.0, g=1.0, b=0.0))
    preset = parse_preset({"effects": {"chain": ["glow", "strobe"]}}, tmp_path / "p.toml")
    assert [e.name for e in preset.effects] == ["glow", "strobe"]
    with pytest.raises(VjganError, match="available: .*glow.*swirl"):
        parse_preset({"effects": {"chain": ["nope"]}}, tmp_path / "p.toml")


def test_user_folders_cannot_replace_the_limiter(ctx, user_dir):
    for internal in ("_limit.frag", "_luma.frag", "_fill.frag"):
        (user_dir / internal).write_text("#version 330 core\nout vec4 f_color;\n"
                                         "void main() { f_color = vec4(1.0); }\n")
    chain = EffectChain(ctx, (8, 8), [EffectSpec("tint")], shader_dir=user_dir)
    try:
        assert frame(chain)[0, 0].tolist() == [0, 128, 0]
        assert frame(chain, 0.1)[0, 0].tolist() == [0, 128, 0]
    finally:
        chain.release()
