"""Atomic saves for everything vjgan writes: presets, MIDI maps, the TouchOSC layout, model files,
training checkpoints and samples, analysis reports, traces and the demo track.

A save writes a temporary file beside the target, fsyncs it, optionally keeps the old file as
`NAME.bak` (a hard link, so the old bytes are never rewritten), renames the new one into place and
fsyncs the folder: a crash or a kill at any moment leaves either the old file or the new one, never a
torn one. Temporary files are named `.NAME.PID.XXXX.tmp`; those whose writing process is gone are
removed on the next save of the same file (a live writer's are left alone).

    with atomic_path(out, what="the model file") as tmp:   # any writer that takes a path
        save_file(tensors, tmp)
    atomic_write_text(preset_path, text, backup=True, what="the preset")
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vjgan.errors import VjganError

_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def process_alive(pid: int) -> bool:
    """Process `pid` still exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(path: Path) -> list[Path]:
    """Remove temporary files of `path` whose writing process is gone; returns what was removed."""
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m and m["name"] == path.name and not process_alive(int(m["pid"])):
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


def _fsync(path: Path, flags: int = os.O_RDONLY) -> None:
    try:
        fd = os.open(path, flags)
    except OSError:
        return  # some file systems do not let a folder be opened; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _keep_backup(path: Path) -> None:
    backup = path.with_name(path.name + ".bak")
    link = path.with_name(f"{_temp_prefix(path)}bak.tmp")
    try:
        os.link(path, link)  # the old bytes, untouched by the replace that follows
    except OSError:
        shutil.copy2(path, link)
    os.replace(link, backup)
    # rename() between two links to the same file does nothing and leaves `link` (it happens when a
    # writer was killed right after making the backup): remove it
    link.unlink(missing_ok=True)


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o644  # a new file: readable by all, writable by its owner


def check_folder(path: str | Path, what: str = "the file") -> Path:
    """`path` as a Path, or a one-line VjganError if its folder does not exist: atomic_path checks
    this, and commands that work long before they save (render --trace, train, convert) call it
    first so the user learns before the work, not after."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise VjganError(f"cannot save {what} {path}: the folder {folder} does not exist — create it or "
                         "choose another path")
    return path


@contextmanager
def atomic_path(path: str | Path, *, what: str = "the file", backup: bool = False) -> Iterator[Path]:
    """A temporary path beside `path` to write to; on a clean exit it replaces `path` (see the module
    doc), on an exception it is removed and `path` is untouched. Problems with the folder or the disk
    are one-line VjganErrors naming `what` and the path."""
    path = check_folder(path, what)
    folder = path.parent if str(path.parent) else Path(".")
    cannot = f"cannot save {what} {path}"
    if path.is_dir():
        raise VjganError(f"{cannot}: it is a folder — give a file name")
    clean_stale_temps(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=folder)
    except OSError as exc:
        raise VjganError(f"{cannot}: {exc.strerror or exc} — choose a writable folder") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, _mode_for(path))  # mkstemp makes 0600; keep the file's usual mode
        yield tmp
        _fsync(tmp)
        if backup and path.is_file():
            _keep_backup(path)
        os.replace(tmp, path)
        _fsync(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise VjganError(f"{cannot}: {exc.strerror or exc} — check the folder and the disk") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: bytes, *, what: str = "the file", backup: bool = False) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    with atomic_path(path, what=what, backup=backup) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, *, what: str = "the file", backup: bool = False) -> Path:
    return atomic_write(path, text.encode("utf-8"), what=what, backup=backup)
