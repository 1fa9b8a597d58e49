"""Atomic saves (vjgan.files): what every file vjgan writes relies on — presets, MIDI maps, model
files, checkpoints, reports."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from vjgan.control.presets import load_preset
from vjgan.errors import VjganError
from vjgan.files import atomic_path, atomic_write_text, clean_stale_temps


def test_save_keeps_the_old_file_as_bak(tmp_path):
    path = tmp_path / "p.toml"
    atomic_write_text(path, "[react]\nspeed_fpm = 1\n", backup=True)
    atomic_write_text(path, "[react]\nspeed_fpm = 2\n", backup=True)
    assert path.read_text() == "[react]\nspeed_fpm = 2\n"
    assert (tmp_path / "p.toml.bak").read_text() == "[react]\nspeed_fpm = 1\n"


def test_an_unwritable_folder_is_one_line(tmp_path):
    with pytest.raises(VjganError, match=r"^cannot save the preset .*missing.*p\.toml: the folder .* does not "
                                         r"exist — create it or choose another path$"):
        atomic_write_text(tmp_path / "missing" / "p.toml", "x = 1\n", what="the preset")
    (tmp_path / "p.toml").mkdir()
    with pytest.raises(VjganError, match=r"p\.toml: it is a folder — give a file name$"):
        atomic_write_text(tmp_path / "p.toml", "x = 1\n")


_KILLED_WRITER = textwrap.dedent("""
    import sys
    from vjgan.files import atomic_write_text
    path, a, b = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
    i = 0
    while True:
        atomic_write_text(path, a if i % 2 else b, backup=True)  # as save_preset does
        if i == 0:
            print("ready", flush=True)
        i += 1
""")


def test_a_save_killed_mid_write_leaves_a_whole_file(tmp_path):
    """SIGKILL a process in the middle of saving, many times: the preset is always one of the two
    complete versions (never torn), and the temporary files the killed writers left are removed
    by the next save."""
    big = {k: "".join(f"# padding {k} {i:06d} ................................\n" for i in range(6000))
           for k in "ab"}
    versions = {k: big[k] + f"[react]\nspeed_fpm = {n}\n" for k, n in (("a", 1), ("b", 2))}
    files = {}
    for k, text in versions.items():
        files[k] = tmp_path / f"{k}.src"
        files[k].write_text(text)
    target = tmp_path / "show.toml"
    atomic_write_text(target, versions["a"])
    rng = random.Random(7)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(25):
        child = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target), str(files["a"]),
                                  str(files["b"])], stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.03))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert target.read_text() in (versions["a"], versions["b"])
        assert load_preset(str(target)).react.speed_fpm in (1.0, 2.0)
    atomic_write_text(target, versions["a"])
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert clean_stale_temps(target) == []


def test_a_saved_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "p.toml"
    atomic_write_text(path, "[react]\n")
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o640)
    atomic_write_text(path, "[react]\nspeed_fpm = 2\n")
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_writer_that_fails_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"the old model")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_path(path, what="the model file") as tmp:
            tmp.write_bytes(b"half a mod")
            raise RuntimeError("disk on fire")
    assert path.read_bytes() == b"the old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_an_os_error_while_writing_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "report.json"
    with pytest.raises(VjganError) as err:
        with atomic_path(path, what="the JSON report"):
            raise OSError(28, "No space left on device")
    assert str(err.value) == f"cannot save the JSON report {path}: No space left on device — check the folder and the disk"
    assert list(tmp_path.iterdir()) == []
