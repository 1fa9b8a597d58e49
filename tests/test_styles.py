"""Named model styles: the shipped default, the user's model folder, and `--model NAME` end to end."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from test_cli import assert_clean_failure, probe, song, vjgan  # noqa: F401 (song is a fixture)
from test_gan import tiny
from vjgan.errors import VjganError
from vjgan.gan import list_styles, load_runner, resolve_model, save_generator, show_styles, style_dirs
from vjgan.gan.default import default_model_path


@pytest.fixture()
def model_dir(tmp_path, monkeypatch) -> Path:
    """An empty user model folder, selected by $VJGAN_MODEL_DIR."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("VJGAN_MODEL_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def user_models(tmp_path_factory) -> Path:
    """A user model folder holding 'My Look' (a tiny 32 px generator) and a second style."""
    folder = tmp_path_factory.mktemp("user_models")
    save_generator(tiny(seed=1), folder / "My Look.safetensors")
    save_generator(tiny(seed=2), folder / "dusk.safetensors")
    return folder


def test_the_shipped_default_is_a_style_and_none_means_it(model_dir):
    styles = list_styles()
    assert styles["default"] == default_model_path()
    assert resolve_model(None) == default_model_path()
    assert resolve_model("  Default ") == default_model_path()
    assert style_dirs() == [default_model_path().parent, model_dir]


def test_a_model_in_the_user_folder_is_found_by_its_lower_case_stem(model_dir, capsys):
    save_generator(tiny(seed=3), model_dir / "My Look.safetensors")
    (model_dir / "notes.txt").write_text("not a model")
    (model_dir / ".hidden.safetensors").write_bytes(b"")
    (model_dir / "folder.safetensors").mkdir()
    assert list(list_styles()) == ["default", "my look"]
    assert resolve_model("MY LOOK ") == model_dir / "My Look.safetensors"
    assert load_runner("my look").resolution == 32  # the tiny model, not the 256 px default
    assert show_styles() == ["default", "my look"]
    assert capsys.readouterr().out == "default\nmy look\n"


def test_a_user_model_named_like_a_shipped_one_is_user_slash_name(model_dir):
    save_generator(tiny(), model_dir / "Default.safetensors")
    styles = list_styles()
    assert list(styles) == ["default", "user/default"]
    assert resolve_model("default") == default_model_path()
    assert resolve_model("user/default") == model_dir / "Default.safetensors"
    assert load_runner("User/Default").resolution == 32


def test_the_user_folder_follows_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("VJGAN_MODEL_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert style_dirs()[1] == tmp_path / "vjgan" / "models"
    assert list(list_styles()) == ["default"]  # the folder does not exist: no error, no styles
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")  # invalid per the XDG spec: ignored
    assert style_dirs()[1] == Path.home() / ".local" / "share" / "vjgan" / "models"


def test_an_existing_file_path_is_used_as_given(model_dir, tmp_path):
    path = save_generator(tiny(), tmp_path / "elsewhere.safetensors")
    assert resolve_model(path) == path
    assert resolve_model(str(path)) == path


def test_unknown_names_and_missing_paths_say_what_to_do(model_dir):
    save_generator(tiny(), model_dir / "dusk.safetensors")
    with pytest.raises(VjganError) as err:
        resolve_model("modern art")
    message = str(err.value)
    assert "unknown style 'modern art'" in message and "does not download" in message
    assert "installed styles: default, dusk" in message and str(model_dir) in message
    assert "\n" not in message
    with pytest.raises(VjganError, match=r"model file not found: gone/network-snapshot\.pkl — check the path"):
        resolve_model("gone/network-snapshot.pkl")
    with pytest.raises(VjganError, match="unknown style 'user/nothing'"):
        resolve_model("user/nothing")
    with pytest.raises(VjganError, match="is a folder"):
        resolve_model(model_dir)


def test_vjgan_styles_lists_names_with_their_files(user_models):
    run = vjgan("styles", env={"VJGAN_MODEL_DIR": str(user_models)})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    rows = [re.fullmatch(r"(.+?) {2,}(\S.*)", line).groups() for line in lines[:-1]]
    assert rows == [("default", str(default_model_path())), ("dusk", str(user_models / "dusk.safetensors")),
                    ("my look", str(user_models / "My Look.safetensors"))]
    assert str(user_models) in lines[-1]


def test_render_with_a_style_name(song, user_models, tmp_path):
    out = tmp_path / "look.mp4"
    default = tmp_path / "default.mp4"
    for model, path in (("My Look", out), ("default", default)):
        run = vjgan("render", str(song), "-o", str(path), "--fps", "4", "--model", model,
                    "--size", "32", "--no-progress", env={"VJGAN_MODEL_DIR": str(user_models)})
        assert run.returncode == 0, run.stderr
    info = probe(out)
    assert info["size"] == (32, 32) and len(info["frames"]) == 10
    # the named model drew it, not the default one
    mine, shipped = np.stack(info["frames"]).astype(int), np.stack(probe(default)["frames"]).astype(int)
    assert np.abs(mine - shipped).mean() > 20


def test_render_with_an_unknown_style_fails_in_one_line(song, user_models, tmp_path):
    out = tmp_path / "x.mp4"
    run = vjgan("render", str(song), "-o", str(out), "--model", "modern art",
                env={"VJGAN_MODEL_DIR": str(user_models)})
    assert_clean_failure(run, "unknown style 'modern art'", "installed styles: default, dusk, my look",
                         str(user_models))
    assert not out.exists() and list(tmp_path.glob("*.mp4")) == []
