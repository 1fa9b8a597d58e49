"""`vjgan params` and the README parameter table, both generated from the registry."""

from __future__ import annotations

from typing import Any

from vjgan.control.registry import ParamSpec, Registry, build_registry

README_START = "<!-- params:start -->"
README_END = "<!-- params:end -->"


def generic_registry() -> Registry:
    """The registry with placeholders for what a show adds (its effects and scenes)."""
    return build_registry([("EFFECT", 0.5)], ["NAME"])


def _value(value: Any) -> str:
    if value is None or value == ():
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _range(spec: ParamSpec) -> str:
    if spec.kind == "choice":
        return " / ".join(spec.choices)
    if spec.kind in ("float", "int") and spec.min is not None and spec.max is not None:
        return f"{spec.min:g} … {spec.max:g}"
    if spec.kind == "bool":
        return "true / false"
    if spec.kind == "list":
        return "class ids"
    return ""


def _default(spec: ParamSpec) -> str:
    return "" if spec.kind == "trigger" else _value(spec.default)


def _smoothing(spec: ParamSpec) -> str:
    return f"{spec.smoothing_s:g} s" if spec.smoothing_s > 0 else ""


def params_text(registry: Registry) -> str:
    """The table `vjgan params` prints: one line per parameter, aligned columns."""
    header = ("name", "kind", "default", "range", "unit", "smoothing", "what it does")
    rows = [(s.name, s.kind, _default(s), _range(s), s.unit, _smoothing(s), s.doc)
            for s in registry.specs()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for r in [header, *rows]:
        cells = [c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines.append("OSC: /vjgan/<name with dots as slashes> VALUE sets, no value queries; "
                 "triggers fire on 1.")
    return "\n".join(lines)


def params_markdown(registry: Registry | None = None) -> str:
    """The README table (between the params markers), from the generic registry by default."""
    registry = registry or generic_registry()
    out = ["| name | kind | default | range | unit | smoothing | what it does |",
           "|---|---|---|---|---|---|---|"]
    for s in registry.specs():
        cells = [f"`{s.name}`", s.kind, _default(s), _range(s), s.unit, _smoothing(s), s.doc]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)


def readme_block(registry: Registry | None = None) -> str:
    """What sits between the README markers (the markers included)."""
    return f"{README_START}\n{params_markdown(registry)}\n{README_END}"


def readme_table(readme_text: str) -> str | None:
    """The block between the markers in a README's text (markers included), or None."""
    start = readme_text.find(README_START)
    end = readme_text.find(README_END)
    if start < 0 or end < start:
        return None
    return readme_text[start:end + len(README_END)]


def params_report(preset: str = "default", markdown: bool = False,
                  touchosc: str | None = None) -> str:
    """What `vjgan params` prints: the table for the show `preset` sets up (its effects and
    scenes), as text or Markdown; with `touchosc`, also writes the TouchOSC layout there."""
    from vjgan.control.presets import load_preset

    registry = load_preset(preset).registry()
    text = params_markdown(registry) if markdown else params_text(registry)
    if touchosc is not None:
        from vjgan.control.touchosc import write_touchosc

        path = write_touchosc(registry, touchosc)
        text += f"\n\nTouchOSC layout for preset {preset!r} written to {path}"
    return text
