"""Files for presets: atomic saves and finding the line a TOML key sits on.

A save writes a temporary file beside the target, flushes and fsyncs it, keeps the old file as
`NAME.bak` (a hard link, so the old bytes are never rewritten), renames the new one into place and
fsyncs the folder: a crash or a kill at any moment leaves either the old file or the new one, never a
torn one. Temporary files left by a killed writer are removed on the next save.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
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


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # some platforms cannot open a folder; the rename is still atomic
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


def atomic_write(path: str | Path, data: bytes, backup: bool = True) -> Path:
    """Write `data` to `path` atomically (see the module doc); VjganError naming the path on failure."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    clean_stale_temps(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=folder)
    except OSError as exc:
        raise VjganError(f"cannot save {path}: {exc.strerror or exc} — choose a writable folder") from None
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, _mode_for(path))  # mkstemp makes 0600; keep the file's usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if backup and path.is_file():
            _keep_backup(path)
        os.replace(tmp, path)
        _fsync_dir(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise VjganError(f"cannot save {path}: {exc.strerror or exc} — check the folder and the disk") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, backup: bool = True) -> Path:
    return atomic_write(path, text.encode("utf-8"), backup)


# -- where a key is ----------------------------------------------------------------------------
_KEY_PART = r'(?:"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+)'
_KEY_PATH = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER_RE = re.compile(rf"^\s*\[\s*({_KEY_PATH})\s*\]")
_ASSIGN_RE = re.compile(rf"^\s*({_KEY_PATH})\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in re.findall(_KEY_PART, text))


def find_line(text: str, keys: tuple[str, ...]) -> int | None:
    """The 1-based line where the TOML key path `keys` is set or its table starts (best effort:
    dotted and quoted keys and [table] headers; None when it is not found)."""
    table: tuple[str, ...] = ()
    table_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER_RE.match(line)
        if header:
            table = _split_key(header.group(1))
            if table == keys:
                return number
            if table_line is None and keys[:len(table)] == table and table:
                table_line = number
            continue
        assign = _ASSIGN_RE.match(line)
        if assign:
            full = table + _split_key(assign.group(1))
            # a quoted dotted key ("react.pulse.react" = 1) names the same thing as bare dots
            flat = table + tuple(p for k in _split_key(assign.group(1)) for p in k.split("."))
            if keys in (full, flat) or full == keys[:len(full)] or flat == keys[:len(flat)]:
                return number
    return table_line
