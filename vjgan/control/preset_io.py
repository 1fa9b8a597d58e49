"""Where a key sits in a TOML file: preset and MIDI-map errors name `file:line`.

(Atomic saves of presets and maps are vjgan.files.)
"""

from __future__ import annotations

import re

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
