"""Named model styles: pick a generator by a short name instead of a file path.

vjgan never downloads models. A *style* is a vjgan model file (`.safetensors`, written by
`vjgan.gan.save_generator`) found by name in two folders, searched in this order:

1. the shipped models, `vjgan/models/` inside the package (holds `default`);
2. the user's model folder: `$VJGAN_MODEL_DIR` if it is set, else `$XDG_DATA_HOME/vjgan/models`
   (`XDG_DATA_HOME` defaults to `~/.local/share`). It need not exist.

A style's name is its file stem in lower case: `My Look.safetensors` is the style `my look`.
Lookups ignore case and surrounding whitespace.

Name clashes: a shipped style keeps its plain name, so `default` always means the bundled model;
a user file with the same name is listed as `user/<name>` (e.g. `user/default`) and is picked by
that name. Two files in one folder whose names differ only in case (`Foo.safetensors`,
`foo.safetensors`) are one style: the file name that sorts first wins.
"""

from __future__ import annotations

import os
from pathlib import Path

from vjgan.errors import VjganError
from vjgan.gan.default import default_model_path

MODEL_SUFFIX = ".safetensors"
USER_PREFIX = "user/"
MODEL_DIR_ENV = "VJGAN_MODEL_DIR"
# Suffixes that mark an argument as a file path (not a style name) when it does not exist.
_PATH_SUFFIXES = (MODEL_SUFFIX, ".pkl", ".pt", ".pth", ".ckpt", ".bin")


def shipped_dir() -> Path:
    """The package's own model folder (vjgan/models/)."""
    return default_model_path().parent


def user_dir() -> Path:
    """The user's model folder: $VJGAN_MODEL_DIR, else $XDG_DATA_HOME/vjgan/models (may not exist)."""
    override = os.environ.get(MODEL_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "vjgan" / "models"


def style_dirs() -> list[Path]:
    """The folders searched for styles, shipped first; the user folder may not exist."""
    return [shipped_dir(), user_dir()]


def _scan(folder: Path) -> dict[str, Path]:
    """name -> file for the model files directly in `folder` (nothing when it is missing)."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:  # missing, not a folder, or unreadable: no styles there
        return {}
    found: dict[str, Path] = {}
    for entry in entries:
        if entry.name.startswith(".") or entry.suffix.lower() != MODEL_SUFFIX or not entry.is_file():
            continue
        name = entry.name[: -len(MODEL_SUFFIX)].strip().lower()
        if name:
            found.setdefault(name, entry)
    return found


def list_styles() -> dict[str, Path]:
    """Every installed style, name -> model file, sorted by name (see the module doc for clashes)."""
    shipped_folder, user_folder = style_dirs()
    styles = _scan(shipped_folder)
    if _same_folder(shipped_folder, user_folder):
        return dict(sorted(styles.items()))
    for name, path in _scan(user_folder).items():
        styles[USER_PREFIX + name if name in styles else name] = path
    return dict(sorted(styles.items()))


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _looks_like_path(text: str) -> bool:
    return os.sep in text or (os.altsep is not None and os.altsep in text) or \
        text.lower().endswith(_PATH_SUFFIXES)


def resolve_model(name_or_path: str | os.PathLike[str] | None) -> Path:
    """The model file for a style name, a file path, or None (the bundled default model).

    An existing file is returned as given (it wins over a style of the same name); otherwise the
    text is looked up as a style name (case-insensitive, surrounding whitespace ignored). Anything
    else is a VjganError that says which styles are installed and where to put more.
    """
    if name_or_path is None:
        path = default_model_path()
        if not path.is_file():
            raise VjganError(f"{path}: the default model is missing — reinstall vjgan, or retrain it with `python -m vjgan.gan.default` (about an hour; see docs/train.md)")
        return path
    text = os.fspath(name_or_path)
    if not isinstance(text, str):
        raise VjganError(f"model {name_or_path!r} must be a file path or a style name (text), not bytes")
    path = Path(text)
    if path.is_file():
        return path
    styles = list_styles()
    key = text.strip().lower()
    if key in styles:
        return styles[key]
    if path.is_dir():
        raise VjganError(f"model {text} is a folder, not a model file — pass a .safetensors file or a "
                         "style name (see `vjgan styles`)")
    if _looks_like_path(text) and not key.startswith(USER_PREFIX):
        raise VjganError(f"model file not found: {text} — check the path")
    installed = ", ".join(styles) if styles else "none"
    raise VjganError(f"unknown style '{text.strip()}' — vjgan does not download models; installed styles: "
                     f"{installed}; put a {MODEL_SUFFIX} in {user_dir()} or pass a model file path")


def show_styles() -> list[str]:
    """Print the installed style names one per line (like Lucid Sonic Dreams' show_styles); return them."""
    names = list(list_styles())
    for name in names:
        print(name)
    return names
