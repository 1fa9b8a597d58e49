"""A TouchOSC layout generated from the parameter registry.

The file is TouchOSC's `.tosc` document: zlib-compressed XML (`<lexml version='3'>`) holding one
GROUP node with FADER, BUTTON and LABEL children. Each fader sends and receives its parameter's OSC
address with TouchOSC scaling 0..1 to the parameter's range, so feedback from vjgan moves it; each
button sends 1 on press to an action or scene trigger. IDs derive from the names, so the same
registry always gives the same bytes.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
import zlib
from xml.sax.saxutils import escape
from pathlib import Path

from vjgan.control.osc_wire import REGISTER_ADDRESS, TOUCHOSC_RECEIVE_PORT, osc_address
from vjgan.files import atomic_write
from vjgan.control.registry import ParamSpec, Registry

# The reaction gains a performer rides, in fader order; effect strengths follow.
FADERS = ("react.pulse.react", "react.motion.react", "react.speed_fpm", "react.class.pitch_react",
          "react.class.latent_react", "react.class.complexity", "react.truncation", "gen.psi")
BUTTONS = ("action.tap", "action.flash", "action.blackout", "action.freeze", "action.safe_scene")
MAX_FADERS = 12
MAX_SCENES = 12
WIDTH, HEIGHT = 1280, 900
_NS = uuid.UUID("5b1c3f0e-6d1a-4f7e-9a57-76a6a0000001")
_CDATA = "_cdata"  # marks an element whose text is written as CDATA, as TouchOSC's own files do
_CDATA_TAGS = ("key", "var", "default")
_COLORS = {"fader": (0.2, 0.75, 1.0, 1.0), "fx": (1.0, 0.6, 0.1, 1.0), "button": (0.5, 0.5, 0.55, 1.0),
           "scene": (0.35, 0.9, 0.45, 1.0), "panic": (1.0, 0.2, 0.2, 1.0),
           "label": (1.0, 1.0, 1.0, 1.0), "group": (0.08, 0.08, 0.1, 1.0)}


def _prop(props: ET.Element, kind: str, key: str, value: object) -> None:
    p = ET.SubElement(props, "property", type=kind)
    ET.SubElement(p, "key").text = key
    v = ET.SubElement(p, "value")
    if kind == "r":
        for k, x in zip("xywh", value):  # type: ignore[arg-type]
            ET.SubElement(v, k).text = str(int(x))
    elif kind == "c":
        for k, x in zip("rgba", value):  # type: ignore[arg-type]
            ET.SubElement(v, k).text = f"{x:g}"
    elif kind == "b":
        v.text = "1" if value else "0"
    else:
        v.text = str(value)
        if kind == "s":
            v.set(_CDATA, "1")


def _value(values: ET.Element, key: str, default: str) -> None:
    v = ET.SubElement(values, "value")
    ET.SubElement(v, "key").text = key
    ET.SubElement(v, "locked").text = "0"
    ET.SubElement(v, "lockedDefaultCurrent").text = "0"
    ET.SubElement(v, "default").text = default
    ET.SubElement(v, "defaultPull").text = "0"


def _partial(parent: ET.Element, kind: str, conversion: str, value: str, lo: float = 0.0,
             hi: float = 1.0) -> None:
    p = ET.SubElement(parent, "partial")
    ET.SubElement(p, "type").text = kind
    ET.SubElement(p, "conversion").text = conversion
    ET.SubElement(p, "value", {_CDATA: "1"}).text = value
    ET.SubElement(p, "scaleMin").text = f"{lo:g}"
    ET.SubElement(p, "scaleMax").text = f"{hi:g}"


def _osc(messages: ET.Element, address: str, *, receive: bool, condition: str,
         arg: tuple[str, str, str, float, float]) -> None:
    osc = ET.SubElement(messages, "osc")
    for key, val in (("enabled", "1"), ("send", "1"), ("receive", "1" if receive else "0"),
                     ("feedback", "0"), ("noDuplicates", "0"), ("connections", "1111111111")):
        ET.SubElement(osc, key).text = val
    trigger = ET.SubElement(ET.SubElement(osc, "triggers"), "trigger")
    ET.SubElement(trigger, "var").text = "x"
    ET.SubElement(trigger, "condition").text = condition
    _partial(ET.SubElement(osc, "path"), "CONSTANT", "STRING", address)
    _partial(ET.SubElement(osc, "arguments"), *arg)


def _node(parent: ET.Element, kind: str, name: str, frame: tuple[int, int, int, int],
          color: tuple[float, ...]) -> tuple[ET.Element, ET.Element, ET.Element]:
    node = ET.SubElement(parent, "node", ID=str(uuid.uuid5(_NS, f"{kind}:{name}")), type=kind)
    props = ET.SubElement(node, "properties")
    _prop(props, "s", "name", name)
    _prop(props, "r", "frame", frame)
    _prop(props, "c", "color", color)
    _prop(props, "b", "visible", True)
    _prop(props, "b", "interactive", kind != "LABEL")
    _prop(props, "b", "background", True)
    _prop(props, "b", "outline", True)
    values = ET.SubElement(node, "values")
    _value(values, "touch", "false")
    return node, props, values


def _label(children: ET.Element, name: str, text: str, frame: tuple[int, int, int, int]) -> None:
    _, props, values = _node(children, "LABEL", f"label:{name}", frame, _COLORS["label"])
    _prop(props, "i", "textSize", 14)
    _value(values, "text", text)


def _fader(children: ET.Element, spec: ParamSpec, frame: tuple[int, int, int, int], color) -> None:
    node, props, values = _node(children, "FADER", spec.name, frame, color)
    _prop(props, "i", "orientation", 0)
    _prop(props, "b", "bar", True)
    _prop(props, "b", "cursor", True)
    default = 0.0 if spec.max == spec.min else (spec.default - spec.min) / (spec.max - spec.min)
    _value(values, "x", f"{default:g}")
    _osc(ET.SubElement(node, "messages"), osc_address(spec.name), receive=True, condition="ANY",
         arg=("VALUE", "FLOAT", "x", float(spec.min), float(spec.max)))


def _button(children: ET.Element, name: str, frame: tuple[int, int, int, int], color,
            address: str | None = None, arg: tuple[str, str, str, float, float] | None = None) -> None:
    node, props, values = _node(children, "BUTTON", name, frame, color)
    _prop(props, "i", "buttonType", 0)  # momentary: sends on press only (RISE)
    _prop(props, "b", "press", True)
    _prop(props, "b", "release", True)
    _value(values, "x", "0")
    _osc(ET.SubElement(node, "messages"), address or osc_address(name), receive=False,
         condition="RISE", arg=arg or ("CONSTANT", "FLOAT", "1", 0.0, 1.0))


def layout_controls(registry: Registry) -> tuple[list[ParamSpec], list[str]]:
    """The faders (reaction gains, then effect strengths) and buttons (actions, then scenes)."""
    names = set(registry.names())
    faders = [registry.spec(n) for n in FADERS if n in names]
    faders += [s for s in registry.specs() if s.name.startswith("fx.") and s.name.endswith(".strength")]
    buttons = [b for b in BUTTONS if b in names]
    buttons += sorted(n for n in names if n.startswith("scene."))[:MAX_SCENES]
    return faders[:MAX_FADERS], buttons


def touchosc_xml(registry: Registry) -> bytes:
    faders, buttons = layout_controls(registry)
    root = ET.Element("lexml", version="3")
    group, props, _ = _node(root, "GROUP", "vjgan", (0, 0, WIDTH, HEIGHT), _COLORS["group"])
    children = ET.SubElement(group, "children")
    margin, gap = 20, 10
    fw = (WIDTH - 2 * margin - gap * (max(len(faders), 1) - 1)) // max(len(faders), 1)
    for i, spec in enumerate(faders):
        x = margin + i * (fw + gap)
        color = _COLORS["fx"] if spec.name.startswith("fx.") else _COLORS["fader"]
        _fader(children, spec, (x, margin, fw, 470), color)
        short = spec.name.removeprefix("react.").removesuffix(".strength")
        _label(children, spec.name, short, (x, margin + 475, fw, 30))
    per_row = 6
    bw = (WIDTH - 2 * margin - gap * (per_row - 1)) // per_row
    for i, name in enumerate(buttons):
        row, col = divmod(i, per_row)
        x, y = margin + col * (bw + gap), 540 + row * 90
        color = (_COLORS["panic"] if name == "action.safe_scene" else
                 _COLORS["scene"] if name.startswith("scene.") else _COLORS["button"])
        _button(children, name, (x, y, bw, 70), color)
        _label(children, name, name.split(".", 1)[1].replace("_", " "), (x, y + 20, bw, 30))
    # "connect": asks vjgan for feedback on TouchOSC's receive port and gets every value back
    y = 540 + (len(buttons) // per_row + (1 if len(buttons) % per_row else 0)) * 90
    _button(children, "connect", (margin, y, bw, 70), _COLORS["fader"], REGISTER_ADDRESS,
            ("CONSTANT", "INTEGER", str(TOUCHOSC_RECEIVE_PORT), 0.0, 1.0))
    _label(children, "connect", f"connect (:{TOUCHOSC_RECEIVE_PORT})", (margin, y + 20, bw, 30))
    return ("<?xml version='1.0' encoding='UTF-8'?>\n" + _serialize(root)).encode("utf-8")


def _serialize(el: ET.Element) -> str:
    """XML the way TouchOSC writes it: single-quoted attributes, names and strings in CDATA."""
    attrs = "".join(f" {k}='{escape(v, {chr(39): '&apos;'})}'" for k, v in el.attrib.items() if k != _CDATA)
    inner = "".join(_serialize(child) for child in el)
    if el.text is not None:
        if el.tag in _CDATA_TAGS or el.get(_CDATA):
            inner = "<![CDATA[" + el.text.replace("]]>", "]]]]><![CDATA[>") + "]]>" + inner
        else:
            inner = escape(el.text) + inner
    return f"<{el.tag}{attrs}>{inner}</{el.tag}>"


def touchosc_layout(registry: Registry) -> bytes:
    """The `.tosc` bytes (zlib-compressed XML) for `registry`."""
    return zlib.compress(touchosc_xml(registry), 9)


def write_touchosc(registry: Registry, path: str | Path) -> Path:
    """Write the layout for `registry` to `path` (atomically)."""
    return atomic_write(path, touchosc_layout(registry), what="the TouchOSC layout")
