"""Locating and assembling shader sources (no GL here).

Shaders live in `shaders/` at the repository root. User folders are searched first, so a user's
effects can add to or override the built-in ones: the `shader_dir` argument (else env
`VJGAN_SHADER_DIR`), then `$XDG_DATA_HOME/vjgan/shaders` (default `~/.local/share/vjgan/shaders`)
when it exists. Every effect `<name>.frag` gets `#version 330 core` and `_contract.glsl`
prepended (unless it starts with its own `#version`); `#line` directives keep compiler line
numbers pointing at the effect file itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from vjgan.errors import VjganError
from vjgan.resources import PROJECT_ROOT

SHADER_ENV = "VJGAN_SHADER_DIR"
CONTRACT_FILE = "_contract.glsl"
VERTEX_FILE = "_fullscreen.vert"
GLSL_VERSION = "#version 330 core"
# Header lines are numbered from here so an error inside it can be told apart from the effect's.
_HEADER_LINE_BASE = 100001


def builtin_shader_dir() -> Path:
    """The repository's own `shaders/` directory."""
    return PROJECT_ROOT / "shaders"


def xdg_shader_dir() -> Path:
    """$XDG_DATA_HOME/vjgan/shaders (XDG_DATA_HOME defaults to ~/.local/share); may not exist."""
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "vjgan" / "shaders"


def shader_search_path(shader_dir: Path | str | None = None) -> list[Path]:
    """Directories searched for shaders, first match wins: `shader_dir` or $VJGAN_SHADER_DIR (must
    exist), the XDG user folder (if it exists), then the built-in directory."""
    extra = shader_dir if shader_dir is not None else os.environ.get(SHADER_ENV) or None
    dirs: list[Path] = []
    if extra is not None:
        d = Path(extra).expanduser()
        if not d.is_dir():
            origin = "shader_dir" if shader_dir is not None else f"${SHADER_ENV}"
            raise VjganError(f"shader directory {d} (from {origin}) does not exist — point it at a "
                             "folder of <name>.frag files")
        dirs.append(d)
    user = xdg_shader_dir()
    if user.is_dir() and not any(_same(user, d) for d in dirs):
        dirs.append(user)
    builtin = builtin_shader_dir()
    if not any(_same(d, builtin) for d in dirs):
        dirs.append(builtin)
    return dirs


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def find_shader(filename: str, search: list[Path]) -> Path | None:
    for d in search:
        p = d / filename
        if p.is_file():
            return p
    return None


_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def available_effects(shader_dir: Path | str | None = None) -> list[str]:
    """Names of user-facing effects (`<name>.frag` not starting with `_`) in every folder of the
    search path (user folders included), sorted."""
    names: set[str] = set()
    for d in shader_search_path(shader_dir):
        names.update(p.stem for p in d.glob("*.frag")
                     if not p.name.startswith("_") and _NAME_RE.match(p.stem) and p.is_file())
    return sorted(names)


def effect_path(name: str, shader_dir: Path | str | None = None) -> Path:
    """The `.frag` file of effect `name`, or a VjganError listing the available effects."""
    search = shader_search_path(shader_dir)
    found = find_shader(f"{name}.frag", search) if _NAME_RE.match(name) else None
    if found is None or name.startswith("_"):
        avail = ", ".join(available_effects(shader_dir)) or "(none)"
        where = " or ".join(str(d) for d in search)
        raise VjganError(f"unknown effect {name!r}: no {name}.frag in {where} — available effects: "
                         f"{avail}")
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise VjganError(f"cannot read shader {path}: {e} — check the file") from e


@dataclass(frozen=True)
class ShaderSource:
    """Assembled GLSL plus what is needed to map compiler line numbers back to files."""

    path: Path
    code: str
    header_path: Path | None

    def locate(self, line: int) -> tuple[Path, int]:
        """Compiler line number -> (file, line in that file)."""
        if self.header_path is not None and line >= _HEADER_LINE_BASE:
            return self.header_path, line - _HEADER_LINE_BASE + 1
        return self.path, line


_VERSION_RE = re.compile(r"^\s*#\s*version\b.*$", re.MULTILINE)


def load_shader(path: Path, search: list[Path]) -> ShaderSource:
    """Read `path` and assemble it. A file with its own `#version` is used as-is (it declares what
    it uses); a `.vert` gets the version line; a `.frag` gets the version and the contract
    header."""
    body = _read(path)
    if _VERSION_RE.search(body):
        return ShaderSource(path, body, None)
    if path.suffix == ".vert":
        return ShaderSource(path, f"{GLSL_VERSION}\n#line 1\n{body}", None)
    header_path = find_shader(CONTRACT_FILE, search)
    if header_path is None:
        raise VjganError(f"shader contract {CONTRACT_FILE} not found in "
                         f"{', '.join(map(str, search))} — restore shaders/{CONTRACT_FILE}")
    header = _read(header_path)
    code = f"{GLSL_VERSION}\n#line {_HEADER_LINE_BASE}\n{header}\n#line 1\n{body}\n"
    return ShaderSource(path, code, header_path)


# Mesa "0:12(5): error: m", AMD/Intel/Apple "ERROR: 0:12: m", NVIDIA "0(12) : error C1008: m"
_ERR_PATTERNS = (
    re.compile(r"^\s*(?:ERROR:\s*)?\d+:(\d+)(?:\(\d+\))?:\s*(?:error\s*:?\s*)?(.*)$", re.I),
    re.compile(r"^\s*\d+\((\d+)\)\s*:\s*(?:error\s*\w*\s*:?\s*)?(.*)$", re.I),
)


def compile_error(src: ShaderSource, message: str) -> VjganError:
    """Turn moderngl's compiler/linker text into `file:line: message` (first error, +N more)."""
    found: list[tuple[Path, int, str]] = []
    for raw in message.splitlines():
        if "error" not in raw.lower():
            continue
        for pat in _ERR_PATTERNS:
            m = pat.match(raw)
            if m:
                path, line = src.locate(int(m.group(1)))
                found.append((path, line, m.group(2).strip()))
                break
    if found:
        path, line, msg = found[0]
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        return VjganError(f"{path}:{line}: {msg}{more} — fix the shader")
    lines = [ln.strip() for ln in message.splitlines()
             if ln.strip() and not set(ln.strip()) <= {"="}]
    detail = "; ".join(lines[-3:]) or "unknown error"
    return VjganError(f"{src.path}: shader failed to build: {detail} — fix the shader")
